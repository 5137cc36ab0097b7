"""The machine-speed probe the capacity report names (``loadtest.machine_speed``)."""

from __future__ import annotations

from loadtest.machine_speed import ADDITIONS, additions_seconds, speed_sentence


def test_the_probe_takes_longer_for_more_additions() -> None:
    few = min(additions_seconds(10_000) for _ in range(3))
    many = min(additions_seconds(1_000_000) for _ in range(3))

    assert 0 < few < many


def test_the_sentence_names_both_timings_and_the_usual_one() -> None:
    text = speed_sentence(2.134, 1.9)

    assert f"{ADDITIONS:,} additions took 2.13 s before the run and 1.90 s after it" in text
    assert "0.32 to 0.46 s on this project's machine at its usual speed" in text
