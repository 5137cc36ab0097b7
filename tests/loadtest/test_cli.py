"""Command-line parsing and the sizing of prepared VES bodies."""

from __future__ import annotations

import pytest

from loadtest.__main__ import main, parse_duration
from loadtest.runner import ves_body_count
from loadtest.scenarios import CATALOGUE


def test_durations_read_as_k6_writes_them() -> None:
    assert [parse_duration(t) for t in ("60", "60s", "2m", " 20s ")] == [60, 60, 120, 20]


def test_enough_signed_bodies_are_prepared_for_the_budget_and_a_smoke_run_needs_few() -> None:
    assert ves_body_count(20, 2_500, 100, "sustained") == 500
    assert ves_body_count(60, 2_500, 100, "stress") == 1_500
    assert ves_body_count(1, 10, 100, "sustained") == 10
    assert ves_body_count(60, 2_500, 100, "smoke") == 10


def test_the_list_names_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in CATALOGUE)


def test_a_suite_and_a_scenario_cannot_be_asked_for_together() -> None:
    with pytest.raises(SystemExit):
        main(["--suite", "headline", "--scenario", "queries"])


def test_starting_the_service_on_a_busy_port_stops_before_touching_any_database() -> None:
    import socket

    from loadtest.service import scratch_service

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with pytest.raises(SystemExit, match="already in use"), scratch_service("postgres://nowhere:1/x", port):
            pass


@pytest.mark.parametrize("option", ["--pairs", "--ves-budget"])
@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_counts_must_be_whole_numbers_of_at_least_one(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--capacity", option, value])
    assert exited.value.code == 2
    assert f"{option}: a whole number of at least 1" in capsys.readouterr().err
