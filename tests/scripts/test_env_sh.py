"""``scripts/env.sh``, which ``make run`` and the runbooks' commands source: for each variable it
sets, the shell's value wins, then the local env file's, then the local default (docs/operations.md)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from unittest import mock

import environ
import pytest

ENV_SH = Path(__file__).resolve().parents[2] / "scripts" / "env.sh"
NAMES = ("DATABASE_URL", "REDIS_URL", "SEQUENCER_ENV")


def _sourced(checkout: Path, shell: str, **environment: str) -> dict[str, str]:
    """The three variables after ``. scripts/env.sh`` in ``shell``, run from ``checkout``."""
    script = ". scripts/env.sh && " + " && ".join(f'printf "%s\\n" "${name}"' for name in NAMES)
    answer = subprocess.run(  # noqa: S603 - a shell of the system, our own script
        [shell, "-c", script],
        cwd=checkout,
        env={"PATH": "/usr/bin:/bin", **environment},
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    return dict(zip(NAMES, answer.stdout.splitlines(), strict=True))


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ENV_SH, tmp_path / "scripts" / "env.sh")
    return tmp_path


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_the_env_file_wins_over_the_defaults_and_the_shell_over_both(checkout: Path, shell: str) -> None:
    (checkout / ".env").write_text(
        "SECRET_KEY=kept-for-django\n"
        "# DATABASE_URL=postgres://commented/out\n"
        "DATABASE_URL=postgres://postgres@127.0.0.1:5441/sequencer\n"
        'export REDIS_URL="redis://127.0.0.1:6391/2"\n'
    )

    assert _sourced(checkout, shell) == {
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5441/sequencer",
        "REDIS_URL": "redis://127.0.0.1:6391/2",
        "SEQUENCER_ENV": "development",
    }
    assert _sourced(checkout, shell, DATABASE_URL="postgres://from-the-shell/x")["DATABASE_URL"] == (
        "postgres://from-the-shell/x"
    )


def test_without_an_env_file_or_with_none_named_the_local_defaults_apply(checkout: Path) -> None:
    defaults = {
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/sequencer",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "SEQUENCER_ENV": "development",
    }
    assert _sourced(checkout, "bash") == defaults
    (checkout / ".env").write_text("DATABASE_URL=postgres://elsewhere/x\n")
    assert _sourced(checkout, "bash", SEQUENCER_DOTENV="") == defaults


def test_an_env_file_named_by_sequencer_dotenv_is_read(
    checkout: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    named = tmp_path_factory.mktemp("secrets") / "service.env"
    named.write_text("REDIS_URL='redis://10.0.0.5:6379/3'\n")
    assert _sourced(checkout, "bash", SEQUENCER_DOTENV=str(named))["REDIS_URL"] == "redis://10.0.0.5:6379/3"


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_a_repeated_setting_reads_as_django_reads_it_and_crlf_files_read_clean(checkout: Path, shell: str) -> None:
    (checkout / ".env").write_bytes(
        b"DATABASE_URL=postgres://first/one\r\nDATABASE_URL=postgres://second/two\r\nREDIS_URL=redis://crlf:6379/1\r\n"
    )
    django_reads: dict[str, str] = {}
    with mock.patch.object(environ.Env, "ENVIRON", django_reads):
        environ.Env.read_env(str(checkout / ".env"), overwrite=False)

    sourced = _sourced(checkout, shell)

    assert sourced["DATABASE_URL"] == django_reads["DATABASE_URL"] == "postgres://second/two"
    assert sourced["REDIS_URL"] == "redis://crlf:6379/1"
