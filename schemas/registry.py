"""Hot-path schema lookups and payload validation (``docs/schemas.md``).

Ingest calls :func:`schema_failures` once per request: one cached lookup of the tenant's mode,
one cached lookup per distinct event type (misses of a request fetched in one query), then a
validation of each event whose type has an active schema. Validators are built once per
(tenant, event_type, version) and kept in the in-process :class:`HotCache`, which every
process drops within ``HOT_CACHE_CHECK_SECONDS`` of a registry change.
"""

from __future__ import annotations

import ast
import functools
import itertools
import json
import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.db import connection
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from prometheus_client import Counter
from referencing.exceptions import Unresolvable

from schemas.evaluation import EvaluationBudget, UnevaluableSchemaError, evaluating
from schemas.modes import ValidationMode, parse_mode
from schemas.references import LOCAL_REGISTRY, validator_class
from schemas.sql import SELECT_ACTIVE_SCHEMAS, SELECT_TENANT_MODE
from sequencer_project.hot_cache import HotCache

logger = logging.getLogger(__name__)

MAX_REPORTED_ERRORS = 10

SCHEMA_VALIDATION_EVENTS = Counter(
    "schema_validation_events",
    "Events checked against the schema registry at ingest, by outcome (valid, invalid, warned, missing).",
    ["outcome"],
)


@dataclass(frozen=True, slots=True)
class ActiveSchema:
    """The latest active version of an event type, with its validator built."""

    id: uuid.UUID
    event_type: str
    version: int
    validator: Validator


@dataclass(frozen=True, slots=True)
class SchemaError:
    """One violation. ``path`` and ``message`` are jsonschema's, which quote the payload's values
    (``"4111-..." is not of type "integer"``, in JSON: :func:`json_worded`): for the client that
    sent the payload only.
    ``redacted`` says where and which rule with nothing of the payload (:func:`redacted_error`):
    what logs and the rejection log hold, as payloads are sealed at rest (docs/schemas.md)."""

    path: str
    message: str
    redacted: str


@dataclass(frozen=True, slots=True)
class SchemaFailure:
    """Why one event was refused: the errors (JSON Pointers) or the absence of a schema."""

    event_type: str
    version: int | None
    errors: tuple[SchemaError, ...]

    @property
    def summary(self) -> str:
        """The rejection message answered, worded as the reference's (``path: message`` joined by ``; ``)."""
        return self._worded("; ".join(f"{e.path}: {e.message}" for e in self.errors))

    @property
    def redacted_summary(self) -> str:
        """:attr:`summary` without the payload's values or unnamed keys: for logs and the rejection log."""
        return self._worded("; ".join(e.redacted for e in self.errors))

    def _worded(self, details: str) -> str:
        if self.version is None:
            return f"No schema registered for event type '{self.event_type}'"
        return f"Schema validation failed for event type '{self.event_type}': {details}"


def build_validator(schema: Any) -> Validator:
    """A validator for ``schema`` (its ``$schema`` draft, 2020-12 when absent or unknown); formats
    are annotations. References resolve inside the schema only: nothing is ever fetched
    (``schemas.references``), so a reference that leaves the schema fails closed. Its class
    bounds the work (``schemas.evaluation``: patterns on RE2, linear ``uniqueItems``, references
    stopped past ``MAX_EVALUATION_FRAMES``, keywords counted by :func:`schema_errors`)."""
    return validator_class(schema, strict=False)(schema, registry=LOCAL_REGISTRY)


def schema_errors(validator: Validator, instance: Any, budget: EvaluationBudget | None = None) -> list[ValidationError]:
    """Every error of ``instance``; :class:`UnevaluableSchemaError` when the schema cannot say,
    or when evaluating it spends ``budget`` (when ``None``: the budget armed around the call by
    ``schemas.evaluation.evaluating``, else a new one of ``MAX_EVALUATION_STEPS``)."""
    try:
        with evaluating(budget):
            return list(validator.iter_errors(instance))
    except RecursionError as exc:
        raise UnevaluableSchemaError("the schema recurses without end (or too deeply) on this document") from exc
    except Unresolvable as exc:
        raise UnevaluableSchemaError(f"a reference resolves nowhere (nothing is fetched): {str(exc)[:200]}") from exc


def json_pointer(path: Iterable[str | int]) -> str:
    """The RFC 6901 JSON Pointer of an instance location (``/items/0/sku``; the root is ``""``),
    as the reference reports it (``instance_path``)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


# Keywords whose jsonschema message names only what the schema says ("'total' is a required
# property": a name from the schema's list, never a value of the payload).
_SCHEMA_WORDED_KEYWORDS = frozenset({"required", "dependentRequired"})
_RULE_VALUE_MAX_CHARS = 100  # a longer schema value (a subschema, a long enum) is left out
UNNAMED_KEY = "*"  # a payload key the schema does not name, in a redacted path


def redacted_error(error: ValidationError) -> str:
    """``<path>: <rule>`` of ``error`` without anything of the payload, for logs and storage.

    The rule comes from the schema's side only: the keyword and its value in the schema
    (``/total: fails type "integer"``), the value left out past ``_RULE_VALUE_MAX_CHARS``.
    In the path, array indexes and the keys the schema names in ``properties`` stay; any other
    key (matched by ``additionalProperties`` or ``patternProperties``: a key the payload chose,
    which may be data itself) shows as ``*``.
    """
    schema_path = list(error.absolute_schema_path)
    named = {key for keyword, key in itertools.pairwise(schema_path) if keyword == "properties"}
    path = json_pointer(part if isinstance(part, int) or part in named else UNNAMED_KEY for part in error.absolute_path)
    keyword = error.validator
    if keyword is None:  # a ``false`` schema
        return f"{path}: fails the false schema (nothing is allowed here)"
    if keyword in _SCHEMA_WORDED_KEYWORDS:
        return f"{path}: {json_worded(error)}"
    # The standard library's: the rare failures only, and integers past 64 bits (orjson's limit).
    value = json.dumps(error.validator_value, ensure_ascii=False, separators=(",", ":"), default=str)
    if len(value) > _RULE_VALUE_MAX_CHARS:
        return f"{path}: fails {keyword}"
    return f"{path}: fails {keyword} {value}"


#: The longest error message answered: jsonschema quotes a whole ``enum`` ("… is not one of
#: [9,000 values]") and the payload's value, so one rejected event's message reached ~100 KB and a
#: batch's answer ~100 times the request. A longer one keeps its start (the value) and its end
#: (the rule: "does not match '^a+$'"), joined by " … ".
MESSAGE_MAX_CHARS = 500
_KEPT = (MESSAGE_MAX_CHARS - 3) // 2


def json_worded(error: ValidationError) -> str:
    """jsonschema's message of ``error`` with the values it quotes in JSON, as a JSON client
    reads them and as the reference's validator words them (``null is not of type "string"``,
    not Python's ``None is not of type 'string'``).

    jsonschema writes every value it quotes with ``repr`` (the instance, the schema's value, its
    members, an array's tail, a property name) into prose without quotes of its own, so each
    Python literal in the message is rewritten where it stands, in one pass: ``None``, ``True``,
    ``False``, and each string literal as a JSON string (numbers, lists and objects then read as
    JSON too, spaced as Python spaces them)."""
    message = error.message
    if '"' not in message and "\\" not in message:
        # The usual message: its strings are single-quoted without escapes, so every other
        # piece between quotes is outside them (~1 µs, against ~3 µs a literal through the
        # pattern below).
        pieces = message.split("'")
        if len(pieces) % 2:
            for index in range(0, len(pieces), 2):
                pieces[index] = _constants_in_json(pieces[index])
            return '"'.join(pieces)
    return _PYTHON_LITERAL.sub(_as_json, message)


def _constants_in_json(outside_strings: str) -> str:
    if "None" in outside_strings or "True" in outside_strings or "False" in outside_strings:
        return outside_strings.replace("None", "null").replace("True", "true").replace("False", "false")
    return outside_strings


_PYTHON_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\b(?:None|True|False)\b")
_JSON_CONSTANTS = {"None": "null", "True": "true", "False": "false"}


def _as_json(match: re.Match[str]) -> str:
    token = match.group()
    constant = _JSON_CONSTANTS.get(token)
    if constant is not None:
        return constant
    body = token[1:-1]
    if "\\" in body:  # Python's escapes: read the literal, write JSON's
        try:
            return orjson.dumps(ast.literal_eval(token)).decode()
        except (ValueError, SyntaxError):  # not a literal after all: left as written
            return token
    return '"' + body.replace('"', '\\"') + '"' if token[0] == "'" else token


def _capped(message: str) -> str:
    if len(message) <= MESSAGE_MAX_CHARS:
        return message
    return f"{message[:_KEPT]} … {message[-(MESSAGE_MAX_CHARS - 3 - _KEPT) :]}"


def validate_payload(
    validator: Validator, payload: Any, budget: EvaluationBudget | None = None
) -> tuple[SchemaError, ...]:
    """Errors of ``payload`` under ``validator``, by JSON Pointer, at most ``MAX_REPORTED_ERRORS``.

    A schema that cannot be evaluated on this payload (a reference that resolves nowhere, one
    that recurses without end, a pattern RE2 cannot run, or more steps than ``budget`` has
    left: ``schemas.evaluation``) refuses it with one error at the root (``""``):
    ``check_schema`` refuses the schemas that fail on every document, not those that fail
    only on some. Its message names the schema's reference, nothing of the payload.
    """
    try:
        found = sorted(
            (json_pointer(e.absolute_path), _capped(json_worded(e)), redacted_error(e))
            for e in schema_errors(validator, payload, budget)
        )
    except UnevaluableSchemaError as exc:
        return (SchemaError("", str(exc), f": {exc}"),)
    return tuple(SchemaError(path, message, redacted) for path, message, redacted in found[:MAX_REPORTED_ERRORS])


# Both by tenant: a tenant's schema or mode change drops that tenant's entries only, in every
# process (sequencer_project.hot_cache, "scope").
schema_cache: HotCache[tuple[uuid.UUID, str], ActiveSchema | None] = HotCache(
    "schemas",
    max_entries=settings.CACHE_SCHEMA_MAX,
    ttl_seconds=settings.CACHE_SCHEMA_TTL_SECS,
    scope_of=lambda key: key[0],
)
mode_cache: HotCache[uuid.UUID, ValidationMode | None] = HotCache(
    "schema_modes",
    max_entries=settings.CACHE_SCHEMA_MAX,
    ttl_seconds=settings.CACHE_SCHEMA_TTL_SECS,
    scope_of=lambda tenant_id: tenant_id,
)


def _load_schemas(tenant_id: uuid.UUID, keys: list[tuple[uuid.UUID, str]]) -> dict[tuple[uuid.UUID, str], Any]:
    with connection.cursor() as cursor:
        cursor.execute(SELECT_ACTIVE_SCHEMAS, {"tenant_id": tenant_id, "event_types": [k[1] for k in keys]})
        rows = cursor.fetchall()
    loaded: dict[tuple[uuid.UUID, str], ActiveSchema | None] = dict.fromkeys(keys)
    for event_type, schema_id, version, schema_json in rows:
        body = orjson.loads(schema_json) if isinstance(schema_json, str | bytes) else schema_json
        loaded[(tenant_id, event_type)] = ActiveSchema(schema_id, event_type, version, build_validator(body))
    return loaded


def active_schemas_get(*, tenant_id: uuid.UUID, event_types: Sequence[str]) -> dict[str, ActiveSchema | None]:
    """The latest active schema of each event type (``None`` when it has none). Cached."""
    keys = [(tenant_id, t) for t in dict.fromkeys(event_types)]
    found = schema_cache.get_many(keys, lambda missing: _load_schemas(tenant_id, missing))
    return {event_type: found[(tenant_id, event_type)] for _, event_type in keys}


def _load_mode(tenant_id: uuid.UUID) -> ValidationMode | None:
    with connection.cursor() as cursor:
        cursor.execute(SELECT_TENANT_MODE, {"tenant_id": tenant_id})
        row = cursor.fetchone()
    return None if row is None else ValidationMode(row[0])


@functools.lru_cache(maxsize=8)
def _parsed_mode(text: str) -> ValidationMode | None:
    return parse_mode(text)


def global_mode() -> ValidationMode:
    mode = _parsed_mode(settings.SCHEMA_VALIDATION_MODE)
    if mode is None:  # refused at startup by the system check; keep the safe default
        return ValidationMode.ENFORCE
    return mode


def effective_mode(override: ValidationMode | None) -> ValidationMode:
    """A tenant's effective mode given its ``override``: the override, else ``SCHEMA_VALIDATION_MODE``."""
    return override if override is not None else global_mode()


def validation_mode_get(*, tenant_id: uuid.UUID) -> ValidationMode:
    """The tenant's effective mode (:func:`effective_mode` of its override). Cached."""
    return effective_mode(mode_cache.get(tenant_id, _load_mode))


def schema_failures(*, tenant_id: uuid.UUID, events: Sequence[tuple[str, Any, bool]]) -> list[SchemaFailure | None]:
    """Per event ``(event_type, payload, encrypted)``, the schema failure that refuses it, or ``None``.

    Encrypted payloads cannot be read: they only need a schema to exist in ``required`` mode.
    In ``warn`` mode failures are logged and counted, never returned.
    """
    if not events:
        return []
    mode = validation_mode_get(tenant_id=tenant_id)
    if mode is ValidationMode.DISABLED:
        return [None] * len(events)
    schemas = active_schemas_get(tenant_id=tenant_id, event_types=[e[0] for e in events])
    budget = EvaluationBudget()  # one for the request's events together: a batch cannot multiply it
    out: list[SchemaFailure | None] = []
    for event_type, payload, encrypted in events:
        schema = schemas[event_type]
        failure: SchemaFailure | None = None
        if schema is None:
            if mode is ValidationMode.REQUIRED:
                SCHEMA_VALIDATION_EVENTS.labels(outcome="missing").inc()
                failure = SchemaFailure(event_type, None, ())
        elif not encrypted:
            problems = validate_payload(schema.validator, payload, budget)
            if problems:
                failure = SchemaFailure(event_type, schema.version, problems)
                if mode is ValidationMode.WARN:
                    SCHEMA_VALIDATION_EVENTS.labels(outcome="warned").inc()
                    logger.warning(
                        "schema validation failed (warn mode) for tenant %s: %s", tenant_id, failure.redacted_summary
                    )
                    failure = None
                else:
                    SCHEMA_VALIDATION_EVENTS.labels(outcome="invalid").inc()
            else:
                SCHEMA_VALIDATION_EVENTS.labels(outcome="valid").inc()
        out.append(failure)
    return out
