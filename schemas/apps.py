from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


def check_validation_mode(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Refuse to start with an unknown ``SCHEMA_VALIDATION_MODE`` spelling."""
    from schemas.modes import parse_mode

    if parse_mode(settings.SCHEMA_VALIDATION_MODE) is None:
        return [
            checks.Error(
                f"SCHEMA_VALIDATION_MODE={settings.SCHEMA_VALIDATION_MODE!r} is not a known mode",
                hint="Use disabled, warn, enforce or required (aliases: docs/schemas.md).",
                id="schemas.E001",
            )
        ]
    return []


class SchemasConfig(AppConfig):
    name = "schemas"

    def ready(self) -> None:
        checks.register(check_validation_mode)
