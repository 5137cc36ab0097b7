"""Run the Rust reference's own k6 scripts against this service; fail unless every check passes.

    python -m loadtest.reference_k6 --start-service [--port 8120] [--vus 2] [--duration 5s]
    python -m loadtest.reference_k6 --url http://127.0.0.1:8080 --api-key KEY --tenant-id T [--store-id S]

The four scripts of the reference's ``load/`` directory (REFERENCE.md §2.6) are read from its
git mirror at run time into a temporary directory (never committed here), with one patch: their
``uuidv4()`` indexes the ``ArrayBuffer`` that k6's ``crypto.randomBytes`` returns, which yields
an empty string and so ids like ``"----"``; the patch wraps it in a ``Uint8Array``. Nothing else
changes: base URL, key, tenant and store reach them through their own environment variables
(``SEQUENCER_BASE_URL``, ``API_KEY``, ``TENANT_ID``, ``STORE_ID``). VUs and duration are
overridden on the k6 command line (their own values are 5 to 20 VUs for 30 to 60 s).

``--start-service`` runs gunicorn on a scratch database with a fresh tenant and admin key, as
``python -m loadtest --start-service`` does (``loadtest.service``). Exit status 0 only if every
script ran at least one check and none failed (docs/api.md, "The reference's k6 scripts").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from loadtest.k6 import k6_binary
from loadtest.service import scratch_service

MIRROR = Path(
    os.environ.get("REFERENCE_MIRROR", "/work/.mirror/stateset+stateset-sequencer/repo")
)  # a bare git repository of stateset/stateset-sequencer
SCRIPTS = ("sequencer_ingest.js", "mixed_workload.js", "sequencer_query.js", "agents_register.js")
UUID_BUG = "const bytes = crypto.randomBytes(16);"
UUID_FIX = "const bytes = new Uint8Array(crypto.randomBytes(16));"


@dataclass(frozen=True, slots=True)
class ScriptResult:
    name: str
    exit_code: int
    passes: int
    fails: int
    output_tail: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.passes > 0 and self.fails == 0


def mirror_available(mirror: Path = MIRROR) -> bool:
    return (mirror / "HEAD").exists()


def extract_scripts(into: Path, mirror: Path = MIRROR) -> list[Path]:
    """Write the reference's ``load/`` scripts into ``into``, each with the UUID patch applied
    where it generates UUIDs (an unpatched generator there is an error: the script changed)."""
    paths = []
    for name in SCRIPTS:
        source = subprocess.run(  # noqa: S603  (git with fixed arguments)
            ["git", "-C", str(mirror), "show", f"HEAD:load/{name}"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if "crypto.randomBytes" in source:
            if source.count(UUID_BUG) != 1:
                raise RuntimeError(f"load/{name}: its UUID generator changed; review the patch in {__name__}")
            source = source.replace(UUID_BUG, UUID_FIX)
        path = into / name
        path.write_text(source)
        paths.append(path)
    return paths


def run_script(script: Path, env: Mapping[str, str], *, vus: int, duration: str, workdir: Path) -> ScriptResult:
    summary_path = workdir / f"{script.stem}-summary.json"
    command = [
        k6_binary(),
        "run",
        "--quiet",
        "--no-color",
        "--vus",
        str(vus),
        "--duration",
        duration,
        "--summary-export",
        str(summary_path),
        str(script),
    ]
    done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, check=False)  # noqa: S603
    checks = {}
    if summary_path.exists():
        checks = json.loads(summary_path.read_text()).get("metrics", {}).get("checks", {})
    return ScriptResult(
        script.name,
        done.returncode,
        int(checks.get("passes", 0)),
        int(checks.get("fails", 0)),
        (done.stderr + done.stdout)[-1500:],
    )


def run_all(
    *, url: str, api_key: str, tenant_id: str, store_id: str, vus: int, duration: str, mirror: Path = MIRROR
) -> list[ScriptResult]:
    env = {
        "SEQUENCER_BASE_URL": url,
        "API_KEY": api_key,
        "TENANT_ID": tenant_id,
        "STORE_ID": store_id,
        "ALLOW_PUBLIC_REGISTRATION_LOAD": "true",  # agents_register.js refuses to run without it
    }
    with tempfile.TemporaryDirectory(prefix="reference-k6-") as tmp:
        workdir = Path(tmp)
        return [
            run_script(script, env, vus=vus, duration=duration, workdir=workdir)
            for script in extract_scripts(workdir, mirror)
        ]


def report(results: Sequence[ScriptResult]) -> bool:
    for result in results:
        verdict = "ok" if result.ok else "FAILED"
        counts = f"checks passed {result.passes:6}  failed {result.fails:6}  exit {result.exit_code}"
        print(f"{result.name:24} {counts}  {verdict}")
        if not result.ok:
            print(result.output_tail)
    return all(result.ok for result in results)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.reference_k6", description=__doc__.splitlines()[0])
    parser.add_argument("--start-service", action="store_true", help="gunicorn on a scratch database")
    parser.add_argument("--port", type=int, default=8120, help="port of --start-service (default 8120)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""), help="for --start-service")
    parser.add_argument("--url", help="a running service (without --start-service)")
    parser.add_argument("--api-key", help="read+write key on --tenant-id (without --start-service)")
    parser.add_argument("--tenant-id")
    parser.add_argument("--store-id", default=str(uuid.uuid4()), help="default: a fresh store")
    parser.add_argument("--vus", type=int, default=2)
    parser.add_argument("--duration", default="5s", help="per script (default 5s)")
    parser.add_argument("--mirror", type=Path, default=MIRROR)
    args = parser.parse_args(argv)
    if not mirror_available(args.mirror):
        parser.error(f"no reference mirror at {args.mirror} (set REFERENCE_MIRROR)")
    options = {"vus": args.vus, "duration": args.duration, "mirror": args.mirror, "store_id": args.store_id}
    if args.start_service:
        with scratch_service(args.database_url, args.port) as service:
            results = run_all(url=service.url, api_key=service.api_key, tenant_id=str(service.tenant_id), **options)
    else:
        if not (args.url and args.api_key and args.tenant_id):
            parser.error("give --start-service, or --url, --api-key and --tenant-id")
        results = run_all(url=args.url, api_key=args.api_key, tenant_id=args.tenant_id, **options)
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
