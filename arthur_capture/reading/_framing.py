"""Framing, sans-IO: bytes in, physical lines out.

A :class:`LineFramer` is fed the bytes of one source in pieces of any size and hands back
each physical line (split on ``\\n`` only, never on a lone ``\\r``) with its 1-based number,
the byte offset of its start and a :class:`Status`. It never reads or opens anything: the
sources (:mod:`arthur_capture.reading._sources`) read, undo gzip and feed it.

Memory stays bounded: a line longer than ``max_line_bytes`` is never joined; only its first
64 KiB are kept (for the reject), and the rest is counted and dropped.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = ["RAW_KEEP", "Frame", "LineFramer", "Status", "frame_lines"]

RAW_KEEP: Final = 64 * 1024
"""How much of an over-long line a reject keeps in ``raw``."""

_BOM: Final = b"\xef\xbb\xbf"


class Status(enum.Enum):
    """What framing found for one physical line."""

    OK = "ok"
    """A line ended by ``\\n`` (or given whole, as one of :func:`frame_lines`' items)."""
    UNTERMINATED = "unterminated"
    """The source's last line, without a ``\\n``: it may have been cut off."""
    TOO_LARGE = "too_large"
    """Longer than ``max_line_bytes``; ``raw`` holds its first bytes (at most 64 KiB)."""
    TRUNCATED_GZIP = "truncated_gzip"
    """The gzip stream ended early; ``raw`` is what the reader keeps of the line it stands for."""
    BAD_GZIP = "bad_gzip"
    """The gzip stream is corrupt; ``detail`` holds the decompressor's message."""
    BAD_TEXT = "bad_text"
    """A ``str`` line with characters UTF-8 cannot encode (lone surrogates)."""


class Frame(NamedTuple):
    """One physical line of a source."""

    line_number: int
    """1-based line number."""
    offset: int
    """Byte offset of the line's start (after a BOM at byte 0, which is skipped)."""
    raw: bytes
    """The line's bytes without its ``\\n``."""
    status: Status
    """What framing found."""
    detail: str = ""
    """For a gzip error, the decompressor's own words."""


class LineFramer:
    """Splits a byte stream fed in pieces into :class:`Frame` objects.

    Args:
        max_line_bytes: Longer lines come out as :attr:`Status.TOO_LARGE`.

    Feed the source's bytes with :meth:`feed`, then call :meth:`end` (the whole source was
    fed) or :meth:`fail` (reading stopped on a gzip error). A UTF-8 BOM at byte 0 is skipped.
    """

    __slots__ = (
        "_bom_decided",
        "_keep",
        "_kept",
        "_max",
        "_pending",
        "_pending_size",
        "_skipping",
        "line_number",
        "offset",
    )

    def __init__(self, max_line_bytes: int) -> None:
        """Start framing a new source."""
        self._max = max_line_bytes
        self._keep = min(max_line_bytes + 1, RAW_KEEP)
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._skipping = False
        self._kept = b""
        self._bom_decided = False
        self.line_number = 0
        """Lines framed so far."""
        self.offset = 0
        """Where the next line starts."""

    def feed(self, data: bytes) -> Iterator[Frame]:
        """Take the next bytes of the source; yield every line they complete."""
        if not self._bom_decided:
            data = self._strip_bom(data)
            if not self._bom_decided:
                return
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                self._hold(data[start:] if start else data)
                return
            yield self._complete(data[start:end], terminated=True)
            start = end + 1

    def end(self) -> Iterator[Frame]:
        """The source ended: yield its last line when it had no ``\\n``."""
        if not self._bom_decided:
            self._bom_decided = True
            held, self._pending, self._pending_size = b"".join(self._pending), [], 0
            if held:
                self._hold(held)
        if self._pending_size or self._skipping:
            yield self._complete(b"", terminated=False)

    @property
    def partial(self) -> bool:
        """Whether bytes of a line not ended yet were fed (a cut now falls inside a line)."""
        return bool(self._pending_size or self._skipping)

    def fail(self, status: Status, raw: bytes = b"", detail: str = "") -> Iterator[Frame]:
        """Reading stopped on an error: yield the frame that reports it, where the next line starts.

        A line already longer than ``max_line_bytes`` comes first, as :attr:`Status.TOO_LARGE`:
        the bytes read prove it too long, whatever follows. Any other partial line read before
        the error is dropped: its bytes cannot be trusted.
        """
        if self._skipping:
            yield self._complete(b"", terminated=False)
        self._pending, self._pending_size = [], 0
        self._skipping, self._kept = False, b""
        self.line_number += 1
        yield Frame(self.line_number, self.offset, raw, status, detail)

    def _strip_bom(self, data: bytes) -> bytes:
        """Wait for three bytes to decide whether the source starts with a BOM."""
        if self._pending:
            data = b"".join(self._pending) + data
            self._pending, self._pending_size = [], 0
        if len(data) < len(_BOM) and _BOM.startswith(data):
            self._pending, self._pending_size = [data], len(data)
            return b""
        self._bom_decided = True
        if data.startswith(_BOM):
            self.offset = len(_BOM)
            return data[len(_BOM) :]
        return data

    def _hold(self, piece: bytes) -> None:
        """Keep the start of a line that has not ended yet (never more than the limit)."""
        if not piece:
            return
        if self._skipping:
            self._pending_size += len(piece)
            return
        self._pending.append(piece)
        self._pending_size += len(piece)
        if self._pending_size > self._max:
            self._kept = _head_of(self._pending, self._keep)
            self._pending = []
            self._skipping = True

    def _complete(self, tail: bytes, *, terminated: bool) -> Frame:
        self.line_number += 1
        start = self.offset
        if self._skipping:
            size = self._pending_size + len(tail)
            raw, status = self._kept, Status.TOO_LARGE
            self._skipping, self._kept = False, b""
        else:
            if self._pending:
                self._pending.append(tail)
                line = b"".join(self._pending)
            else:
                line = tail
            size = len(line)
            if size > self._max:
                raw, status = line[: self._keep], Status.TOO_LARGE
            else:
                raw, status = line, Status.OK if terminated else Status.UNTERMINATED
        self._pending, self._pending_size = [], 0
        self.offset = start + size + (1 if terminated else 0)
        return Frame(self.line_number, start, raw, status)


def _head_of(pieces: list[bytes], size: int) -> bytes:
    """The first ``size`` bytes of ``pieces`` joined, without joining the rest."""
    head: list[bytes] = []
    taken = 0
    for piece in pieces:
        head.append(piece[: size - taken])
        taken += len(head[-1])
        if taken >= size:
            break
    return b"".join(head)


def frame_lines(lines: Iterable[bytes | str], max_line_bytes: int) -> Iterator[Frame]:
    """Frame lines given one by one (``bytes`` or ``str``); an item may hold several lines.

    Each item is a whole line whether or not it ends with ``\\n``; a ``\\n`` inside an item
    splits it. A BOM is skipped at the start of the first item only.
    """
    offset = 0
    line_number = 0
    for item in lines:
        status = Status.OK
        if isinstance(item, str):
            try:
                data = item.encode("utf-8")
            except UnicodeEncodeError:
                data = item.encode("utf-8", "surrogatepass")
                status = Status.BAD_TEXT
        else:
            data = bytes(item)
        if line_number == 0 and data.startswith(_BOM):
            data = data[len(_BOM) :]
            offset += len(_BOM)
        parts = data.split(b"\n")
        if len(parts) > 1 and parts[-1] == b"":
            parts.pop()
        for part in parts:
            line_number += 1
            if len(part) > max_line_bytes:
                yield Frame(line_number, offset, part[:RAW_KEEP], Status.TOO_LARGE)
            else:
                yield Frame(line_number, offset, part, status)
            offset += len(part) + 1
