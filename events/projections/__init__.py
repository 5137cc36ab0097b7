"""Projections: read models built from a stream in sequence order (``docs/projections.md``).

A projection is a :class:`~events.projections.registry.Projection` registered by name. The
runner (:mod:`events.services.projections`) feeds it each event of a stream once: the handler's
writes and the checkpoint commit in one transaction. ``entity_state`` is built in.
"""

from events.projections.registry import Projection, ProjectionEvent, projection_get, projection_register, projections

__all__ = ["Projection", "ProjectionEvent", "projection_get", "projection_register", "projections"]
