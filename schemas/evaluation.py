"""The JSON Schema validator classes every schema of the project runs on (ADR 0046, ``docs/schemas.md``).

jsonschema's own classes let a tenant's schema hold a web process, GIL and all, as long as it
likes: ``pattern`` and ``patternProperties`` (and ``additionalProperties`` and
``unevaluatedProperties``, which apply them) backtrack in Python's ``re``; ``uniqueItems``
compares the items pairwise; and references or ``unevaluated*`` keywords that re-apply a
subschema can double the work at each level of a document. Each draft bundled with jsonschema
is extended here (jsonschema's public ``extend``), keyword by keyword:

* patterns run on RE2, in linear time (:mod:`schemas.patterns`); a pattern RE2 cannot run
  makes the schema unevaluable on the documents that reach it;
* ``uniqueItems`` hashes a canonical form of each item (linear), with JSON Schema's equality;
* references stop past :data:`MAX_EVALUATION_FRAMES` Python frames;
* every keyword evaluation spends steps of the :class:`EvaluationBudget` armed by
  :func:`evaluating` (one, plus what it goes through: :data:`MEMBERS_PER_STEP`, the items it
  applies a subschema to, the errors it passes on, a pattern scan's worst case); past it, the
  schema is unevaluable on the document.

The extended classes are registered as the validators of their metaschemas (``extend``'s
``version``): jsonschema switches class whenever a subschema declares ``$schema``
(``evolve`` looks the class up by that URI), and would otherwise leave these protections at
the first ``{"$schema": ..., "$ref": "#"}``.
"""

from __future__ import annotations

import contextlib
import decimal
import enum
import sys
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping
from fractions import Fraction
from typing import Any

from jsonschema import (
    Draft3Validator,
    Draft4Validator,
    Draft6Validator,
    Draft7Validator,
    Draft201909Validator,
    Draft202012Validator,
    FormatChecker,
)
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend
from referencing.jsonschema import lookup_recursive_ref

from schemas.patterns import PatternError, pattern_problem, scan_cost, search

__all__ = [
    "MAX_EVALUATION_FRAMES",
    "MAX_EVALUATION_STEPS",
    "EvaluationBudget",
    "UnevaluableSchemaError",
    "evaluating",
    "frozen",
    "hardened",
    "metaschema_formats",
]

Keyword = Callable[[Any, Any, Any, Any], Any]  # jsonschema's (validator, value, instance, schema)

# Python frames on the stack past which a reference is not followed. Bodies nest at most 64
# levels (sequencer_project/api/json_limits.py), so only references can recurse without end
# ({"$ref": "#"}). Python's recursion limit cannot be relied on to stop them: importing web3
# (anchoring, x402 settlement) raises it to 100,000 (py_ecc), and such a recursion then
# overflows the C stack and kills the process instead of raising RecursionError.
MAX_EVALUATION_FRAMES = 900
REFERENCE_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")

# Steps one budget allows: a request's events together (ingest), one payload (POST
# /schemas/validate), or a registration's checks. A step is about a keyword applied to a value
# (1 to 7 us; see MEMBERS_PER_STEP). An order event under a typical schema takes ~16, so a batch
# of 1,000 ~16,000; a schema that re-applies itself (2^depth through two references, 3^depth
# through if/then) reaches the limit within a few seconds at most, where it would hold the
# process (and the GIL) for hours.
MAX_EVALUATION_STEPS = 200_000
# A pattern scan is charged a step per this many bytes x instructions of its worst case (about
# 40 us, where a step is 1 to 7): a name or an id checked against a pattern costs 1, a 10 KB
# text under ``^.{1,255}$`` (a width of 766) 1,900; an adversarial pattern of the largest width
# allowed (4,000) on texts crafted to defeat RE2's DFA stops within ~8 s of one core (outside
# the GIL), where it could scan for minutes per megabyte.
SCAN_UNITS_PER_STEP = 4_096


class UnevaluableSchemaError(Exception):
    """The schema cannot be evaluated on a document: endless recursion, a reference to nowhere,
    a pattern RE2 cannot run, or more work than the evaluation budget allows."""


class EvaluationBudget:
    """Keyword evaluations left (``docs/schemas.md``); shared by the evaluations it is armed for."""

    __slots__ = ("left",)

    def __init__(self, steps: int = MAX_EVALUATION_STEPS) -> None:
        self.left = steps


class _Armed(threading.local):
    budget: EvaluationBudget | None = None


_armed = _Armed()


class _Evaluating(contextlib.AbstractContextManager[EvaluationBudget]):
    """:func:`evaluating`'s block (a class, not ``contextlib.contextmanager``: it is entered for
    every payload checked, and a generator-based one costs several times as much)."""

    __slots__ = ("_budget", "_previous")

    def __init__(self, budget: EvaluationBudget | None = None) -> None:
        self._previous = _armed.budget
        self._budget = budget or self._previous or EvaluationBudget()

    def __enter__(self) -> EvaluationBudget:
        _armed.budget = self._budget
        return self._budget

    def __exit__(self, *exc_info: object) -> None:
        _armed.budget = self._previous


def evaluating(budget: EvaluationBudget | None = None) -> _Evaluating:
    """Charge the keyword evaluations of this thread to ``budget`` in the block; without one, to
    the budget of an enclosing block, else a new one. Outside any block (the metaschema checks,
    a caller of ``is_valid``) nothing is counted."""
    return _Evaluating(budget)


def _exhausted() -> UnevaluableSchemaError:
    return UnevaluableSchemaError(
        f"evaluating the schema takes more than {MAX_EVALUATION_STEPS:,} steps here (it re-applies "
        "itself, or too much data is checked at once): send fewer or smaller events, or simplify the schema"
    )


def _spend(steps: int) -> None:
    budget = _armed.budget
    if budget is not None:
        budget.left -= steps
        if budget.left < 0:
            raise _exhausted()


# A step is a keyword applied to a value (1 to 7 us), or this many members of a list or an object
# that a keyword goes through in a Python loop without applying a subschema (required's names,
# properties' names, the values enum and const compare).
MEMBERS_PER_STEP = 16
_CONTAINERS = (list, dict)
Weight = Callable[[Any, Any], int]  # (keyword value, instance) -> steps past the first


def _nodes(value: Any) -> int:
    """Values in ``value``, itself included (JSON nests at most 64 levels here)."""
    if isinstance(value, dict):
        return 1 + sum(_nodes(item) for item in value.values())
    if isinstance(value, list):
        return 1 + sum(_nodes(item) for item in value)
    return 1


def _listed_in_schema(value: Any, instance: Any) -> int:
    return len(value) // MEMBERS_PER_STEP if type(value) in _CONTAINERS else 0


def _each_item(value: Any, instance: Any) -> int:
    """A step per item: jsonschema's descent even into an empty subschema costs one."""
    return len(instance) if type(instance) is list else 0


def _each_member(value: Any, instance: Any) -> int:
    """A step per member of an object, as :func:`_each_item`."""
    return len(instance) if type(instance) is dict else 0


def _const(value: Any, instance: Any) -> int:
    return _nodes(instance) // MEMBERS_PER_STEP if type(instance) in _CONTAINERS else 0


def _enum(value: Any, instance: Any) -> int:
    members = len(value) if type(value) is list else 1
    walked = _nodes(instance) if type(instance) in _CONTAINERS else 1
    return members * walked // MEMBERS_PER_STEP


# What a keyword costs past its step, where it can cost more (the others cost about one).
_WEIGHTS: dict[str, Weight] = {
    "additionalItems": _each_item,
    "additionalProperties": _each_member,
    "const": _const,
    "contains": _each_item,
    "dependencies": _listed_in_schema,
    "dependentRequired": _listed_in_schema,
    "dependentSchemas": _listed_in_schema,
    "enum": _enum,
    "items": _each_item,
    "prefixItems": _each_item,
    "properties": _listed_in_schema,
    "propertyNames": _each_member,
    "required": _listed_in_schema,
    "unevaluatedItems": _each_item,
    "unevaluatedProperties": _each_member,
}


def _counted(keyword: Keyword, weight: Weight | None = None) -> Keyword:
    if weight is None:

        def evaluate(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
            budget = _armed.budget  # _spend(1), inlined: every keyword of every payload passes here
            if budget is not None:
                budget.left -= 1
                if budget.left < 0:
                    raise _exhausted()
            return keyword(validator, value, instance, schema)

        return evaluate

    def weighed(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
        budget = _armed.budget
        if budget is not None:
            budget.left -= 1 + weight(value, instance)
            if budget.left < 0:
                raise _exhausted()
        return keyword(validator, value, instance, schema)

    return weighed


# Keywords that apply subschemas to the same value: an error found n of them down passes through
# n Python generators, as dear as evaluating a keyword each, so each error they pass on is
# counted too. Through references and these, n has no bound but the budget; through the keywords
# that descend into the value (properties, items, ...), payloads nest at most 64 levels.
_IN_PLACE = frozenset(
    {
        *REFERENCE_KEYWORDS,
        "allOf",
        "anyOf",
        "dependencies",
        "dependentSchemas",
        "disallow",
        "extends",
        "if",
        "not",
        "oneOf",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)


def _relayed(error: ValidationError) -> ValidationError:
    _spend(1)
    return error


def _counted_in_place(keyword: Keyword, weight: Weight | None = None) -> Keyword:
    counted = _counted(keyword, weight)

    def evaluate(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
        errors = counted(validator, value, instance, schema)
        if errors is None or _armed.budget is None:
            return errors
        return map(_relayed, errors)  # not a generator: no frame of ours stays under the keyword's

    return evaluate


def _bounded(keyword: Keyword) -> Keyword:
    def follow(validator: Any, value: Any, instance: Any, schema: Any) -> Iterator[Any]:
        try:
            sys._getframe(MAX_EVALUATION_FRAMES)
        except ValueError:  # the stack is not that deep yet
            yield from keyword(validator, value, instance, schema)
            return
        raise UnevaluableSchemaError("the schema recurses without end (or too deeply) on this document")

    return follow


# --- patterns ---------------------------------------------------------------------------------


def _matches(pattern: str, text: str) -> bool:
    try:
        _spend(1 + scan_cost(pattern, text) // SCAN_UNITS_PER_STEP)  # before the scan, which is not interrupted
        return search(pattern, text)
    except PatternError as exc:
        raise UnevaluableSchemaError(f"{exc}: register a version of the schema without it") from exc


def pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """jsonschema's ``pattern`` (same message), on RE2."""
    if validator.is_type(instance, "string") and not _matches(patrn, instance):
        yield ValidationError(f"{instance!r} does not match {patrn!r}")


def pattern_properties(validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Any) -> Iterator[Any]:
    """jsonschema's ``patternProperties``, on RE2."""
    if not validator.is_type(instance, "object"):
        return
    for patrn, subschema in patterns.items():
        for key, value in instance.items():
            if _matches(patrn, key):
                yield from validator.descend(value, subschema, path=key, schema_path=patrn)


def _extras(extras: list[Any]) -> tuple[str, str]:
    """jsonschema's wording of a list of extra properties (``_utils.extras_msg``)."""
    return ", ".join(repr(extra) for extra in extras), "was" if len(extras) == 1 else "were"


def additional_properties(validator: Any, extra: Any, instance: Any, schema: Any) -> Iterator[Any]:
    """jsonschema's ``additionalProperties`` (same messages); the ``patternProperties`` it
    leaves out are matched on RE2."""
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extras = {key for key in instance if key not in properties and not any(_matches(patrn, key) for patrn in patterns)}
    if validator.is_type(extra, "object"):
        for key in extras:
            yield from validator.descend(instance[key], extra, path=key)
    elif not extra and extras:
        if "patternProperties" in schema:
            verb = "does" if len(extras) == 1 else "do"
            joined = ", ".join(repr(each) for each in sorted(extras))
            listed = ", ".join(repr(each) for each in sorted(patterns))
            yield ValidationError(f"{joined} {verb} not match any of the regexes: {listed}")
        else:
            listed, verb = _extras(sorted(extras))
            yield ValidationError(f"Additional properties are not allowed ({listed} {verb} unexpected)")


def _evaluated_keys(validator: Any, instance: Any, schema: Any, *, draft2019: bool) -> set[str]:
    """The keys of ``instance`` that ``schema`` evaluates (for ``unevaluatedProperties``), as
    jsonschema's ``find_evaluated_property_keys_by_schema`` (2020-12) or its draft 2019-09
    twin finds them, ``patternProperties`` matched on RE2."""
    _spend(1)
    if validator.is_type(schema, "boolean"):
        return set()
    keys: set[str] = set()

    def follow(target: Any) -> None:  # a resolved reference (jsonschema's private resolver, as its own)
        inner = validator.evolve(schema=target.contents, _resolver=target.resolver)
        keys.update(_evaluated_keys(inner, instance, target.contents, draft2019=draft2019))

    if "$ref" in schema:
        follow(validator._resolver.lookup(schema["$ref"]))
    if draft2019:
        if "$recursiveRef" in schema:
            follow(lookup_recursive_ref(validator._resolver))
        for keyword in ("properties", "additionalProperties", "unevaluatedProperties"):
            value = schema.get(keyword)
            if value is True:
                keys.update(instance)
            elif validator.is_type(value, "object"):
                keys.update(key for key in value if key in instance)
    else:
        if "$dynamicRef" in schema:  # looked up as a plain reference, as jsonschema does here
            follow(validator._resolver.lookup(schema["$dynamicRef"]))
        properties = schema.get("properties")
        if validator.is_type(properties, "object"):
            keys.update(properties.keys() & instance.keys())
        for keyword in ("additionalProperties", "unevaluatedProperties"):
            subschema = schema.get(keyword)
            if subschema is not None:
                keys.update(
                    key for key, value in instance.items() if next(validator.descend(value, subschema), None) is None
                )
    for patrn in schema.get("patternProperties", {}):
        keys.update(key for key in instance if _matches(patrn, key))
    for key, subschema in schema.get("dependentSchemas", {}).items():
        if key in instance:
            keys.update(_evaluated_keys(validator, instance, subschema, draft2019=draft2019))
    for keyword in ("allOf", "oneOf", "anyOf"):
        for subschema in schema.get(keyword, []):
            if next(validator.descend(instance, subschema), None) is None:
                keys.update(_evaluated_keys(validator, instance, subschema, draft2019=draft2019))
    if "if" in schema:
        if validator.evolve(schema=schema["if"]).is_valid(instance):
            keys.update(_evaluated_keys(validator, instance, schema["if"], draft2019=draft2019))
            if "then" in schema:
                keys.update(_evaluated_keys(validator, instance, schema["then"], draft2019=draft2019))
        elif "else" in schema:
            keys.update(_evaluated_keys(validator, instance, schema["else"], draft2019=draft2019))
    return keys


def _unevaluated_properties(*, draft2019: bool) -> Keyword:
    def unevaluated_properties(validator: Any, value: Any, instance: Any, schema: Any) -> Iterator[Any]:
        """jsonschema's ``unevaluatedProperties`` (same messages); patterns on RE2."""
        if not validator.is_type(instance, "object"):
            return
        evaluated = _evaluated_keys(validator, instance, schema, draft2019=draft2019)
        unevaluated = [  # a key once per error, as jsonschema lists them
            key
            for key in instance
            if key not in evaluated
            for _ in validator.descend(instance[key], value, path=key, schema_path=key)
        ]
        if not unevaluated:
            return
        if value is False:
            error = "Unevaluated properties are not allowed (%s %s unexpected)"
            yield ValidationError(error % _extras(sorted(unevaluated, key=str)))
        else:
            error = "Unevaluated properties are not valid under the given schema (%s %s unevaluated and invalid)"
            yield ValidationError(error % _extras(unevaluated))

    return unevaluated_properties


# --- multipleOf -------------------------------------------------------------------------------

# Enough digits for the exact remainder of any two doubles (exponents -324..308) and of a payload's
# 64-bit integers; a schema's own number may be longer, which the Fraction fallback takes.
_DECIMAL = decimal.Context(prec=700, traps=[decimal.InvalidOperation, decimal.DivisionByZero])


def multiple_of(validator: Any, step: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """``multipleOf`` (draft 3's ``divisibleBy``) on the numbers as their JSON text reads: a float
    is taken at its shortest round-trip decimal (``repr``: ``0.07``, not the binary double
    ``0.07000000000000000666…``), so ``0.07`` is a multiple of ``0.01``, which jsonschema's float
    quotient (7.000000000000001) refused; integers stay exact. Same message as jsonschema's."""
    if not validator.is_type(instance, "number"):
        return
    if isinstance(step, float) or isinstance(instance, float):
        try:
            failed = _DECIMAL.remainder(decimal.Decimal(repr(instance)), decimal.Decimal(repr(step))) != 0
        except (decimal.InvalidOperation, decimal.DivisionByZero):  # never expected: the metaschema wants step > 0
            failed = bool(Fraction(instance) % Fraction(step))
    else:
        failed = bool(instance % step)
    if failed:
        yield ValidationError(f"{instance!r} is not a multiple of {step}")


# --- uniqueItems ------------------------------------------------------------------------------


class _Boolean(enum.Enum):
    """``true`` and ``false`` in a frozen value: equal to nothing else (Python's ``True == 1``)."""

    FALSE = 0
    TRUE = 1


def frozen(value: Any) -> Hashable:
    """A hashable form of a JSON value, equal for exactly the values JSON Schema calls equal:
    numbers by value (``1 == 1.0``), booleans apart from numbers, arrays in order (a tuple),
    objects by their members whatever the order (a frozenset of pairs)."""
    if value is True or value is False:
        return _Boolean(value)
    if isinstance(value, list | tuple):
        return tuple(frozen(item) for item in value)
    if isinstance(value, dict):
        return frozenset((key, frozen(item)) for key, item in value.items())
    scalar: Hashable = value  # str, int, float, None: Python's equality and hash are JSON's
    return scalar


def unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """jsonschema's ``uniqueItems`` (same message), in linear time: the items' frozen forms go
    in a set (jsonschema sorts them, or compares every pair when they cannot be sorted)."""
    if unique and validator.is_type(instance, "array"):
        _spend(_nodes(instance) // MEMBERS_PER_STEP)
        if len({frozen(item) for item in instance}) < len(instance):
            yield ValidationError(f"{instance!r} has non-unique elements")


# --- the classes ------------------------------------------------------------------------------


def _runnable_regex(instance: object) -> bool:
    if isinstance(instance, str):
        problem = pattern_problem(instance)
        if problem is not None:
            raise PatternError(problem)
    return True


def _formats(draft: type[Validator], *, regex: bool) -> FormatChecker:
    """``draft``'s format checker with ``regex`` judged by RE2, or not at all."""
    checker = FormatChecker(formats=())
    checker.checkers = {name: check for name, check in draft.FORMAT_CHECKER.checkers.items() if name != "regex"}
    if regex:
        checker.checks("regex", raises=PatternError)(_runnable_regex)
    return checker


def _keywords(draft: type[Validator]) -> dict[str, Keyword]:
    keywords: dict[str, Keyword] = dict(draft.VALIDATORS)
    linear: dict[str, Keyword] = {
        "pattern": pattern,
        "patternProperties": pattern_properties,
        "additionalProperties": additional_properties,
        "uniqueItems": unique_items,
        "multipleOf": multiple_of,
        "divisibleBy": multiple_of,
        "unevaluatedProperties": _unevaluated_properties(draft2019=draft is Draft201909Validator),
    }
    keywords.update({name: keyword for name, keyword in linear.items() if name in keywords})
    keywords.update({name: _bounded(keywords[name]) for name in REFERENCE_KEYWORDS if name in keywords})
    return {
        name: (_counted_in_place if name in _IN_PLACE else _counted)(keyword, _WEIGHTS.get(name))
        for name, keyword in keywords.items()
    }


_DRAFTS: tuple[tuple[type[Validator], str], ...] = (
    (Draft3Validator, "draft3"),
    (Draft4Validator, "draft4"),
    (Draft6Validator, "draft6"),
    (Draft7Validator, "draft7"),
    (Draft201909Validator, "draft2019-09"),
    (Draft202012Validator, "draft2020-12"),
)
# Registered under each draft's metaschema URI as the version "<draft> bounded"
# (``Draft202012BoundedValidator``): ``validator_for`` answers them from now on.
_HARDENED: dict[type[Validator], type[Validator]] = {
    draft: extend(  # type: ignore[no-untyped-call]
        draft, validators=_keywords(draft), version=f"{name} bounded", format_checker=_formats(draft, regex=True)
    )
    for draft, name in _DRAFTS
}
# Formats of payloads are annotations here; where a caller asserts them, ``regex`` runs on RE2.
# Against a metaschema, a schema's patterns are left to registration's RE2 check
# (schemas.compatibility), which names where each is and why it cannot run, where the format
# error would only say "is not a 'regex'".
_METASCHEMA_FORMATS = {cls: _formats(draft, regex=False) for draft, cls in _HARDENED.items()}
_HARDENED.update({cls: cls for cls in list(_HARDENED.values())})


def hardened(cls: type[Validator]) -> type[Validator]:
    """The project's class for the draft ``cls`` validates (itself when it is one already)."""
    return _HARDENED[cls]


def metaschema_formats(meta: type[Validator]) -> FormatChecker:
    """The format checker to check a schema against ``meta`` (a class of :func:`hardened`) with:
    ``meta``'s formats but ``regex``."""
    return _METASCHEMA_FORMATS[meta]
