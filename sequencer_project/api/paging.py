"""Offset pages of a list endpoint that say where the next one starts (``next_offset``).

A page is read one row long: the row past it only tells that another page follows, so the answer
can carry ``next_offset`` (``None`` on the last page) without counting the whole list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from rest_framework.request import Request

from sequencer_project.api.fields import query_int

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int

    @property
    def rows_to_read(self) -> int:
        """The page and one row more."""
        return self.limit + 1

    def cut(self, rows: Sequence[T]) -> tuple[Sequence[T], int | None]:
        """The page's rows of ``rows`` (read with :attr:`rows_to_read`) and the next page's offset,
        ``None`` when no row follows."""
        return rows[: self.limit], (self.offset + self.limit if len(rows) > self.limit else None)


def query_page(request: Request, *, default: int, maximum: int) -> Page:
    """``limit`` (above ``maximum``: capped) and ``offset`` (default 0) of the query; 400
    ``invalid_parameter`` naming either when it is not an integer in range."""
    limit = query_int(request, "limit", default=default, minimum=1, maximum=maximum)
    return Page(limit, query_int(request, "offset", default=0, minimum=0))
