"""The load generators' programs are found beside the venv's python first, then on PATH."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from loadtest.executables import executable


def test_it_prefers_the_program_beside_python() -> None:
    assert executable(Path(sys.executable).name, install_hint="unused") == sys.executable


def test_it_falls_back_to_path_then_exits_with_the_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    program = tmp_path / "made-up-generator"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert executable("made-up-generator", install_hint="unused") == str(program)

    with pytest.raises(SystemExit, match=r"^absent-generator is not installed; install it\.$"):
        executable("absent-generator", install_hint="install it")
