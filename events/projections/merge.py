"""JSON Merge Patch (RFC 7386): how ``entity_state`` folds an event payload into the state.

An object payload patches the state key by key (recursively; ``null`` removes a key); any other
payload (array, string, number) replaces the state. Pure, so replay gives the same document.
"""

from __future__ import annotations

from typing import Any

import orjson


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply ``patch`` to ``target`` and return the result (neither argument is modified)."""
    if not isinstance(patch, dict):
        return patch
    result: dict[str, Any] = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def load_json(value: Any) -> Any:
    """A ``jsonb`` column as read through Django's cursor (text) decoded; objects pass through."""
    if isinstance(value, str | bytes | bytearray | memoryview):
        return orjson.loads(bytes(value) if isinstance(value, memoryview) else value)
    return value
