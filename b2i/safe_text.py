"""Control and bidirectional characters in text the engine and console print, made visible.

A carriage return or line feed in user data (a file name, an archive entry, a registry's
answer) would forge a progress or log line of its own ("x\\r\\nBuild completed successfully"),
ANSI escapes repaint terminals, and bidi controls (U+202E RIGHT-TO-LEFT OVERRIDE...) show text
other than what is there. `escape_unsafe_characters` turns each into a visible escape, so one
printed line is exactly one line.
"""

from __future__ import annotations

import re

# The Unicode line and paragraph separators, and the bidi marks, embeddings, overrides and
# isolates: refused or escaped like the C0 and C1 controls.
BIDI_AND_SEPARATORS = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
# Everything but printable text, tab included (names): C0, DEL, C1, bidi, separators.
UNSAFE_CHARACTERS = re.compile(f"[\x00-\x1f\x7f-\x9f{BIDI_AND_SEPARATORS}]")
# A printed line keeps its tabs.
UNSAFE_IN_LINE = re.compile(f"[\x00-\x08\x0a-\x1f\x7f-\x9f{BIDI_AND_SEPARATORS}]")
_NAMED_ESCAPES = {"\r": "\\r", "\n": "\\n"}


def escape_unsafe_characters(text: str) -> str:
    """Return TEXT as one line: every control or bidi character (not tab) as a visible escape."""
    return UNSAFE_IN_LINE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
