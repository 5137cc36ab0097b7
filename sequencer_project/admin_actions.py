"""What an operator's list action does in one request, and how it tells what it did.

A list action may be run on every row of a large table ("Select all", no filter): on 67,744
dead letters one message per row made a 7 MB page of 67,951 warnings, and retrying 10,412 entries
held one request for 129 s, past any proxy's timeout. So an action handles at most a fixed
number of entries per request and says how many it left for the next run, and it names at most
:data:`NAMED_NOTES` entries in messages, counting the rest (docs/projections.md, "Operator
actions").
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

#: Entries named one by one in an action's messages; the rest are counted.
NAMED_NOTES = 10


class ActionReport:
    """The messages of one list action: some entries named, the others counted, then a summary."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.unnamed = 0

    def note(self, text: str) -> None:
        """One entry's outcome worth naming (a refusal, a hold)."""
        if len(self.notes) < NAMED_NOTES:
            self.notes.append(text)
        else:
            self.unnamed += 1

    def closed(self, entries: QuerySet[Any], verb: str) -> None:
        """The selected ``entries`` that are closed already, counted by status (one query) in one note."""
        counts = dict(
            entries.order_by().values_list("status").annotate(count=Count("pk")).values_list("status", "count")
        )
        if counts:
            parts = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
            self.notes.insert(0, f"{sum(counts.values())} selected entries not {verb}: closed already ({parts}).")

    def tell(self, model_admin: admin.ModelAdmin[Any], request: HttpRequest, summary: str, ok: bool) -> None:
        for text in self.notes:
            model_admin.message_user(request, text, messages.WARNING)
        if self.unnamed:
            model_admin.message_user(request, f"… and {self.unnamed} more like these, not named.", messages.WARNING)
        model_admin.message_user(request, summary, messages.SUCCESS if ok and not self.notes else messages.WARNING)


def left_for_next_run(left: int, limit: int, verb: str) -> str:
    """The summary's sentence for entries an action did not reach in this request ('' for none)."""
    if not left:
        return ""
    return f" {left} more selected entries were not {verb}: one run handles at most {limit}; run the action again."
