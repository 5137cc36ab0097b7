"""Compatibility of two JSON Schema versions, checked structurally (``docs/schemas.md``).

``widening_problems(old, new)`` lists the reasons why some document valid under ``old`` might
be invalid under ``new``; an empty list is a proof that ``new`` accepts every document ``old``
accepts. The check understands a subset of JSON Schema (types, properties, required,
additionalProperties, items, enum/const, numeric/length/count bounds, pattern, uniqueItems);
at any level where either schema uses another assertion keyword, the two subschemas must be
equal. It may refuse compatible pairs, never accept incompatible ones.

Keywords mean what the draft a (sub)schema is evaluated under says (``$schema``, 2020-12 when
absent; a subschema declaring its own switches draft, as jsonschema does): ``const`` does not
exist before draft 6, for one. Two (sub)schemas of different drafts are never compared (a
cross-draft proof is not attempted): the pair is refused naming ``$schema``, unless the old one
accepts nothing or the new one everything, which holds in any draft.

* backward: every document valid under the old version is valid under the new one;
* forward: every document valid under the new version is valid under the old one;
* full: both; none: no check.
"""

from __future__ import annotations

from typing import Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from schemas.evaluation import UnevaluableSchemaError, evaluating, frozen, hardened
from schemas.patterns import pattern_problem
from schemas.references import (
    LOCAL_REGISTRY,
    SubschemaDraftError,
    UnknownDraftError,
    UnwalkableSchemaError,
    metaschema_error,
    subschemas,
    unresolvable_reference,
    validator_class,
)
from schemas.registry import build_validator, json_pointer, schema_errors
from sequencer_project.api.json_numbers import dumps

# Keywords that assert nothing on their own. ``$schema`` asserts nothing either, but it chooses
# what the other keywords mean: a (sub)schema's draft is compared first (``_draft_at``).
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "$defs",
        "definitions",
        "title",
        "description",
        "default",
        "examples",
        "format",
        "deprecated",
        "readOnly",
        "writeOnly",
        "contentMediaType",
        "contentEncoding",
    }
)
# Lower bounds: the new schema may only lower them; upper bounds: only raise them.
_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_UNDERSTOOD = frozenset(
    {"type", "properties", "required", "additionalProperties", "items", "enum", "const", "pattern", "uniqueItems"}
    | set(_LOWER)
    | set(_UPPER)
    | _ANNOTATIONS
)
_JSON_TYPES = frozenset({"null", "boolean", "object", "array", "number", "string", "integer"})


def _canonical(value: Any) -> bytes:
    return dumps(value, option=orjson.OPT_SORT_KEYS)


def _uses_ref(schema: Any) -> bool:
    if isinstance(schema, dict):
        return any(k in ("$ref", "$dynamicRef", "$recursiveRef") or _uses_ref(v) for k, v in schema.items())
    if isinstance(schema, list):
        return any(_uses_ref(v) for v in schema)
    return False


def _types(schema: dict[str, Any]) -> frozenset[str] | None:
    """The JSON types a schema's ``type`` allows (``None`` = no ``type`` keyword)."""
    declared = schema.get("type")
    if declared is None:
        return None
    names = [declared] if isinstance(declared, str) else declared
    return frozenset(names)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _understood(schema: dict[str, Any]) -> bool:
    if any(key not in _UNDERSTOOD for key in schema):
        return False
    declared = schema.get("type")
    if declared is not None:
        names = [declared] if isinstance(declared, str) else declared
        if not isinstance(names, list) or not all(isinstance(n, str) and n in _JSON_TYPES for n in names):
            return False
    if any(k in schema and not _is_number(schema[k]) for k in (*_LOWER, *_UPPER)):
        return False  # e.g. draft-4 boolean exclusiveMinimum
    if "items" in schema and not isinstance(schema["items"], dict | bool):
        return False  # tuple form
    if "required" in schema and not isinstance(schema["required"], list):
        return False
    if "properties" in schema and not isinstance(schema["properties"], dict):
        return False
    if "enum" in schema and not isinstance(schema["enum"], list):
        return False
    return "additionalProperties" not in schema or isinstance(schema["additionalProperties"], dict | bool)


def _values(schema: dict[str, Any], draft: type[Validator]) -> list[Any] | None:
    """The finite set of values ``enum``/``const`` allows under ``draft`` (``None`` = not
    restricted). ``const`` restricts nothing in a draft without it (3 and 4 ignore it)."""
    if "const" in schema and "const" in draft.VALIDATORS:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"])
    return None


def _value_set(schema: Any, draft: type[Validator]) -> tuple[frozenset[Any], dict[str, Any]] | None:
    """The values ``schema``'s ``enum`` (or ``const``) allows, as a set of their :func:`frozen`
    forms (JSON Schema's equality: ``1 == 1.0``, booleans apart), and the rest of the schema
    without that keyword; ``None`` when it allows no finite set."""
    if not isinstance(schema, dict):
        return None
    values = _values(schema, draft)
    if values is None:
        return None
    keyword = "const" if "const" in schema and "const" in draft.VALIDATORS else "enum"
    return frozenset(frozen(value) for value in values), {k: v for k, v in schema.items() if k != keyword}


def _accepts(
    draft: type[Validator], schema: Any, split: tuple[frozenset[Any], dict[str, Any]] | None, value: Any
) -> bool | None:
    """Whether ``schema`` accepts ``value``: by set membership plus the rest of the schema
    (``type`` beside the ``enum``, say) when ``split`` is its value set, else evaluated."""
    if split is None:
        return _valid(draft, schema, value)
    allowed, rest = split
    if frozen(value) not in allowed:
        return False
    return True if _trivial(rest) else _valid(draft, rest, value)


def _values_problems(
    old: dict[str, Any], new: Any, old_values: list[Any], draft: type[Validator], path: str
) -> list[str]:
    """Old accepts at most ``old_values``: each one old accepts must pass new. Membership in an
    ``enum`` is a set lookup and only the rest of each schema is evaluated (a 1,500-value list
    checked against another by evaluation had exhausted the step budget, and values read as no
    longer accepted); a verdict the budget cannot give counts against the pair (sound: it may
    refuse, never accept), said as such."""
    old_split, new_split = _value_set(old, draft), _value_set(new, draft)
    problems: list[str] = []
    for value in old_values:
        if _accepts(draft, old, old_split, value) is False:
            continue  # old itself refuses it (an ``enum`` member outside the ``type`` beside it)
        accepted = _accepts(draft, new, new_split, value)
        if accepted is None:
            problems.append(
                f"{path}: value {_canonical(value).decode()} could not be checked within the evaluation budget,"
                " so it counts as no longer accepted (add fewer values at a time, or register with compatibility none)"
            )
        elif not accepted:
            problems.append(f"{path}: value {_canonical(value).decode()} is no longer accepted")
    return problems


def _valid(draft: type[Validator], schema: Any, instance: Any) -> bool | None:
    """Whether ``schema``, evaluated under ``draft``, accepts ``instance``; ``None`` when it
    cannot say (``schemas.evaluation``)."""
    try:
        return not schema_errors(draft(schema, registry=LOCAL_REGISTRY), instance)
    except UnevaluableSchemaError:
        return None


def _trivial(schema: Any) -> bool:
    return schema is True or (isinstance(schema, dict) and all(k in _ANNOTATIONS for k in schema))


# The draft of a schema that declares none (``schemas.references.validator_class``).
_DEFAULT_DRAFT = hardened(Draft202012Validator)


def _draft_at(schema: Any, inherited: type[Validator]) -> type[Validator] | None:
    """The draft ``schema`` is evaluated under, where ``inherited`` is its parent's: the one its
    ``$schema`` names, as jsonschema switches class on descending into it (``evolve``:
    ``validator_for(schema, default=inherited)``, so an unknown URI keeps ``inherited``; at the
    root that is 2020-12, as ``build_validator``). ``None`` for a ``$schema`` that is not a
    string, which no draft can be told from."""
    if not isinstance(schema, dict) or "$schema" not in schema:
        return inherited
    if not isinstance(schema["$schema"], str):
        return None
    try:
        return hardened(validator_for(schema, default=inherited))
    except KeyError:  # a class registered by something else than schemas.evaluation: unknown here
        return None


def _draft_label(schema: Any, draft: type[Validator] | None, inherited: bool) -> str:
    """How a problem names a (sub)schema's draft: its ``$schema``, or the draft it gets without one."""
    if isinstance(schema, dict) and "$schema" in schema:
        return _canonical(schema["$schema"]).decode()
    uri = "" if draft is None else str(draft.META_SCHEMA.get("$id", draft.META_SCHEMA.get("id", "")))
    return f'"{uri}" ({"inherited" if inherited else "the default"}: no $schema)'


def widening_problems(
    old: Any,
    new: Any,
    path: str = "$",
    *,
    names: tuple[str, str] = ("old", "new"),
    drafts: tuple[type[Validator], type[Validator]] | None = None,
) -> list[str]:
    """Why a document valid under ``old`` might fail ``new`` (empty: none can).

    ``names`` are how problems call the two versions; ``drafts`` are the drafts ``old`` and
    ``new`` inherit from their parents (``None``: they are roots, 2020-12 unless they declare
    another).
    """
    if old is False or _trivial(new):
        return []  # in every draft: old accepts nothing, or new accepts everything
    if new is False:
        return [f"{path}: the new schema rejects every value"]
    if old is True:
        old = {}
    if not isinstance(old, dict) or not isinstance(new, dict):
        return [f"{path}: not a schema object"]
    inherited_old, inherited_new = drafts or (_DEFAULT_DRAFT, _DEFAULT_DRAFT)
    old_draft, new_draft = _draft_at(old, inherited_old), _draft_at(new, inherited_new)
    if old_draft is None or new_draft is None or old_draft is not new_draft:
        # A keyword can mean something else, or nothing, in another draft (draft 4 has no const):
        # sound is to refuse, not to attempt a proof across drafts.
        inherited = drafts is not None
        return [
            f"{path}: $schema differs: {names[0]} version {_draft_label(old, old_draft, inherited)}, "
            f"{names[1]} version {_draft_label(new, new_draft, inherited)}; schemas of different "
            "drafts are never compared (keep $schema as it was, or register with compatibility none)"
        ]
    draft = old_draft
    if _canonical(old) == _canonical(new):
        return []
    if _uses_ref(old) or _uses_ref(new):
        return [f"{path}: schemas using $ref are only compatible when identical"]
    old_values = _values(old, draft)
    if old_values is not None:
        return _values_problems(old, new, old_values, draft, path)
    if not _understood(old) or not _understood(new):
        return [f"{path}: uses keywords the compatibility check does not understand; keep it unchanged"]

    def below(old_sub: Any, new_sub: Any, at: str) -> list[str]:
        return widening_problems(old_sub, new_sub, at, names=names, drafts=(draft, draft))

    problems: list[str] = []
    if _values(new, draft) is not None:
        problems.append(f"{path}: enum/const added")
    problems.extend(_type_problems(old, new, path))
    problems.extend(_bound_problems(old, new, path))
    if "pattern" in new and new.get("pattern") != old.get("pattern"):
        problems.append(f"{path}: pattern added or changed")
    if new.get("uniqueItems") is True and old.get("uniqueItems") is not True:
        problems.append(f"{path}: uniqueItems added")
    problems.extend(_required_problems(old, new, path))
    old_props: dict[str, Any] = old.get("properties", {})
    new_props: dict[str, Any] = new.get("properties", {})
    old_extra = old.get("additionalProperties", True)
    new_extra = new.get("additionalProperties", True)
    for name in sorted(set(old_props) | set(new_props)):
        problems.extend(below(old_props.get(name, old_extra), new_props.get(name, new_extra), f"{path}.{name}"))
    problems.extend(below(old_extra, new_extra, f"{path}.*"))
    if "items" in new:
        problems.extend(below(old.get("items", True), new["items"], f"{path}[*]"))
    return problems


def _type_problems(old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
    new_types = _types(new)
    if new_types is None:
        return []
    old_types = _types(old)
    if old_types is None:
        return [f"{path}: type restricted to {sorted(new_types)}"]
    lost = {t for t in old_types if t not in new_types and not (t == "integer" and "number" in new_types)}
    return [f"{path}: type {t} no longer accepted" for t in sorted(lost)]


def _bound_problems(old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
    raised = [k for k in _LOWER if k in new and not (k in old and old[k] >= new[k])]
    lowered = [k for k in _UPPER if k in new and not (k in old and old[k] <= new[k])]
    return [f"{path}: {k} added or raised" for k in raised] + [f"{path}: {k} added or lowered" for k in lowered]


def _required_problems(old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
    return [
        f"{path}: property {name!r} became required"
        for name in new.get("required", [])
        if name not in old.get("required", [])
    ]


def compatibility_problems(mode: str, old: Any, new: Any) -> list[str]:
    """Problems that make ``new`` an invalid successor of ``old`` under ``mode``. The values
    tried on both schemas share one evaluation budget."""
    if mode == "none":
        return []
    problems: list[str] = []
    with evaluating():
        if mode in ("backward", "full"):
            problems.extend(f"backward: {p}" for p in widening_problems(old, new))
        if mode in ("forward", "full"):
            problems.extend(f"forward: {p}" for p in widening_problems(new, old, names=("new", "old")))
    return problems


def unrunnable_pattern(cls: type[Validator], schema: Any) -> str | None:
    """Why a ``pattern`` or ``patternProperties`` pattern of ``schema``'s subschemas cannot run on
    RE2 (``schemas.patterns``), at its JSON Pointer, or ``None``. A subschema only a reference
    reaches is not looked at here: such a pattern rejects the events that reach it."""
    for location, subschema in subschemas(cls, schema):
        if not isinstance(subschema, dict):
            continue
        found = subschema.get("pattern")
        patterns: list[tuple[tuple[str, ...], str]] = [(("pattern",), found)] if isinstance(found, str) else []
        listed = subschema.get("patternProperties")
        if isinstance(listed, dict):
            patterns.extend((("patternProperties", key), key) for key in listed)
        for at, pattern in patterns:
            problem = pattern_problem(pattern)
            if problem is not None:
                return f"{json_pointer(location + at)}: {problem}"
    return None


# Documents every schema is tried on at registration: one that cannot evaluate any of them
# (``{"$ref": "#"}`` recursing forever, a ``$ref`` to nowhere at the top) is refused.
_PROBES: tuple[Any, ...] = (None, True, 0, 0.5, "", [], {})


def check_schema(schema: Any) -> str | None:
    """``None`` when ``schema`` is a valid JSON Schema for its draft, every reference of which
    resolves inside it, else why not. Nothing is fetched (``schemas.references``)."""
    if not isinstance(schema, dict | bool):
        return "a schema must be a JSON object or a boolean"
    if isinstance(schema, dict) and not isinstance(schema.get("$schema", ""), str):
        return "$.$schema: must be a string"
    try:
        cls = validator_class(schema)
        error = metaschema_error(cls, schema)
        if error is not None:
            return f"{error.json_path}: {error.message}"
        unrunnable = unrunnable_pattern(cls, schema)
        if unrunnable is not None:
            return unrunnable
        dangling = unresolvable_reference(cls, schema)
        if dangling is not None:
            return dangling
        validator = build_validator(schema)
        with evaluating():  # one budget for all the probes
            for probe in _PROBES:
                schema_errors(validator, probe)
    except (UnknownDraftError, SubschemaDraftError, UnevaluableSchemaError, UnwalkableSchemaError) as exc:
        return str(exc)
    except RecursionError:  # checking against the meta-schema: bounded by the body's depth, never expected
        return "the schema nests too deeply to check"
    return None
