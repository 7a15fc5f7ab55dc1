"""A token holder that never shows its value: for the uploader and the local Arthur server."""

from __future__ import annotations

import hmac
from typing import Final, NoReturn

__all__ = ["REDACTED", "Secret"]

REDACTED: Final = "***"
"""What a secret is shown as."""


class Secret:
    """A secret string (an Arthur API key or JWT) whose ``repr`` and ``str`` are redacted.

    Only :meth:`reveal` gives the value back; it is called in one place, where the
    ``Authorization`` header is set. Secrets cannot be pickled or copied into logs by
    accident: formatting one gives ``***``.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        """Wrap a token.

        Raises:
            ValueError: The token is empty, or holds whitespace, control or non-ASCII
                characters (it could not be sent as a header; the value is not shown).
        """
        if not isinstance(value, str) or not value:
            raise ValueError("the Arthur token is empty")
        if not value.isascii() or not value.isprintable() or any(c.isspace() for c in value):
            raise ValueError(
                "the Arthur token holds whitespace, control or non-ASCII characters "
                "(the value is not shown)"
            )
        self._value = value

    def reveal(self) -> str:
        """The token itself: use it for the header and nowhere else."""
        return self._value

    def matches(self, candidate: str | None) -> bool:
        """Whether ``candidate`` equals the token (compared in constant time)."""
        if candidate is None:
            return False
        return hmac.compare_digest(candidate.encode("utf-8", "replace"), self._value.encode())

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the token replaced by ``***``."""
        return text.replace(self._value, REDACTED) if self._value in text else text

    def __repr__(self) -> str:
        """Redacted."""
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        """Redacted."""
        return REDACTED

    def __format__(self, spec: str) -> str:
        """Redacted, whatever the format spec."""
        return REDACTED

    def __eq__(self, other: object) -> bool:
        """Equal to another secret with the same value (compared in constant time)."""
        if not isinstance(other, Secret):
            return NotImplemented
        return self.matches(other._value)

    def __hash__(self) -> int:
        """Secrets are hashed by identity class only, so the hash reveals nothing."""
        return hash(Secret)

    def __reduce__(self) -> NoReturn:
        """Refuse to be pickled (a pickle would hold the token in clear)."""
        raise TypeError("a Secret cannot be pickled")
