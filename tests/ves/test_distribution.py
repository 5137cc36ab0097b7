"""The ``stateset-ves`` distribution installs and runs alone (docs/adr/0023-ves-as-its-own-distribution.md).

The wheel is built from a copy of ``stateset-ves/`` (the ``ves`` symlink followed, as an sdist
would carry it) and installed into a fresh venv with its own dependencies only, from the package
index pip is configured with (as ``make venv`` installs). There, outside the checkout and without
PYTHONPATH, the ``ves`` console script runs, every ``ves`` module imports, and Django, Celery,
web3 and the server's apps are not importable, and the library's own tests pass: first with
``cryptography`` and ``httpx`` alone (Ed25519 on OpenSSL, JSON through the standard library),
then again with the ``speed`` extra (PyNaCl and orjson), where every test passes, including
those that compare the two ways and so skipped without the extra.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTION = ROOT / "stateset-ves"

# Run inside the fresh venv: import every ves module, then report what else is importable.
PROBE = """
import importlib, importlib.metadata, importlib.util, json, pkgutil
import ves
modules = sorted(m.name for m in pkgutil.iter_modules(ves.__path__, "ves."))
extras = {"nacl", "orjson"} - {n for n in ("nacl", "orjson") if importlib.util.find_spec(n)}
for name in modules:
    try:
        importlib.import_module(name)
    except ImportError as missing:  # only a backend of the speed extra may need what is missing
        assert name == "ves.ed25519_sodium" and missing.name in extras, (name, missing)
from ves.client import AgentSigner, SequencerClient
from ves import json_text, signing
print(json.dumps({
    "ves_file": ves.__file__,
    "modules": modules,
    "requires": sorted(importlib.metadata.requires("stateset-ves") or []),
    "importable": [n for n in ("django", "rest_framework", "celery", "web3", "eth_tester",
                               "events", "tenants", "sequencer_project", "nacl", "orjson")
                   if importlib.util.find_spec(n)],
    "ed25519": signing.BACKEND.__name__,
    "orjson": json_text.HAVE_ORJSON,
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

    def run(*argv: str, timeout: float = 60) -> str:
        done = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=timeout)  # noqa: S603 - pip and the new venv's own programs
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def pip_install(*requirements: str) -> None:
        run(sys.executable, "-m", "pip", "--python", str(python), "install", "-q", *requirements, timeout=240)

    pip_install(str(source))  # our own copy of stateset-ves/, without its extra

    assert "register-key" in run(str(venv / "bin" / "ves"), "--help")
    key = json.loads(run(str(venv / "bin" / "ves"), "keygen", "--key-id", "7"))
    assert key["keyId"] == 7
    assert len(bytes.fromhex(key["publicKey"])) == 32

    probe = json.loads(run(str(python), "-c", PROBE))
    assert Path(probe["ves_file"]).is_relative_to(venv)
    assert {"ves.cli", "ves.client", "ves.signing", "ves.encryption"} <= set(probe["modules"])
    required = [_requirement(line) for line in probe["requires"]]
    assert sorted(name for name, extra in required if extra is None) == ["cryptography", "httpx"]
    assert sorted(name for name, extra in required if extra == "speed") == ["orjson", "pynacl"]
    assert probe["importable"] == []
    assert (probe["ed25519"], probe["orjson"]) == ("ves.ed25519_openssl", False)

    # The library's own tests run there too: every tests/ves file that needs nothing but the
    # library, its dependencies, pytest and hypothesis (the others talk to a live server).
    # The same layout as here (tests/ves, tests/vectors), so the vector helpers find their files.
    alone = tmp_path / "library_tests"
    (alone / "tests" / "ves").mkdir(parents=True)
    shutil.copytree(ROOT / "tests" / "vectors", alone / "tests" / "vectors")
    for copied in (*LIBRARY_ONLY_TESTS, *LIBRARY_TEST_HELPERS, ROOT / "tests" / "ves" / "__init__.py"):
        shutil.copy(copied, alone / "tests" / "ves" / copied.name)
    (alone / "tests" / "__init__.py").write_text("")
    (alone / "tests" / "conftest.py").write_text(HYPOTHESIS_PROFILE)  # the suite's (tests/conftest.py)
    runner = [f"{name}=={importlib.metadata.version(name)}" for name in ("pytest", "hypothesis")]
    pip_install(*runner)  # the suite's own pytest and hypothesis versions

    def library_tests(files: list[Path], report: Path) -> dict[str, str]:
        paths = [str(alone / "tests" / "ves" / file.name) for file in files]
        # Minutes on a loaded machine: property tests of both ways, and the writers without orjson.
        run(str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *paths, timeout=1200)
        return _outcomes(report)

    # Without the extra: the files that import neither PyNaCl nor orjson themselves.
    bare = library_tests([f for f in LIBRARY_ONLY_TESTS if not _imports_an_extra(f)], tmp_path / "bare.xml")
    assert sum(outcome == "passed" for outcome in bare.values()) >= 300, bare
    assert {outcome for outcome in bare.values()} <= {"passed", "skipped"}

    pip_install(f"{source}[speed]")
    probe = json.loads(run(str(python), "-c", PROBE))
    assert (probe["ed25519"], probe["orjson"]) == ("ves.ed25519_sodium", True)
    fast = library_tests(LIBRARY_ONLY_TESTS, tmp_path / "speed.xml")
    assert set(fast.values()) == {"passed"}, [name for name, outcome in fast.items() if outcome != "passed"]
    skipped_bare = {name for name, outcome in bare.items() if outcome == "skipped"}
    assert skipped_bare <= set(fast), skipped_bare - set(fast)  # each ran, and passed, with the extra


def _requirement(line: str) -> tuple[str, str | None]:
    """``("orjson", "speed")`` of ``'orjson<4,>=3.10; extra == "speed"'``; ``None`` without extra."""
    spec, _, marker = line.partition(";")
    name = re.split(r"[<>=!~\[ ]", spec.strip(), maxsplit=1)[0]
    extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)", marker)
    return name, extra[1] if extra else None


def _outcomes(report: Path) -> dict[str, str]:
    """Each test case of a JUnit XML report and its outcome (passed, skipped, failed, error)."""
    outcomes: dict[str, str] = {}
    for case in ElementTree.parse(report).iter("testcase"):  # noqa: S314 - pytest's own report, written here
        kinds = {child.tag for child in case} & {"skipped", "failure", "error"}
        outcome = {"skipped": "skipped", "failure": "failed", "error": "error"}.get(min(kinds, default=""), "passed")
        outcomes[f"{case.get('classname')}::{case.get('name')}"] = outcome
    return outcomes


def _imports_an_extra(test_file: Path) -> bool:
    """Whether ``test_file`` imports PyNaCl or orjson at its top level (it runs with the extra)."""
    imported = re.findall(r"^(?:from|import) ([\w.]+)", test_file.read_text(), re.MULTILINE)
    return any(name.split(".")[0] in ("nacl", "orjson") for name in imported)


HYPOTHESIS_PROFILE = """import hypothesis

hypothesis.settings.register_profile("suite", deadline=None)
hypothesis.settings.load_profile("suite")
"""

# Test modules that load the shared vectors (tests/vectors) and need nothing but the library.
LIBRARY_TEST_HELPERS = (ROOT / "tests" / "ves" / "vectors.py", ROOT / "tests" / "ves" / "ves_case_vectors.py")


def _library_only(test_file: Path) -> bool:
    """Whether ``test_file`` imports nothing but the standard library, the ves distribution's
    dependencies, pytest, hypothesis and the vector helpers."""
    allowed = set(sys.stdlib_module_names) | {"ves", "cryptography", "nacl", "httpx", "orjson", "pytest", "hypothesis"}
    helpers = {f"tests.ves.{helper.stem}" for helper in LIBRARY_TEST_HELPERS}
    imported = re.findall(r"^(?:from|import) ([\w.]+)", test_file.read_text(), re.MULTILINE)
    return all(name in helpers or name.split(".")[0] in allowed for name in imported)


LIBRARY_ONLY_TESTS = sorted(
    path
    for path in (ROOT / "tests" / "ves").glob("test_*.py")
    if _library_only(path) and path.name != Path(__file__).name  # this file builds the wheel itself
)


def test_the_library_only_tests_are_found_and_exclude_the_server_ones() -> None:
    names = {path.name for path in LIBRARY_ONLY_TESTS}
    assert {"test_client_unit.py", "test_ves_library.py", "test_rfc6962.py", "test_merkle.py"} <= names
    assert all(_library_only(helper) for helper in LIBRARY_TEST_HELPERS)
    assert "test_client_live.py" not in names  # Django's live server
    assert "test_distribution.py" not in names  # builds the wheel with the suite's pip
