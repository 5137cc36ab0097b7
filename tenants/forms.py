"""Form fields of the tenancy admin pages."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django import forms

from sequencer_project.api.fields import parse_uuid_text

_ASCII_INTEGER = re.compile(r"-?[0-9]+")


class AsciiIntegerField(forms.IntegerField):
    """An integer typed in ASCII digits (optional ``-``), as the API reads them
    (``sequencer_project.api.fields.ascii_int``).

    Django's ``IntegerField`` reads its text with ``int()``, which also takes other scripts'
    digits (``'٣'`` is 3), ``+``, ``_`` and a ``.0`` suffix: a key id typed so would be stored as
    another number than the one shown. Give it ``min_value`` and ``max_value``: a value outside
    them is a form error, never a number PostgreSQL wraps or refuses.
    """

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        try:
            if _ASCII_INTEGER.fullmatch(text):
                return int(text)  # its range: min_value and max_value
        except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
            pass
        raise forms.ValidationError("Enter a whole number in ASCII digits (0-9).", code="invalid")


class AsciiUUIDField(forms.UUIDField):
    """A UUID typed in ASCII, as the API reads ids (``sequencer_project.api.fields.parse_uuid_text``).

    Django's ``UUIDField`` reads its text with ``uuid.UUID``, whose hex parsing also takes other
    scripts' digits: U+0661 ARABIC-INDIC DIGIT ONE in place of a 1 was read as that 1, an agent the operator
    never typed, where the API refuses it."""

    def to_python(self, value: Any) -> uuid.UUID | None:  # type: ignore[override]  # as the stubs UUIDField
        if value in self.empty_values:
            return None
        if isinstance(value, uuid.UUID):
            return value
        parsed = parse_uuid_text(str(value).strip())
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed
