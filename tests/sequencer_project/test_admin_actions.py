"""An admin action's messages name a bounded number of entries and count the rest."""

from __future__ import annotations

from typing import Any

from django.contrib import messages

from sequencer_project.admin_actions import NAMED_NOTES, ActionReport, left_for_next_run


class _Told:
    """Records what :meth:`ActionReport.tell` says, as ``ModelAdmin.message_user`` would show it."""

    def __init__(self) -> None:
        self.said: list[tuple[str, int]] = []

    def message_user(self, request: Any, text: str, level: int) -> None:
        self.said.append((text, level))


def test_a_thousand_refusals_are_ten_lines_and_a_count() -> None:
    report, told = ActionReport(), _Told()
    for entry in range(1000):
        report.note(f"Entry {entry} not retried: out of order.")

    report.tell(told, None, "Retried 0.", ok=True)  # type: ignore[arg-type]

    assert [text for text, _ in told.said] == [
        *(f"Entry {entry} not retried: out of order." for entry in range(NAMED_NOTES)),
        f"… and {1000 - NAMED_NOTES} more like these, not named.",
        "Retried 0.",
    ]
    assert {level for _, level in told.said} == {messages.WARNING}  # a note makes the summary a warning


def test_a_clean_run_is_one_success_line() -> None:
    report, told = ActionReport(), _Told()

    report.tell(told, None, "Discarded 3 entries.", ok=True)  # type: ignore[arg-type]

    assert told.said == [("Discarded 3 entries.", messages.SUCCESS)]


def test_entries_left_for_the_next_run_are_said_only_when_there_are_some() -> None:
    assert left_for_next_run(0, 200, "retried") == ""
    assert left_for_next_run(7, 200, "retried") == (
        " 7 more selected entries were not retried: one run handles at most 200; run the action again."
    )
