"""Stream kinds: independent gap-free sequence spaces of one ``(tenant, store)``."""

import enum


class StreamKind(enum.IntEnum):
    """Stored as ``smallint`` in every stream-keyed table; values are a public contract."""

    LEGACY = 1
    VES = 2
    X402 = 3
