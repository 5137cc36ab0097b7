"""The 422 field-error collector shared by the hand-written ingest parsers.

Legacy (:mod:`events.envelopes`) and VES (:mod:`events.ves_envelopes`) ingest check the
orjson-parsed body themselves (``docs/performance.md``) and answer shape and type errors as one
``invalid_request`` problem with an ``errors`` map keyed by JSON path, as the reference's strict
extractor does.
"""

from __future__ import annotations

from sequencer_project.api.errors import InvalidRequestError

_MAX_REPORTED_PATHS = 50


class FieldErrors:
    """Collects 422 field errors by JSON path; :meth:`raise_if_any` answers them together."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.items.setdefault(path, []).append(message)

    def raise_if_any(self) -> None:
        """Raise :class:`InvalidRequestError` naming the first error, with at most 50 paths."""
        if self.items:
            first = next(iter(self.items))
            raise InvalidRequestError(
                f"Invalid value at {first}: {self.items[first][0]}",
                errors=dict(list(self.items.items())[:_MAX_REPORTED_PATHS]),
            )
