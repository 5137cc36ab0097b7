"""The current request id, kept in a context variable for logs and problem bodies."""

import re
import uuid
from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Where a request refused before any handler keeps the id its log line carried, for its answer.
REFUSED_REQUEST_ID = "sequencer.refused_request_id"


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> None:
    _request_id.set(value)


def forget_request_id() -> None:
    """Unbind the request id: a response's closer (``RequestIdMiddleware``), run once the server
    has sent the response, after Django's own log line of a refused request."""
    _request_id.set(None)


def request_id_for(incoming: str) -> str:
    """The client's ``X-Request-ID`` when it is sane, else a fresh one.

    ``fullmatch``: ``$`` in ``match()`` also accepts a trailing newline, which the response
    header refuses (a 500) and which would split a log line.
    """
    return incoming if _VALID_REQUEST_ID.fullmatch(incoming) else str(uuid.uuid4())
