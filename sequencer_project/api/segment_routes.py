"""URL patterns for operations whose path parameters are free text (an entity id, an event
type): routed on the segments the client sent, so ``%2F`` inside one stays part of the value
(:mod:`sequencer_project.api.path_segments`; docs/api.md, "Path parameters holding a slash").

Django resolves the decoded path, where ``/entities/order/ORD%2Fstate`` reads as the ``state`` of
entity ``ORD`` and ``/entities/order/ORD%2F1`` as no route at all. So the routes under one literal
prefix form a group (:func:`segment_routed`): each keeps its own URL pattern (``reverse()``, the
OpenAPI document, ``resolve()`` of an ordinary path), the last one also takes every other path
under the prefix, and whichever Django picks, the group serves the request from the sent segments:
the route whose shape they fit, with each parameter percent-decoded on its own, or the API's 404.
The request's ``resolver_match`` then names the route served (the metrics' route label), or is
``None`` when no route fits, as for any path nothing matched.

Routes here take ``<str:name>`` parameters and literal segments only; the group must be mounted
under a literal prefix (``api/v1/``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.urls import URLPattern
from django.urls.resolvers import ResolverMatch, RoutePattern

from sequencer_project.api.middleware import no_endpoint
from sequencer_project.api.path_segments import request_segments, segment_text

View = Callable[..., HttpResponseBase]
_PARAMETER = re.compile(r"<str:(\w+)>")


@dataclass(frozen=True)
class SegmentPath:
    """One operation of a group: its route below the group's prefix (``<str:entity_type>/state``),
    view and URL name, as ``path()`` takes them."""

    route: str
    view: View
    name: str
    # Per segment: the parameter's name, or None and the literal the segment must spell.
    template: tuple[tuple[str | None, str], ...] = field(init=False)

    def __post_init__(self) -> None:
        template = []
        for segment in self.route.split("/"):
            parameter = _PARAMETER.fullmatch(segment)
            if parameter is None and ("<" in segment or not segment):
                raise ValueError(f"{self.route!r}: only <str:name> parameters and literal segments route on segments")
            template.append((parameter[1], "") if parameter else (None, segment))
        object.__setattr__(self, "template", tuple(template))

    def fit(self, segments: list[str]) -> dict[str, str] | None:
        """The parameters when the sent ``segments`` have this route's shape, else ``None``."""
        if len(segments) != len(self.template):
            return None
        parameters = {}
        for segment, (name, literal) in zip(segments, self.template, strict=True):
            if name is None:
                if segment_text(segment) != literal:
                    return None
            elif not segment:
                return None  # as <str:...>: one character at least
            else:
                parameters[name] = segment_text(segment)
        return parameters


def segment_path(route: str, view: View, *, name: str) -> SegmentPath:
    """One route of :func:`segment_routed`, spelled as Django's ``path()``."""
    return SegmentPath(route, view, name)


def segment_routed(prefix: str, *paths: SegmentPath) -> list[URLPattern]:
    """The URL patterns of ``paths`` under ``prefix`` (literal, ending in ``/``), routed on the
    sent segments; place them where the routes' own patterns would go."""
    group = _Group(prefix, paths)
    return [_SegmentPattern(group, path, takes_the_rest=path is paths[-1]) for path in paths]


class _Group:
    def __init__(self, prefix: str, paths: tuple[SegmentPath, ...]) -> None:
        if not prefix.endswith("/") or "<" in prefix:
            raise ValueError(f"{prefix!r}: a group's prefix is literal and ends in '/'")
        self.prefix = prefix
        self.paths = paths
        self.views = {path.name: self._served_as(path) for path in paths}
        self.rest = self._served_as(None)

    def _served_as(self, picked: SegmentPath | None) -> View:
        """The view Django's resolve gives for a path it matched to ``picked`` (``None``: the rest
        of the prefix); it carries the route's view attributes (``view_class``, ``csrf_exempt``)."""

        def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            return self.serve(request, picked, kwargs)

        if picked is None:
            view.csrf_exempt = True  # type: ignore[attr-defined]  # as every API view
            return view
        return functools.update_wrapper(view, picked.view)

    def serve(self, request: HttpRequest, picked: SegmentPath | None, kwargs: dict[str, Any]) -> HttpResponseBase:
        """Serve ``request``, which Django routed to ``picked``, by its sent segments."""
        match = request.resolver_match
        matched_route = self.prefix + (picked.route if picked else "")
        if match is None or match.route is None or not match.route.endswith(matched_route):
            # Called without Django's resolve (no route to find the mount in): as it was called.
            return no_endpoint(request) if picked is None else picked.view(request, **kwargs)
        mount = match.route[: len(match.route) - len(matched_route)]
        segments = request_segments(request, "/" + mount + self.prefix) or []  # [] fits no route
        for path in self.paths:
            parameters = path.fit(segments)
            if parameters is not None:
                app_names: list[str | None] = [*match.app_names]
                namespaces: list[str | None] = [*match.namespaces]
                route = mount + self.prefix + path.route
                request.resolver_match = ResolverMatch(
                    self.views[path.name], (), parameters, path.name, app_names, namespaces, route
                )
                return path.view(request, **parameters)
        request.resolver_match = None  # no route: as a path nothing matched
        return no_endpoint(request)


class _SegmentPattern(URLPattern):
    """A group's route: its pattern as ``path()`` makes it; resolved to the group's view."""

    def __init__(self, group: _Group, path: SegmentPath, *, takes_the_rest: bool) -> None:
        super().__init__(
            RoutePattern(group.prefix + path.route, name=path.name, is_endpoint=True), path.view, {}, path.name
        )
        self.group = group
        self.takes_the_rest = takes_the_rest

    def resolve(self, path: str) -> ResolverMatch | None:
        match = self.pattern.match(path)
        if match:
            _, args, kwargs = match
            return ResolverMatch(
                self.group.views[self.name or ""],
                args,
                kwargs,
                self.name,
                route=str(self.pattern),
                captured_kwargs=kwargs,
                extra_kwargs={},
            )
        if self.takes_the_rest and path.startswith(self.group.prefix):
            return ResolverMatch(self.group.rest, (), {}, route=self.group.prefix, captured_kwargs={}, extra_kwargs={})
        return None
