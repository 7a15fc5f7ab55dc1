"""Sources: what the reader reads, opened and undone (gzip) into frames.

A source is a path (``str`` or ``os.PathLike``), the bytes of a file, a binary file object
(anything with ``read``), :class:`Lines` (lines given one by one) or :class:`Named` (any of
these under another name). A list or tuple of sources is read source after source. Nothing
else is guessed: an iterable of ``str`` is not taken for lines.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias, runtime_checkable

from arthur_capture.errors import InvalidSourceError, SourceError
from arthur_capture.reading._framing import Frame, LineFramer, Status, frame_lines

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Iterator

__all__ = ["Lines", "Named", "Readable", "Source", "frames_of", "name_of", "sources_of"]

_GZIP_MAGIC: Final = b"\x1f\x8b"
_READ_CHUNK: Final = 1 << 20


@runtime_checkable
class Readable(Protocol):
    """A binary stream: anything with ``read(n)`` returning bytes.

    A file, a socket file, an S3 ``StreamingBody`` of any botocore version.
    """

    def read(self, size: int = ..., /) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end."""
        ...


@dataclass(frozen=True, slots=True)
class Lines:
    """Capture lines given one by one (``bytes`` or ``str``), read as one source.

    Each item is one line, with or without its ``\\n``; an item holding ``\\n`` is split.
    """

    lines: Iterable[bytes | str]
    """The lines."""
    name: str = "<lines>"
    """The source name rejects and records carry."""


@dataclass(frozen=True, slots=True)
class Named:
    """A source read under a name of your choosing (an S3 URI, a path it came from)."""

    source: Source
    """The source itself."""
    name: str
    """The name rejects and records carry."""


Source: TypeAlias = (
    "str | os.PathLike[str] | bytes | bytearray | Readable | Lines | Named"
    " | list[Source] | tuple[Source, ...]"
)
"""What the reader takes: a path, the bytes of a file, a binary file object, :class:`Lines`,
:class:`Named`, or a list or tuple of these (read in order)."""


def sources_of(items: Iterable[Any]) -> Iterator[Source]:
    """The sources given, with lists and tuples of sources flattened.

    Raises:
        InvalidSourceError: An item is not a source.
    """
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from sources_of(item)
        elif isinstance(item, Named):  # what it names is checked too; a list, source by source
            yield from (Named(inner, item.name) for inner in sources_of([item.source]))
        elif isinstance(item, (str, os.PathLike, bytes, bytearray, Lines)) or hasattr(item, "read"):
            yield item
        else:
            msg = (
                f"cannot read a {type(item).__name__} as a capture source: give a path, bytes, "
                "a binary file object, or Lines(...) for lines one by one"
            )
            raise InvalidSourceError(msg)


def name_of(source: Source) -> str:
    """The name a source's records and rejects carry."""
    if isinstance(source, (Lines, Named)):
        return source.name
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, (bytes, bytearray)):
        return "<bytes>"
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else "<stream>"


def frames_of(source: Source, max_line_bytes: int) -> Generator[Frame]:
    """Every physical line of a source (close the generator to stop reading early).

    Raises:
        SourceError: The source cannot be opened or read.
    """
    if isinstance(source, Named):
        yield from frames_of(source.source, max_line_bytes)
    elif isinstance(source, Lines):
        yield from frame_lines(source.lines, max_line_bytes)
    elif isinstance(source, (str, os.PathLike)):
        try:
            handle = open(source, "rb", buffering=0)  # noqa: SIM115, PTH123 - closed below
        except OSError as exc:
            raise SourceError(f"cannot open {os.fspath(source)}: {exc.strerror or exc}") from exc
        with handle:
            yield from _stream_frames(handle, max_line_bytes)
    elif isinstance(source, (bytes, bytearray)):
        yield from _stream_frames(io.BytesIO(bytes(source)), max_line_bytes)
    else:
        yield from _stream_frames(source, max_line_bytes)


class _Prefixed:
    """A stream whose first bytes were already read, with them put back in front."""

    def __init__(self, head: bytes, read: Callable[[int], bytes]) -> None:
        self._head = head
        self._read = read

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0 or size >= len(self._head):
                head, self._head = self._head, b""
                return head
            head, self._head = self._head[:size], self._head[size:]
            return head
        return self._read(size if size >= 0 else _READ_CHUNK)


def _read_function(stream: Any) -> Callable[[int], bytes]:
    """``read1`` when the stream has it (what is there, without waiting to fill), else ``read``.

    Any object with ``read(n)`` works: a file, a socket file, an S3 ``StreamingBody``.
    """
    read1 = getattr(stream, "read1", None)
    read: Callable[[int], bytes] = read1 if callable(read1) else stream.read
    return read


def _head(read: Callable[[int], bytes]) -> bytes:
    """The first bytes of a stream, at least two unless it is shorter (short reads retried)."""
    head = b""
    while len(head) < len(_GZIP_MAGIC):
        piece = read(_READ_CHUNK)
        if not piece:
            break
        head += piece
    return head


def _stream_frames(stream: Any, max_line_bytes: int) -> Iterator[Frame]:
    framer = LineFramer(max_line_bytes)
    read = _read_function(stream)
    try:
        head = _head(read)
    except OSError as exc:
        raise SourceError(f"cannot read source: {exc}") from exc
    if head[:2] == _GZIP_MAGIC:
        yield from _gzip_frames(_Prefixed(head, read), framer)
        return
    chunk = head
    while chunk:
        yield from framer.feed(chunk)
        try:
            chunk = read(_READ_CHUNK)
        except OSError as exc:
            raise SourceError(f"cannot read source: {exc}") from exc
    yield from framer.end()


def _gzip_frames(stream: _Prefixed, framer: LineFramer) -> Iterator[Frame]:
    """The lines of a gzip stream, each held back until the stream goes on past it.

    A stream cut early or corrupt is reported on the last line it holds: the partial line
    the error fell in, or else the last whole line, which is rejected in place of the error
    (so the lines counted are those of the decompressed data, as ``wc -l`` counts them).
    """
    gunzip = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[call-overload]
    held: Frame | None = None
    while True:
        try:
            chunk = gunzip.read1(_READ_CHUNK)
        except EOFError:  # cut before the end: the lines before the cut are kept
            yield from _failed(framer, held, Status.TRUNCATED_GZIP, "")
            return
        except (gzip.BadGzipFile, zlib.error) as exc:
            yield from _failed(framer, held, Status.BAD_GZIP, str(exc))
            return
        except OSError as exc:
            raise SourceError(f"cannot read source: {exc}") from exc
        if not chunk:
            break
        for frame in framer.feed(chunk):
            if held is not None:
                yield held
            held = frame
    if held is not None:
        yield held
    yield from framer.end()


def _failed(framer: LineFramer, held: Frame | None, status: Status, detail: str) -> Iterator[Frame]:
    """The frames that end a gzip stream on an error: on the last line it holds."""
    if held is not None and not framer.partial:  # the error falls between lines
        yield held._replace(status=status, detail=detail)
        return
    if held is not None:
        yield held
    yield from framer.fail(status, detail=detail)
