"""Local-only references and metaschemas for every JSON Schema validator (``docs/schemas.md``).

jsonschema's default registry retrieves any ``$ref`` it cannot resolve over ``urllib``, with no
timeout: a registered schema could make the server fetch an arbitrary URL and echo the answer
in validation errors. Every validator the project builds takes its draft from
:func:`validator_class` (bundled drafts only: ``$schema`` is never fetched) and gets
:data:`LOCAL_REGISTRY`, whose ``retrieve`` refuses every URI, so a reference resolves only
inside the schema (or, for a schema stored before registration refused them, to a metaschema
bundled with jsonschema). Registration goes further with :func:`unresolvable_reference`: every
reference must resolve inside the schema itself (a JSON Pointer, or a ``$id``, ``$anchor`` or
``$dynamicAnchor`` declared in it). The classes are the drafts as :mod:`schemas.evaluation`
bounds them (patterns on RE2, linear ``uniqueItems``, an evaluation budget).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import referencing
import referencing.jsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from referencing.exceptions import NoSuchResource, Unresolvable

from schemas.evaluation import hardened, metaschema_formats

if TYPE_CHECKING:
    from referencing._core import Resolver  # not re-exported by the package; only annotated here

__all__ = [
    "LOCAL_REGISTRY",
    "SubschemaDraftError",
    "UnknownDraftError",
    "metaschema_error",
    "subschemas",
    "unresolvable_reference",
    "validator_class",
]

_REFERENCE_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")
_QUOTED_MAX = 200


def _refuse_to_retrieve(uri: str) -> referencing.Resource[Any]:
    """Never fetch: a URI that is neither in the schema nor a bundled metaschema resolves nowhere."""
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # attrs field


# Nothing but what a validator registers itself: its schema's resources, and (jsonschema adds
# them to any registry it is given) the metaschemas bundled with jsonschema.
LOCAL_REGISTRY: referencing.jsonschema.SchemaRegistry = referencing.Registry(
    retrieve=_refuse_to_retrieve,  # type: ignore[call-arg]  # attrs alias
)


def _dialect(cls: type[Validator]) -> str:
    """The URI of ``cls``'s metaschema (``$id``; ``id`` before draft 6)."""
    return str(cls.META_SCHEMA.get("$id", cls.META_SCHEMA.get("id", "")))


class UnknownDraftError(Exception):
    """``$schema`` names no draft bundled with jsonschema (metaschemas are never fetched)."""


class SubschemaDraftError(Exception):
    """A subschema that declares its own ``$schema`` is not valid under that draft's metaschema
    (the root's metaschema does not look inside it the way its own draft reads it)."""


def validator_class(schema: Any, *, strict: bool = True) -> type[Validator]:
    """The draft ``schema``'s ``$schema`` names (2020-12 when absent), from the bundled drafts, as
    :func:`schemas.evaluation.hardened` bounds it.

    ``$schema`` is looked up among jsonschema's own drafts (``validator_for``: no fetch; with or
    without its trailing ``#``). An unknown one raises
    :class:`UnknownDraftError` when ``strict`` (registration), else falls back to 2020-12 (a
    schema stored before unknown drafts were refused keeps validating as it did).
    """
    declared = schema.get("$schema") if isinstance(schema, dict) else None
    if declared is None:
        return hardened(Draft202012Validator)
    # default=None: jsonschema hands the default back as is (its stub wants a class)
    found = validator_for(schema, default=cast("type[Validator]", None)) if isinstance(declared, str) else None
    if found is not None:
        return hardened(found)
    if strict:
        raise UnknownDraftError(
            f"$.$schema: {_quoted(declared)} is not the URI of a JSON Schema draft this server bundles "
            "(draft 3 to 2020-12); metaschemas are never fetched"
        )
    return hardened(Draft202012Validator)


def metaschema_error(cls: type[Validator], schema: Any) -> SchemaError | None:
    """The first error of ``schema`` against ``cls``'s metaschema, as jsonschema's
    ``check_schema`` finds it, but resolved through :data:`LOCAL_REGISTRY`, and with patterns
    (``format: regex``) left to RE2's check at registration, which says why one cannot run."""
    meta = hardened(validator_for(cls.META_SCHEMA, default=cls))
    checker = meta(cls.META_SCHEMA, format_checker=metaschema_formats(meta), registry=LOCAL_REGISTRY)
    for error in checker.iter_errors(schema):
        return SchemaError.create_from(error)
    return None


def _quoted(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _QUOTED_MAX else text[: _QUOTED_MAX - 3] + "..."


Location = tuple[str | int, ...]  # keys and indexes from a schema's root


def _child_locations(contents: Any) -> dict[int, Location]:
    """Where the objects one or two levels under ``contents`` sit (as subschemas do: ``("not",)``,
    ``("properties", "a")``, ``("allOf", 0)``), by ``id``."""
    found: dict[int, Location] = {}
    if not isinstance(contents, dict):
        return found
    for key, value in contents.items():
        found.setdefault(id(value), (key,))
        if isinstance(value, dict):
            for sub_key, sub in value.items():
                found.setdefault(id(sub), (key, sub_key))
        elif isinstance(value, list):
            for index, sub in enumerate(value):
                found.setdefault(id(sub), (key, index))
    return found


def _json_path(path: str, location: Location) -> str:
    """``path`` (``$.properties``) extended by ``location`` (``$.properties.a``, ``$.allOf[0]``)."""
    return path + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location)


def _check_own_draft(contents: Any, path: str) -> None:
    """Refuse a subschema at ``path`` whose own ``$schema`` names an unknown draft or whose body
    that draft's metaschema refuses (``{"$schema": draft-04, "items": true}`` under a 2020-12
    root: draft 4 has no boolean subschemas), before its subschemas are walked by its draft's
    rules. Raises :class:`UnknownDraftError` or :class:`SubschemaDraftError`."""
    if not isinstance(contents, dict) or "$schema" not in contents:
        return
    declared = contents["$schema"]
    found = validator_for(contents, default=cast("type[Validator]", None)) if isinstance(declared, str) else None
    if found is None:
        raise UnknownDraftError(
            f"{path}.$schema: {_quoted(declared)} is not the URI of a JSON Schema draft this server bundles "
            "(draft 3 to 2020-12); metaschemas are never fetched"
        )
    error = metaschema_error(hardened(found), contents)
    if error is not None:
        where = path + error.json_path.removeprefix("$")
        raise SubschemaDraftError(f"{where}: {error.message} (under the draft its $schema names, {_quoted(declared)})")


def _specification(cls: type[Validator]) -> referencing.Specification[Any]:
    return referencing.jsonschema.specification_with(
        _dialect(cls) or "urn:unknown-dialect", default=referencing.Specification.OPAQUE
    )


class UnwalkableSchemaError(Exception):
    """A keyword's value has a shape ``referencing`` cannot walk for subschemas, though the draft
    allows it: draft 3's ``extends`` as one schema (the library walks only its array form)."""


def _subresources(resource: referencing.Resource[Any], path: str) -> list[referencing.Resource[Any]]:
    """``resource``'s subresources, or :class:`UnwalkableSchemaError` naming ``path`` where the
    library fails on a shape it does not expect (an ``AttributeError`` inside it, never a 500)."""
    try:
        return list(resource.subresources())
    except (AttributeError, TypeError) as exc:
        raise UnwalkableSchemaError(
            f"{path}: a keyword here has a form this service cannot walk for subschemas ({exc}); with draft 3,"
            " write `extends` as an array of schemas (`[{...}]`), which means the same"
        ) from None


def subschemas(cls: type[Validator], schema: Any) -> Iterator[tuple[Location, Any]]:
    """Every subschema of ``schema`` under the keywords ``cls``'s draft defines (``$defs``,
    ``properties``, ``items``, ``allOf``, ...) with its location, the root (``()``) included.

    References are not followed: a subschema only a reference reaches (one under a keyword the
    draft does not define) is not visited. Iterative; bodies nest at most 64 levels.
    """
    stack: list[tuple[referencing.Resource[Any], Location]] = [(_specification(cls).create_resource(schema), ())]
    while stack:
        resource, location = stack.pop()
        if location:
            _check_own_draft(resource.contents, _json_path("$", location))
        yield location, resource.contents
        below = _child_locations(resource.contents)
        subresources = _subresources(resource, _json_path("$", location))
        stack.extend((sub, location + below.get(id(sub.contents), ())) for sub in reversed(subresources))


def _dangling(
    root: referencing.Resource[Any],
    resolver: Resolver[Any],
    specification: referencing.Specification[Any],
) -> Iterator[tuple[str, str, str]]:
    """``(path, keyword, reference)`` of each reference reachable from ``root`` that resolves nowhere.

    Walks the subschemas the draft defines, and the target of every reference that resolves (a
    pointer can reach a subschema under a keyword the draft does not define), as validation
    would descend into them. Each object is visited once; iterative, so a long chain of
    references cannot exhaust the stack. A reference this misses still cannot fetch: the
    validators' registry refuses every retrieval.
    """
    seen: dict[int, Any] = {}  # id -> object, kept alive so that ids are not reused
    stack: list[tuple[referencing.Resource[Any], Resolver[Any], str]] = [(root, resolver, "$")]
    while stack:
        resource, resolver, path = stack.pop()
        contents = resource.contents
        if id(contents) in seen:
            continue
        seen[id(contents)] = contents
        if path != "$":
            _check_own_draft(contents, path)
        if isinstance(contents, dict):
            for keyword in _REFERENCE_KEYWORDS:
                reference = contents.get(keyword)
                if not isinstance(reference, str):
                    continue
                try:
                    resolved = resolver.lookup(reference)
                except (Unresolvable, ValueError):  # ValueError: a URI urllib cannot split
                    yield path, keyword, reference
                    continue
                target = referencing.Resource.from_contents(resolved.contents, default_specification=specification)
                stack.append((target, resolved.resolver, f"{path}.{keyword} -> {reference!r}"))
        below = _child_locations(contents)
        stack.extend(
            (sub, resolver.in_subresource(sub), _json_path(path, below.get(id(sub.contents), ())))
            for sub in _subresources(resource, path)
        )


def unresolvable_reference(cls: type[Validator], schema: Any) -> str | None:
    """Why a reference of ``schema`` (validated by ``cls``) cannot be followed, or ``None``.

    Only references inside the schema resolve (not even the bundled metaschemas); nothing is
    fetched.
    """
    specification = _specification(cls)
    root = specification.create_resource(schema)
    base = root.id() or ""
    # Crawled once up front: a resolver over an uncrawled registry crawls the whole schema again
    # on every lookup.
    resolver = LOCAL_REGISTRY.with_resource(base, root).crawl().resolver(base_uri=base)
    for path, keyword, reference in _dangling(root, resolver, specification):
        return (
            f"{path}.{keyword}: {_quoted(reference)} does not resolve inside the schema; only local "
            "references are followed (a JSON Pointer such as '#/$defs/name', or a $id or $anchor "
            "declared in the schema), never fetched"
        )
    return None
