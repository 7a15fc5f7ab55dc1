"""``convert --jobs N``: one capture file converted by several processes, merged in input order.

The file is cut at line starts into byte ranges; worker processes (started with ``spawn``,
which works alike on Linux and macOS) read one range each as a source of its own and write
its JSON and its rejects to temporary part files; the parent copies the parts to the outputs
in input order, shifting nothing but what it must: each reject's line number and byte offset
are the range's own plus where the range starts, so that every byte of the output, the
dead letters and the summary is what one process gives.

What makes a range read exactly as the whole file would be read at that point:

- a range starts right after a non-blank line (so no run of blank lines spans two ranges and
  ``max_blank_lines`` counts as one process does), never on a byte that the reader takes for
  the start of a source (a UTF-8 BOM's first byte, gzip's magic), and never inside a line
  (an over-long line stays whole in one range, however long);
- partner IDs repeat across ranges: each worker lists the IDs it emits, and the parent counts
  repeats over the whole file in input order (``duplicate_partner_ids`` and its examples);
- a ``too_many_blank_lines`` reject ends the source: the ranges after it are dropped.

Only one uncompressed regular local file is split, and only for JSON lines or JSON output
without ``--strict`` (which stops at the first reject) or ``--reject-duplicates`` (which
needs every ID read before a call is written): everything else, and a machine where the
processes cannot be started or synchronised (no ``/dev/shm`` on AWS Lambda), runs in one
process. Part files live in a temporary directory beside ``-o`` (or in the system's
temporary directory for stdout), removed at the end, on an error or a signal.
"""

from __future__ import annotations

import argparse
import contextlib
import mmap
import os
import shutil
import signal
import stat
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

import orjson

from arthur_capture.cli import _common
from arthur_capture.errors import CaptureError, Reason, SourceError
from arthur_capture.reading import Ledger, Named
from arthur_capture.reading._duplicates import SeenIds
from arthur_capture.records import InferenceRecord, Reject
from arthur_capture.storage._atomic import critical

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from multiprocessing.pool import Pool

    from arthur_capture.reading import CaptureReader
    from arthur_capture.records import Call
    from arthur_capture.sinks.jsonl import InferenceWriter

__all__ = [
    "MIN_RANGE_BYTES",
    "RANGES_PER_JOB",
    "SPLIT_BYTES_VARIABLE",
    "SPLIT_THRESHOLD",
    "Parallel",
    "available_cores",
    "parallel",
    "ranges_of",
]

SPLIT_THRESHOLD: Final = 32 * 1024 * 1024
"""Without ``--jobs``, a file this large or larger is converted on every usable core."""

MIN_RANGE_BYTES: Final = 4 * 1024 * 1024
"""No range is cut smaller (a smaller file gets fewer ranges, and one range runs in-process)."""

RANGES_PER_JOB: Final = 4
"""Ranges per worker: the parts of unequal cost even out."""

SPLIT_BYTES_VARIABLE: Final = "ARTHUR_CAPTURE_TEST_SPLIT_BYTES"
"""For tests only: replaces both :data:`SPLIT_THRESHOLD` and :data:`MIN_RANGE_BYTES`, so
that small files split into many ranges."""

_BOM_FIRST: Final = 0xEF
_GZIP_FIRST: Final = 0x1F
_BOM: Final = b"\xef\xbb\xbf"
_COPY_CHUNK: Final = 1 << 20
_COUNT_CHUNK: Final = 1 << 20
_READER_OPTIONS: Final = (
    "max_line_bytes",
    "max_inferences",
    "max_blank_lines",
    "max_depth",
    "csv_header",
    "strict",
    "sniff",
    "content_type",
    "reject_non_finite",
    "reject_duplicates",
    "schema",
    "format",
    "batch_id",
)


def available_cores() -> int:
    """The cores this process may run on."""
    count = getattr(os, "process_cpu_count", None)
    if callable(count):  # Python 3.13+
        return max(1, count() or 1)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)  # pragma: no cover - macOS before 3.13


def _split_bytes() -> tuple[int, int]:
    """The threshold and the smallest range (a test may lower both)."""
    text = os.environ.get(SPLIT_BYTES_VARIABLE)
    if text:
        with contextlib.suppress(ValueError):
            value = max(1, int(text))
            return value, value
    return SPLIT_THRESHOLD, MIN_RANGE_BYTES


# --------------------------------------------------------------------------------------------
# where to cut


def ranges_of(
    path: str, size: int, parts: int, min_bytes: int, max_line_bytes: int
) -> list[tuple[int, int, int]]:
    """``(start, end, lines_before)`` of at most ``parts`` ranges covering ``size`` bytes.

    Each range but the first starts at a line start right after a non-blank line, on a byte
    other than a BOM's or gzip's first; ``lines_before`` is the number of ``\\n`` before it.
    """
    parts = min(parts, size // max(1, min_bytes))
    if parts < 2 or size < 2:
        return [(0, size, 0)]
    with (
        Path(path).open("rb") as handle,
        mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_READ) as data,
    ):
        starts = [0]
        for index in range(1, parts):
            start = _line_start(
                data, max(index * size // parts, starts[-1] + 1), size, max_line_bytes
            )
            if start is None:
                break
            starts.append(start)
        bounds = [*starts, size]
        lines = 0
        ranges = []
        for start, end in zip(starts, bounds[1:], strict=True):
            ranges.append((start, end, lines))
            lines += _count_newlines(handle.fileno(), start, end)
    return ranges


def _line_start(data: mmap.mmap, at: int, size: int, max_line_bytes: int) -> int | None:
    """The first line start at or after ``at`` where a range may begin, if any."""
    position = at
    while True:
        newline = data.find(b"\n", position - 1)
        if newline < 0 or newline + 1 >= size:
            return None
        start = newline + 1
        if data[start] not in (_BOM_FIRST, _GZIP_FIRST) and not _blank_before(
            data, start, max_line_bytes
        ):
            return start
        position = start + 1


def _blank_before(data: mmap.mmap, start: int, max_line_bytes: int) -> bool:
    """Whether the line ending right before ``start`` is one the reader counts as blank."""
    end = start - 1  # its "\n"
    low = max(0, end - max_line_bytes - len(_BOM) - 1)
    newline = data.rfind(b"\n", low, end)
    if newline < 0 and low > 0:
        return False  # longer than the limit: line_too_large, not blank
    line = data[newline + 1 : end]
    if newline < 0 and line.startswith(_BOM):
        line = line[len(_BOM) :]
    return len(line) <= max_line_bytes and not line.strip(b" \t\r")


def _count_newlines(fd: int, start: int, end: int) -> int:
    """The ``\n`` in ``[start, end)``, read in chunks (a mapping would count in the peak RSS)."""
    count = 0
    for low in range(start, end, _COUNT_CHUNK):
        count += os.pread(fd, min(end - low, _COUNT_CHUNK), low).count(b"\n")
    return count


# --------------------------------------------------------------------------------------------
# the plan


def _splittable(args: argparse.Namespace) -> tuple[str, int] | None:
    """The one local file to split and its size, when the options allow splitting."""
    if args.format not in ("jsonl", "json") or args.strict or args.reject_duplicates:
        return None
    if len(args.files) != 1:
        return None
    path: str = args.files[0]
    if path == _common.STDIN or path.startswith("s3://"):
        return None
    try:
        with Path(path).open("rb") as handle:
            info = os.fstat(handle.fileno())
            head = handle.read(2)
    except OSError:
        return None  # the reader says why, as one process does
    if not stat.S_ISREG(info.st_mode) or head == b"\x1f\x8b":
        return None
    return path, info.st_size


@dataclass
class Parallel:
    """A file cut into ranges and the worker processes that convert them."""

    path: str
    ranges: list[tuple[int, int, int]]
    pool: Pool
    directory: Path
    options: dict[str, Any]
    _done: bool = field(default=False, repr=False)

    def convert(
        self,
        out: IO[bytes],
        *,
        json_array: bool,
        writer: InferenceWriter,
        rejects: IO[bytes] | None,
        rejects_name: str | None,
        dead: _common.DeadLetters,
        progress: Callable[[int], None] | None = None,
    ) -> Ledger:
        """Convert every range, copying the parts to ``out`` and ``rejects`` in input order.

        Sets ``writer.count`` to the records written and ends a JSON array with ``writer``.
        ``progress`` is told the bytes of each range as its part is copied out.

        Raises:
            SourceError: The file cannot be read.
            OutputError: A part file cannot be written.
            OSError: ``out`` or ``rejects`` cannot be written (the caller names it).
        """
        ledger = Ledger(sources=1)
        seen = SeenIds()
        seen.begin(self.path)
        tasks = [
            _Task(
                self.options,
                self.path,
                start,
                end if i < len(self.ranges) - 1 else None,
                lines,
                str(self.directory / f"{i}"),
            )
            for i, (start, end, lines) in enumerate(self.ranges)
        ]
        results = self.pool.imap(_convert_range, tasks)
        for (start, end, _), result in zip(self.ranges, results, strict=False):
            if result.error is not None:
                kind, message = result.error
                if kind == "source":
                    raise SourceError(message)
                raise _common.OutputError(
                    f"cannot write a part file in {self.directory}: {message}"
                )
            if result.records:
                with Path(result.output).open("rb") as part:
                    first = writer.count == 0
                    # counted before the copy: a copy cut short (a closed pipe) still sent some
                    writer.count += result.records
                    if json_array and first:
                        part.read(2)  # the first item's ",\n" becomes the array's "["
                        out.write(b"[")
                    shutil.copyfileobj(part, out, _COPY_CHUNK)
            if rejects is not None and result.rejected:
                with Path(result.rejects).open("rb") as part:
                    try:
                        shutil.copyfileobj(part, rejects, _COPY_CHUNK)
                    except BrokenPipeError:
                        raise
                    except OSError as exc:
                        raise _common.cannot_write(rejects_name, exc) from exc
            if result.rejected:
                dead.rejected = True
            _count_repeats(result.ids, seen, ledger)
            for name in (result.output, result.rejects, result.ids):
                Path(name).unlink(missing_ok=True)
            ledger.add(result.ledger)
            if progress is not None:
                progress(end - start)
            if result.stopped:
                break
        writer.close()
        return ledger


def _count_repeats(ids: str, seen: SeenIds, ledger: Ledger) -> None:
    """Count the repeats among a range's partner IDs as the reader counts them for one source."""
    with Path(ids).open("rb") as listed:
        for line in listed:
            entry = orjson.loads(line)
            if len(entry) == 3:
                repeats = seen.note(entry[0], entry[1], entry[2])
            else:
                repeats = seen.note_each(entry[0], enumerate(entry[1]))
            if repeats:
                seen.tally(repeats, entry[0], ledger)


@contextlib.contextmanager
def parallel(args: argparse.Namespace) -> Iterator[Parallel | None]:
    """The workers for ``args`` (``None``: convert in this process), stopped and cleaned at the end.

    ``args.jobs`` ``None`` means every usable core for a file of :data:`SPLIT_THRESHOLD` or
    more, else one.
    """
    found = _splittable(args)
    if found is None:
        yield None
        return
    path, size = found
    threshold, min_bytes = _split_bytes()
    jobs = args.jobs if args.jobs is not None else (available_cores() if size >= threshold else 1)
    if jobs < 2:
        yield None
        return
    ranges = ranges_of(path, size, jobs * RANGES_PER_JOB, min_bytes, args.max_line_bytes)
    if len(ranges) < 2:
        yield None
        return
    output = args.output if args.output not in (None, "-") else None
    with critical():
        try:
            directory = Path(
                tempfile.mkdtemp(
                    prefix=".arthur-capture-parts.",
                    dir=os.path.dirname(os.path.abspath(output)) if output else None,  # noqa: PTH100, PTH120
                )
            )
        except OSError:
            directory = None
    if directory is None:
        yield None
        return
    try:
        pool = _start(min(jobs, len(ranges)))
        if pool is None:
            yield None
            return
        try:
            options = {k: getattr(args, k) for k in _READER_OPTIONS}
            yield Parallel(path, ranges, pool, directory, options)
        finally:
            pool.terminate()
            pool.join()
    finally:
        with critical():
            shutil.rmtree(directory, ignore_errors=True)


def _start(processes: int) -> Pool | None:
    """A pool of ``spawn`` workers, or ``None`` where processes cannot be synchronised."""
    import multiprocessing  # noqa: PLC0415 - only when splitting

    blocked = hasattr(signal, "pthread_sigmask")
    if blocked:  # the workers start with SIGINT blocked, and ignore it (the parent stops them)
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        context = multiprocessing.get_context("spawn")
        return context.Pool(processes, initializer=_init_worker)
    except (OSError, ImportError, NotImplementedError):  # no sem_open (AWS Lambda: no /dev/shm)
        return None
    finally:
        if blocked:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


# --------------------------------------------------------------------------------------------
# the workers


@dataclass(frozen=True)
class _Task:
    options: dict[str, Any]
    path: str
    start: int
    end: int | None  # None: to the end of the file (the last range)
    lines_before: int
    stem: str


@dataclass
class _Result:
    output: str = ""
    rejects: str = ""
    ids: str = ""
    records: int = 0
    rejected: bool = False
    stopped: bool = False
    ledger: Ledger = field(default_factory=Ledger)
    error: tuple[str, str] | None = None


_READERS: dict[str, CaptureReader] = {}
"""A worker's readers, by their options (a worker may serve several runs in tests)."""


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _reader(args: argparse.Namespace) -> CaptureReader:
    key = repr(sorted(vars(args).items()))
    reader = _READERS.get(key)
    if reader is None:
        reader = _common.reader_of(args, _common.load_schema(args.schema))
        _READERS[key] = reader
    return reader


class _Range:
    """The bytes ``[start, end)`` of a file, read like a stream."""

    def __init__(self, fd: int, start: int, end: int | None) -> None:
        self._fd = fd
        self._position = start
        self._end = end

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = _COPY_CHUNK
        if self._end is not None:
            size = min(size, self._end - self._position)
            if size <= 0:
                return b""
        data = os.pread(self._fd, size, self._position)
        self._position += len(data)
        return data


class _ShiftedDeadLetters(_common.DeadLetters):
    """Dead letters whose line numbers and offsets are the file's, not the range's."""

    __slots__ = ("_lines", "_start")

    def __init__(self, out: IO[bytes], lines: int, start: int) -> None:
        super().__init__(out)
        self._lines = lines
        self._start = start

    def write(self, reject: Reject) -> None:
        super().write(
            replace(
                reject,
                line_number=reject.line_number + self._lines,
                offset=reject.offset + self._start,
            )
        )


class _PartWriter:
    """A range's records: JSON lines, or JSON array items each after ``,\\n``."""

    __slots__ = ("_array", "_batch_id", "_out", "count")

    def __init__(self, out: IO[bytes], *, array: bool, batch_id: str | None) -> None:
        self._out = out
        self._array = array
        self._batch_id = batch_id
        self.count = 0

    def write(self, record: InferenceRecord) -> None:
        from arthur_capture.sinks.jsonl import arthur_json  # noqa: PLC0415

        self.write_json(arthur_json(record, batch_id=self._batch_id))

    def write_json(self, data: bytes) -> None:
        self._out.write(b",\n" + data if self._array else data + b"\n")
        self.count += 1

    def close(self) -> None:
        """Nothing to end: the parent ends the array."""


def _listed(
    calls: Iterable[Call | Reject], ids: IO[bytes], lines: int, result: _Result
) -> Iterator[Call | Reject]:
    """The calls, each one's emitted partner IDs listed (for repeats across ranges)."""
    for item in calls:
        if isinstance(item, Reject):
            if item.reason is Reason.TOO_MANY_BLANK_LINES:
                result.stopped = True
        elif item.outcomes is None or all(
            isinstance(outcome, InferenceRecord) for outcome in item.outcomes
        ):
            ids.write(orjson.dumps([item.line_number + lines, item.base_id, item.count]) + b"\n")
        else:
            pids = [o.partner_inference_id for o in item.outcomes if isinstance(o, InferenceRecord)]
            ids.write(orjson.dumps([item.line_number + lines, pids]) + b"\n")
        yield item


def _convert_range(task: _Task) -> _Result:
    from arthur_capture.cli.convert import write_calls  # noqa: PLC0415 - convert imports us

    args = argparse.Namespace(**task.options)
    result = _Result(output=task.stem + ".out", rejects=task.stem + ".rej", ids=task.stem + ".ids")
    try:
        fd = os.open(task.path, os.O_RDONLY)
    except OSError as exc:
        result.error = ("source", f"cannot open {task.path}: {exc.strerror or exc}")
        return result
    try:
        with (
            Path(result.output).open("wb") as out,
            Path(result.rejects).open("wb") as rejects,
            Path(result.ids).open("wb") as ids,
        ):
            calls = _reader(args).iter_calls(Named(_Range(fd, task.start, task.end), task.path))
            writer = _PartWriter(out, array=args.format == "json", batch_id=args.batch_id)
            dead = _ShiftedDeadLetters(rejects, task.lines_before, task.start)
            write_calls(_listed(calls, ids, task.lines_before, result), dead, writer, args.batch_id)
            result.records = writer.count
            result.rejected = dead.rejected
            ledger = calls.ledger
            ledger.sources = 0
            ledger.duplicate_partner_ids = 0
            ledger.duplicate_examples = []
            result.ledger = ledger
    except CaptureError as exc:
        result.error = ("source", exc.message)
    except OSError as exc:
        result.error = ("write", exc.strerror or str(exc))
    except _common.UsageError as exc:
        result.error = ("write", str(exc))
    finally:
        os.close(fd)
    return result
