"""Progress on stderr for long runs (``convert``, ``validate``, ``export``, ``upload``).

Shown only when stderr is a terminal (and stdout is not that terminal receiving the output
as it goes): a bar drawn by rich with the bytes read of the total, the speed and the time
left, cleared when the command ends. Anywhere else nothing at all is added, and the sources
are handed to the reader untouched.

The total is the size of the sources when it is known: local files (a folder: its capture
files), and S3 objects (their listed sizes); standard input has none (the bar then counts the
bytes read). Bytes are counted as the reader reads them: compressed bytes for gzip.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from arthur_capture.cli import _console
from arthur_capture.errors import SourceError
from arthur_capture.reading import Named

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from rich.progress import Progress, TaskID

    from arthur_capture.reading import CaptureReader, CaptureStream, Source
    from arthur_capture.records import Call, Reject

__all__ = ["CountingReader", "Tracker", "tracking"]

_CAPTURE_SUFFIXES: Final = (".jsonl", ".jsonl.gz")
_REFRESH_PER_SECOND: Final = 4


class Tracker:
    """The progress of one command: counts bytes read, draws them (when enabled)."""

    __slots__ = ("_current", "_progress", "_task", "enabled", "read", "total")

    def __init__(self, *, enabled: bool, total: int | None) -> None:
        """A tracker; nothing is drawn until it is used as a context manager (enabled only)."""
        self.enabled = enabled
        """Whether progress is drawn (stderr is a terminal)."""
        self.total = total
        """The bytes of the sources, when known."""
        self.read = 0
        """The bytes read so far."""
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._current: _CountedFile | None = None

    def advance(self, size: int) -> None:
        """Count ``size`` more bytes read."""
        self.read += size
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=self.read)

    def sources(self, sources: Sequence[Source]) -> list[Source]:
        """``sources`` counted as the reader reads them (unchanged when not enabled)."""
        if not self.enabled:
            return list(sources)
        return [self._counted(source) for source in sources]

    def _counted(self, source: Source) -> Source:
        if isinstance(source, (str, os.PathLike)):
            return Named(_CountedFile(os.fspath(source), self), os.fspath(source))
        if isinstance(source, Named) and hasattr(source.source, "read"):
            return Named(_CountedStream(source.source, self), source.name)
        return source

    def _opened(self, file: _CountedFile) -> None:
        """A file is opened: the one read before is done (the reader reads them in turn)."""
        if self._current is not None and self._current is not file:
            self._current.close()
        self._current = file

    def start(self, what: str) -> None:
        """Start drawing (enabled only)."""
        if not self.enabled:
            return
        from rich.progress import (  # noqa: PLC0415 - rich only when drawing
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=_console.console_for(sys.stderr),
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
            refresh_per_second=_REFRESH_PER_SECOND,
        )
        self._task = self._progress.add_task(what, total=self.total, completed=self.read)
        self._progress.start()

    def stop(self) -> None:
        """Stop drawing (the bar is cleared), and close any file still open."""
        if self._current is not None:
            self._current.close()
            self._current = None
        progress, self._progress = self._progress, None
        if progress is not None:
            if self._task is not None:
                progress.update(self._task, completed=self.read)
            progress.stop()


class _CountedFile:
    """A local file read for the reader, counted; opened when the reader starts on it.

    The reader asks for ``read1`` first: that is when the file is opened, and a file that
    cannot be opened raises the reader's own error (``cannot open PATH: why``).
    """

    __slots__ = ("_handle", "_path", "_tracker")

    def __init__(self, path: str, tracker: Tracker) -> None:
        self._path = path
        self._tracker = tracker
        self._handle: IO[bytes] | None = None

    @property
    def name(self) -> str:
        return self._path

    @property
    def read1(self) -> Callable[[int], bytes]:
        self._open()
        return self.read

    def _open(self) -> None:
        if self._handle is not None:
            return
        try:
            self._handle = open(self._path, "rb", buffering=0)  # noqa: SIM115, PTH123
        except OSError as exc:
            raise SourceError(f"cannot open {self._path}: {exc.strerror or exc}") from exc
        self._tracker._opened(self)  # noqa: SLF001 - its own tracker

    def read(self, size: int = -1, /) -> bytes:
        self._open()
        assert self._handle is not None
        data = self._handle.read(size)
        if data:
            self._tracker.advance(len(data))
        elif size != 0:
            self.close()
        return data

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()


class _CountedStream:
    """A stream (stdin, an S3 object) read for the reader, counted."""

    __slots__ = ("_stream", "_tracker", "read1")

    def __init__(self, stream: Any, tracker: Tracker) -> None:
        self._stream = stream
        self._tracker = tracker
        inner = getattr(stream, "read1", None)
        if callable(inner):  # what is there, without waiting to fill (a pipe), as before

            def read1(size: int = -1, /) -> bytes:
                data: bytes = inner(size)
                tracker.advance(len(data))
                return data

            self.read1 = read1

    @property
    def name(self) -> Any:
        return getattr(self._stream, "name", None)

    def read(self, size: int = -1, /) -> bytes:
        data: bytes = self._stream.read(size)
        self._tracker.advance(len(data))
        return data

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if callable(close):
            close()


class CountingReader:
    """A reader whose streams are counted (``export`` hands the reader its own streams)."""

    __slots__ = ("_reader", "_tracker")

    def __init__(self, reader: CaptureReader, tracker: Tracker) -> None:
        """Read with ``reader``, counting into ``tracker``."""
        self._reader = reader
        self._tracker = tracker

    def iter_calls(self, *sources: Source) -> CaptureStream[Call | Reject]:
        """The reader's calls of the sources, counted."""
        return self._reader.iter_calls(*self._tracker.sources(sources))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


def _local_size(path: str) -> int | None:
    """The bytes of a local file, or of the capture files under a folder (``None``: unknown)."""
    try:
        target = Path(path)
        if target.is_dir():
            return sum(
                p.stat().st_size
                for p in target.rglob("*")
                if p.is_file() and p.name.endswith(_CAPTURE_SUFFIXES)
            )
        if not target.is_file():
            return None  # a FIFO, a device: no size to go by
        return target.stat().st_size
    except OSError:
        return None


def _s3_sizes(files: Sequence[str]) -> dict[str, int] | None:
    """The sizes of the S3 objects the ``s3://`` arguments name, by URI (``None``: unknown)."""
    from arthur_capture.storage._s3 import (  # noqa: PLC0415 - only for s3:// arguments
        S3Location,
        list_objects,
        s3_client,
    )

    sizes: dict[str, int] = {}
    try:
        client = s3_client()
        for file in files:
            location = S3Location.parse(file)
            if location.key.endswith(_CAPTURE_SUFFIXES):
                head = client.head_object(Bucket=location.bucket, Key=location.key)
                sizes[location.uri] = int(head["ContentLength"])
                continue
            key = location.key
            folder = S3Location(location.bucket, key if not key or key.endswith("/") else key + "/")
            for obj in list_objects(folder, suffixes=_CAPTURE_SUFFIXES, client=client):
                sizes[obj.location.uri] = obj.size
    except Exception:  # noqa: BLE001 - a total is a nicety: without it, no total
        return None
    return sizes


def total_of(files: Sequence[str], sources: Sequence[Source]) -> int | None:
    """The bytes of the sources the ``FILE`` arguments name, or ``None`` when one is unknown.

    ``sources`` are what :func:`._common.input_sources` made of ``files`` (the S3 objects
    listed and selected).
    """
    from arthur_capture.cli import _common  # noqa: PLC0415

    total = 0
    if _common.STDIN in files:
        return None
    remote = [f for f in files if f.startswith("s3://")]
    for file in files:
        if file in remote:
            continue
        size = _local_size(file)
        if size is None:
            return None
        total += size
    if remote:
        sizes = _s3_sizes(remote)
        if sizes is None:
            return None
        for source in sources:
            if isinstance(source, Named) and source.name.startswith("s3://"):
                if source.name not in sizes:
                    return None
                total += sizes[source.name]
    return total


def wanted(*, writes_stdout: bool = False, disabled: bool = False) -> bool:
    """Whether to draw progress: stderr is a terminal (and not stdout's, written meanwhile)."""
    if disabled or not _console.is_terminal(sys.stderr):
        return False
    return not (writes_stdout and _console.is_terminal(sys.stdout))


@contextlib.contextmanager
def tracking(
    what: str,
    files: Sequence[str],
    sources: Sequence[Source],
    *,
    writes_stdout: bool = False,
    disabled: bool = False,
) -> Iterator[Tracker]:
    """A :class:`Tracker` for the command ``what`` reading ``sources``, drawn while in the block.

    When progress is not wanted (see :func:`wanted`) the tracker does nothing and nothing is
    looked up (no file sizes, no S3 listing).
    """
    enabled = wanted(writes_stdout=writes_stdout, disabled=disabled)
    tracker = Tracker(enabled=enabled, total=total_of(files, sources) if enabled else None)
    tracker.start(what)
    try:
        yield tracker
    finally:
        tracker.stop()
