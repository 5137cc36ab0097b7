"""Stream kinds: independent gap-free sequence spaces of one ``(tenant, store)``."""

import enum
import uuid
from typing import Any


class StreamKind(enum.IntEnum):
    """Stored as ``smallint`` in every stream-keyed table; values are a public contract."""

    LEGACY = 1
    VES = 2
    X402 = 3


def stream_params(tenant_id: uuid.UUID, store_id: uuid.UUID, kind: StreamKind) -> dict[str, Any]:
    """The named SQL parameters that pick one stream (``tenant_id``, ``store_id``, ``stream_kind``)."""
    return {"tenant_id": tenant_id, "store_id": store_id, "stream_kind": int(kind)}
