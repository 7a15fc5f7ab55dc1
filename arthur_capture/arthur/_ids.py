"""IDs that go into a request path (model ID, batch ID): checked, then quoted as one segment.

A model ID of ``..`` would turn ``/api/v3/models/../inferences`` into ``/api/v3/inferences``
on the way out (clients and proxies normalise dot segments); a ``/`` or ``?`` would change
the path or start a query. Such IDs are refused with a clear error; the others are quoted
whole (``urllib.parse.quote(..., safe="")``), so every character is data.
"""

from __future__ import annotations

import urllib.parse
from typing import Final

__all__ = ["MAX_ID_LENGTH", "check_id", "path_segment"]

MAX_ID_LENGTH: Final = 1024
"""Longest ID put in a path (Arthur's model IDs are UUIDs; batch IDs are short names)."""


def check_id(value: object, what: str) -> str:
    """``value`` if it can name a path segment.

    Raises:
        ValueError: It is not a string, is empty, ``.`` or ``..``, holds ``/`` or ``\\``, a
            control or other non-printable character, starts or ends with whitespace, or is
            longer than :data:`MAX_ID_LENGTH`.
    """
    if not isinstance(value, str):
        raise ValueError(f"the {what} must be a string, not {type(value).__name__}")  # noqa: TRY004
    if not value:
        raise ValueError(f"the {what} is empty")
    if value in (".", ".."):
        raise ValueError(f"the {what} {value!r} is not an ID (a dot segment would change the path)")
    if "/" in value or "\\" in value:
        raise ValueError(f"the {what} must not hold '/' or a backslash")
    if not value.isprintable():
        raise ValueError(f"the {what} holds a control or non-printable character")
    if value != value.strip():
        raise ValueError(f"the {what} starts or ends with whitespace")
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"the {what} is longer than {MAX_ID_LENGTH} characters")
    return value


def path_segment(value: object, what: str) -> str:
    """``value`` checked by :func:`check_id`, percent-quoted as one path segment."""
    return urllib.parse.quote(check_id(value, what), safe="")
