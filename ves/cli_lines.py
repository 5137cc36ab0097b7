"""The input files of the ``ves`` CLI: JSON files and the JSON lines ``ves append`` sends.

``ves append`` reads the whole file and checks every line with :func:`line_problems` before it
sends anything, so a malformed file sends nothing and each problem names its file line. The
checks are the ingest endpoints' own rules for the fields a line carries (``docs/ingest.md``,
``docs/ves.md``): required fields, types, UUIDs, RFC 3339 times, text lengths. What only the
server can decide (permissions, duplicates, versions) is still answered by the server; when it
refuses a batch after others were appended, :func:`refusal` maps the answer's ``events[k]`` back
to the file line and says which lines were appended before it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ves.client import ApiError
from ves.json_text import loads as json_loads
from ves.rfc3339 import parse_rfc3339

__all__ = [
    "U32_MAX",
    "InputError",
    "Line",
    "batches",
    "line_problems",
    "read_json_file",
    "read_lines",
    "refusal",
    "summarize_problems",
]

U32_MAX = 2**32 - 1
#: The most problems ``ves append`` lists before it says how many more there are.
SHOWN_PROBLEMS = 10
# entity_type, entity_id, event_type: the longest text each may be (characters for legacy
# events, UTF-8 bytes for VES ones), as the ingest endpoints check.
TEXT_LIMITS = (("entity_type", 128), ("entity_id", 512), ("event_type", 256))


class InputError(Exception):
    """A problem with the command's input, said in one or more lines (printed ``ves: <line>``)."""

    def __init__(self, *lines: str) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


@dataclass(frozen=True, slots=True)
class Line:
    """One event of a JSON-lines file and its 1-based line number."""

    number: int
    event: dict[str, Any]


def _decode(text: str) -> Any:
    """Strict JSON by orjson's rules (``ves.json_text``: ``NaN`` and ``Infinity`` refused; deeper
    than 1,024 levels is refused before any recursion, raised here as ``RecursionError``). The standard decoder recursed
    in C as deep as the text went: in a process whose recursion limit a library had raised
    (py-evm sets 12,288), a file of 100,000 ``[`` overflowed the thread's stack (a segfault)."""
    try:
        return json_loads(text)
    except ValueError as exc:
        if str(exc).startswith(_TOO_DEEP):  # as orjson and its fallback say it
            raise RecursionError(str(exc)) from None
        raise


_TOO_DEEP = "depth limit exceeded"


def read_json_file(path: Path, what: str) -> Any:
    """The JSON value in ``path``; :class:`InputError` (naming ``what``) when it is not UTF-8 JSON."""
    raw = path.read_bytes()
    try:
        return _decode(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: {what} is not UTF-8 text (byte {exc.start + 1})") from None
    except RecursionError:
        raise InputError(f"{path}: {what} nests too deeply to be read") from None
    except ValueError as exc:
        raise InputError(f"{path}: {what} is not JSON: {exc}") from None


def read_lines(path: Path) -> tuple[list[Line], list[tuple[int, str]]]:
    """Every non-blank line of a JSON-lines file that is a JSON object, and the ``(number,
    problem)`` of each line that is not (not UTF-8, not JSON, too deep, not an object): every
    line is read, so one run names every unreadable line."""
    lines: list[Line] = []
    problems: list[tuple[int, str]] = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.append((number, f"not UTF-8 text (byte {exc.start + 1} of the line)"))
                continue
            if not text.strip():
                continue
            try:
                event = _decode(text)
            except RecursionError:
                problems.append((number, "nests too deeply to be read"))
                continue
            except ValueError as exc:
                problems.append((number, f"not JSON: {exc}"))
                continue
            if not isinstance(event, dict):
                problems.append((number, "each line must be a JSON object"))
                continue
            lines.append(Line(number, event))
    return lines, problems


def _is_uuid(value: Any) -> bool:
    """A UUID written in ASCII, as the server reads ids."""
    if not isinstance(value, str) or not value.isascii():
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _text_problem(event: dict[str, Any], name: str, limit: int, *, signed: bool) -> str | None:
    value = event.get(name)
    unit = "bytes of UTF-8" if signed else "characters"
    if not isinstance(value, str):
        return f"{name} is required: a string of 1-{limit} {unit}"
    size = len(value.encode("utf-8", "surrogatepass")) if signed else len(value)
    if not 1 <= size <= limit:
        return f"{name} must be 1-{limit} {unit}, got {size}"
    if "\x00" in value:
        return f"{name} must not contain NUL"
    return None


def line_problems(event: dict[str, Any], *, stream: tuple[str, str] | None) -> list[str]:
    """What is wrong with one line: a legacy event (``stream`` ``None``: the line names its
    ``tenant_id`` and ``store_id``) or an event to sign for the stream ``(tenant, store)``, whose
    line may name the stream only if it is that one."""
    signed = stream is not None
    problems: list[str] = []
    if stream is None:
        problems += [
            f"{name} is required: a UUID" for name in ("tenant_id", "store_id") if not _is_uuid(event.get(name))
        ]
    else:
        for name, expected in zip(("tenant_id", "store_id"), stream, strict=True):
            if name not in event:
                continue
            if not _is_uuid(event[name]):
                problems.append(f"{name} is not a UUID")
            elif uuid.UUID(event[name]) != uuid.UUID(expected):
                flag = "--tenant" if name == "tenant_id" else "--store"
                problems.append(f"{name} {event[name]} is not the {flag} the events are signed for ({expected})")
    problems += [p for name, limit in TEXT_LIMITS if (p := _text_problem(event, name, limit, signed=signed))]
    if "payload" not in event or (signed and event["payload"] is None):
        problems.append("payload is required" + (" (not null)" if signed else ""))
    for name in ("event_id", "command_id", *(() if signed else ("source_agent",))):
        if event.get(name) is not None and not _is_uuid(event[name]):
            problems.append(f"{name} is not a UUID")
    created_at = event.get("created_at")
    if created_at is not None and (not isinstance(created_at, str) or parse_rfc3339(created_at) is None):
        problems.append("created_at is not an RFC 3339 date-time with an offset")
    base_version = event.get("base_version")
    if base_version is not None and (
        isinstance(base_version, bool) or not isinstance(base_version, int) or base_version < 0
    ):
        problems.append("base_version is not an integer >= 0")
    return problems


def summarize_problems(path: Path, problems: Sequence[tuple[int, str]]) -> list[str]:
    """The lines ``ves append`` prints for a file that failed its checks (nothing was sent)."""
    said = [f"{path}:{number}: {problem}" for number, problem in problems[:SHOWN_PROBLEMS]]
    if len(problems) > SHOWN_PROBLEMS:
        said.append(f"… and {len(problems) - SHOWN_PROBLEMS} more problems")
    bad_lines = len({number for number, _ in problems})
    said.append(f"{bad_lines} invalid line{'s' if bad_lines != 1 else ''}: nothing was sent")
    return said


def batches(lines: Sequence[Line], size: int, *, by_stream: bool) -> Iterator[Sequence[Line]]:
    """Consecutive runs of at most ``size`` lines; with ``by_stream`` a run also ends where the
    next line names another stream (the server takes one stream per request)."""
    start = 0
    while start < len(lines):
        end = min(start + size, len(lines))
        if by_stream:
            first = _stream_of(lines[start])
            for index in range(start + 1, end):
                if _stream_of(lines[index]) != first:
                    end = index
                    break
        yield lines[start:end]
        start = end


def _stream_of(line: Line) -> tuple[uuid.UUID, uuid.UUID]:
    return uuid.UUID(line.event["tenant_id"]), uuid.UUID(line.event["store_id"])


def refusal(path: Path, exc: Exception, batch: Sequence[Line], appended: Sequence[Line], named: set[int]) -> list[str]:
    """What to say when the server refused (an :class:`ApiError` of status 400 or more) or never
    answered so that the CLI could read it (any other ``exc``) a batch after ``appended``;
    ``named``: the numbers of the lines that had their own event_id."""
    span = f"line {batch[0].number}" if len(batch) == 1 else f"lines {batch[0].number}-{batch[-1].number}"
    said = [str(exc) or type(exc).__name__]
    # A redirect or a 2xx that is not the API's answer (a proxy's page) is no refusal: the
    # request may have been appended behind it, as after a lost answer.
    refused = isinstance(exc, ApiError) and exc.status >= 400
    indices = [k for k in _event_indices(exc) if 0 <= k < len(batch)] if isinstance(exc, ApiError) and refused else []
    said.extend(f"{path}:{batch[k].number}: refused (events[{k}] of the batch of {span})" for k in indices)
    if not refused:
        answer = "an answer that is not the API's" if isinstance(exc, ApiError) else "no answer"
        said.append(f"the batch of {span} got {answer}: it may or may not have been appended")
    elif not indices:
        said.append(f"the server refused the batch of {span}; nothing of it was appended")
    if not appended:
        return [*said, "nothing was appended before it"]
    first, last = appended[0].number, appended[-1].number
    said.append(f"{len(appended)} events (lines {first}-{last}) were appended before it; no line after {last} was sent")
    no_id = any(line.number not in named for line in appended)
    no_time = any(line.number in named and "created_at" not in line.event for line in appended)
    if no_id or no_time:
        why = [
            *(["lines without event_id would be appended again"] if no_id else []),
            *(["lines without created_at rejected as duplicate_event_id"] if no_time else []),
        ]
        said.append(
            f"a re-run of the whole file does not replay lines {first}-{last} ({', '.join(why)}): "
            f"send the lines from {last + 1} on (tail -n +{last + 1} {path})"
        )
    return said


def _event_indices(exc: ApiError) -> list[int]:
    """The ``events[k]`` indices an error body names (its detail and its ``errors`` map)."""
    texts = [exc.detail]
    if isinstance(exc.body, dict) and isinstance(exc.body.get("errors"), dict):
        texts.extend(str(key) for key in exc.body["errors"])
    return sorted({int(k) for text in texts for k in re.findall(r"events\[(\d+)\]", text)})
