"""A token holder that never shows its value: for the uploader and the local Arthur server."""

from __future__ import annotations

import hmac
from typing import Final, NoReturn

__all__ = ["FRAGMENT", "REDACTED", "Secret"]

REDACTED: Final = "***"
"""What a secret is shown as."""
FRAGMENT: Final = 8
"""A piece of the token this long or longer is redacted too (a server may echo part of it)."""


class Secret:
    """A secret string (an Arthur API key or JWT) whose ``repr`` and ``str`` are redacted.

    Only :meth:`reveal` gives the value back; it is called in one place, where the
    ``Authorization`` header is set. Secrets cannot be pickled or copied into logs by
    accident: formatting one gives ``***``.
    """

    __slots__ = ("_pieces", "_value")

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
        self._pieces = frozenset(value[i : i + FRAGMENT] for i in range(len(value) - FRAGMENT + 1))

    def reveal(self) -> str:
        """The token itself: use it for the header and nowhere else."""
        return self._value

    def matches(self, candidate: str | None) -> bool:
        """Whether ``candidate`` equals the token (compared in constant time)."""
        if candidate is None:
            return False
        return hmac.compare_digest(candidate.encode("utf-8", "replace"), self._value.encode())

    def redact(self, text: str) -> str:
        """``text`` with the token, and every piece of it of :data:`FRAGMENT` or more
        characters, replaced by ``***``.

        Pieces count because a server may echo part of the token (its own message cut short,
        a header split, an escape in the middle): no 8 consecutive characters of the token
        are ever shown. A token shorter than that is replaced where it appears whole.
        """  # noqa: D205 - the summary reads as one sentence
        return self._masked(text, len(text))

    def shown(self, text: str, limit: int) -> str:
        """``text`` as it may be shown: redacted *first*, then cut to ``limit`` characters.

        Cutting first could leave the beginning of a token that straddles the cut; here a
        token (or a piece of it) anywhere in the first ``limit`` characters is ``***``.
        """
        return self._masked(text[: limit + len(self._value)], limit)

    def _masked(self, text: str, limit: int) -> str:
        """The first ``limit`` characters of ``text`` (by their original positions).

        Every span holding the token or a piece of it is replaced by ``***``.
        """
        spans = self._spans(text)
        if not spans:
            return text[:limit]
        out: list[str] = []
        position = 0
        for start, end in spans:
            if start >= limit:
                break
            out.append(text[position:start])
            out.append(REDACTED)
            position = end
        if position < limit:
            out.append(text[position:limit])
        return "".join(out)

    def _spans(self, text: str) -> list[tuple[int, int]]:
        """Where the token or its pieces are in ``text``: sorted, merged ``[start, end)``."""
        value = self._value
        found: list[tuple[int, int]] = []
        if len(value) < FRAGMENT:
            start = text.find(value)
            while start >= 0:
                found.append((start, start + len(value)))
                start = text.find(value, start + len(value))
            return found
        pieces = self._pieces
        for start in range(len(text) - FRAGMENT + 1):
            if text[start : start + FRAGMENT] in pieces:
                end = start + FRAGMENT
                if found and start <= found[-1][1]:
                    found[-1] = (found[-1][0], end)
                else:
                    found.append((start, end))
        return found

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
