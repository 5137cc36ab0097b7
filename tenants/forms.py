"""Form fields of the tenancy admin pages."""

from __future__ import annotations

import re
from typing import Any

from django import forms

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
