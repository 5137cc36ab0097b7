"""How deep a parsed JSON value nests, checked cheaply against its text (no Django import).

Shared by the server's body limits (``sequencer_project.api.json_limits``) and RFC 8785
canonicalisation (:mod:`ves.jcs`), which must both tell a deep value from a merely large one.
"""

from __future__ import annotations

from typing import Any

__all__ = ["too_deep"]

_CONTAINERS = (dict, list)


def too_deep(raw: bytes, value: Any, limit: int) -> bool:
    """Whether ``value`` (parsed from ``raw``, or printed as ``raw``) nests objects and arrays more
    than ``limit`` levels.

    Each level needs one ``[`` or ``{`` byte, so a text with no more of them than ``limit`` is
    answered without looking at ``value``; otherwise its dicts and lists are walked iteratively
    (no recursion, so no recursion limit). Wide values with many brackets are walked, not refused.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    pending: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, _CONTAINERS) else []
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, _CONTAINERS):
                if depth >= limit:
                    return True
                pending.append((child, depth + 1))
    return False
