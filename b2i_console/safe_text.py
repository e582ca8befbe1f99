"""Control and bidirectional characters in names: refused (validators for serializers).

Names reach pages and logs; a line break forges log lines, bidi controls show a name other
than the stored one ("invoice\\u202eraj.exe"). Text the console writes to a build log is made
safe by b2i.safe_text.escape_unsafe_characters (builders/logs.py).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from b2i.safe_text import BIDI_AND_SEPARATORS, UNSAFE_CHARACTERS

# Free text (descriptions) keeps its line breaks and tabs; nothing else.
UNSAFE_IN_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{BIDI_AND_SEPARATORS}]")
UNSAFE_MESSAGE = _(
    "Control characters (such as line breaks or escapes) and bidirectional-text controls "
    "are not allowed."
)


def has_unsafe_characters(name: str) -> bool:
    return UNSAFE_CHARACTERS.search(name) is not None


def reject_unsafe_characters(value: str) -> None:
    """Validate a one-line name: no control or bidi characters at all."""
    if has_unsafe_characters(value):
        raise ValidationError(UNSAFE_MESSAGE, code="unsafe-characters")


def reject_unsafe_in_text(value: str) -> None:
    """Validate free text: line breaks and tabs allowed, other controls and bidi refused."""
    if UNSAFE_IN_TEXT.search(value):
        raise ValidationError(UNSAFE_MESSAGE, code="unsafe-characters")
