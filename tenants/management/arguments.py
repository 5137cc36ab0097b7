"""Checks the tenants app's management commands share for their arguments."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


def field_value(model: type[Any], field: str, value: str, *, option: str) -> str:
    """``value`` as the model's field takes it (not blank, within its length, its validators),
    else a :class:`CommandError` naming ``option``: never a database error's traceback. Blank
    means white space too, as the API's text fields read it (``sequencer_project.api.fields``)."""
    try:
        return str(model._meta.get_field(field).clean(value if value.strip() else "", None))
    except ValidationError as exc:
        raise CommandError(f"{option}: {' '.join(exc.messages)}") from exc
