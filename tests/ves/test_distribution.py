"""The ``stateset-ves`` distribution installs and runs alone (docs/adr/0023-ves-as-its-own-distribution.md).

The wheel is built from a copy of ``stateset-ves/`` (the ``ves`` symlink followed, as an sdist
would carry it) and installed into a fresh venv with its own dependencies only, from the package
index pip is configured with (as ``make venv`` installs). There, outside the checkout and without
PYTHONPATH, the ``ves`` console script runs, every ``ves`` module imports, and Django, Celery,
web3 and the server's apps are not importable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTION = ROOT / "stateset-ves"

# Run inside the fresh venv: import every ves module, then report what else is importable.
PROBE = """
import importlib, importlib.metadata, importlib.util, json, pkgutil
import ves
modules = sorted(m.name for m in pkgutil.iter_modules(ves.__path__, "ves."))
for name in modules:
    importlib.import_module(name)
from ves.client import AgentSigner, SequencerClient
print(json.dumps({
    "ves_file": ves.__file__,
    "modules": modules,
    "requires": sorted(importlib.metadata.requires("stateset-ves") or []),
    "importable": [n for n in ("django", "rest_framework", "celery", "web3", "eth_tester",
                               "events", "tenants", "sequencer_project") if importlib.util.find_spec(n)],
}))
"""


@pytest.mark.slow
def test_the_ves_distribution_installs_and_runs_without_the_server(tmp_path: Path) -> None:
    source = tmp_path / "stateset-ves"
    shutil.copytree(DISTRIBUTION, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)  # noqa: S603 - fixed arguments
    python = venv / "bin" / "python"
    # This process's pip installs into the new venv (--python), which saves bootstrapping a pip there.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    install = subprocess.run(  # noqa: S603 - pip on our own copy of stateset-ves/
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", str(source)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert install.returncode == 0, install.stdout + install.stderr

    def run(*argv: str) -> str:
        done = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)  # noqa: S603 - the new venv's own programs
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    assert "register-key" in run(str(venv / "bin" / "ves"), "--help")
    key = json.loads(run(str(venv / "bin" / "ves"), "keygen", "--key-id", "7"))
    assert key["keyId"] == 7
    assert len(bytes.fromhex(key["publicKey"])) == 32

    probe = json.loads(run(str(python), "-c", PROBE))
    assert Path(probe["ves_file"]).is_relative_to(venv)
    assert {"ves.cli", "ves.client", "ves.signing", "ves.encryption"} <= set(probe["modules"])
    assert [requirement.split(">")[0].split("<")[0] for requirement in probe["requires"]] == [
        "cryptography",
        "httpx",
        "orjson",
        "pynacl",
    ]
    assert probe["importable"] == []
