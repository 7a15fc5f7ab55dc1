"""Outputs that never lose the user's data: same-file checks, files put in place, signals.

- :func:`check_outputs` refuses, before anything is opened, an output that is an input
  (device and inode, links followed) or another output.
- :class:`Outputs` writes every file a command makes under a temporary name beside it
  (``.{name}.{random}.tmp``) and renames them over their targets together, on success only.
  On an error or a signal the temporary files are removed, the targets keep their old content,
  and the error carries a note saying that the output is incomplete.
- :func:`handled_signals` (the command line's ``main`` only) turns SIGINT, SIGTERM and SIGHUP
  into :class:`Interrupted`, after any rename or removal under way.
- :func:`flush_stdout` and :func:`described` let ``main`` report a write error in one sentence.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
import threading
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, Self

from arthur_capture.cli._common import OutputError, UsageError, cannot_write
from arthur_capture.storage._atomic import AtomicFile, Staging, run_or_defer

if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Iterable, Iterator
    from types import FrameType, TracebackType

__all__ = [
    "INCOMPLETE",
    "STDOUT",
    "Interrupted",
    "Outputs",
    "check_outputs",
    "described",
    "drop_stdout",
    "flush_stdout",
    "handled_signals",
    "interrupted_message",
    "write_file",
]

STDOUT: Final = "-"
"""The name of the standard output on the command line."""

INCOMPLETE: Final = "the output is incomplete"
"""How the note on an error that stopped unfinished outputs begins."""

_SIGNALS: Final = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


# --------------------------------------------------------------------------------------------
# the same file twice


def _is_stdout(path: str | None) -> bool:
    return path is None or path == STDOUT


def _identity(path: str) -> tuple[object, ...] | None:
    """What a named file is: device and inode when it exists (links followed), else its path.

    ``None`` for what is not a regular file (a terminal, ``/dev/null``, a FIFO): writing to it
    destroys nothing, and ``/dev/stdin`` and ``/dev/stdout`` may well be the same terminal.
    """
    try:
        info = Path(path).stat()
    except OSError:
        return ("path", os.path.realpath(path))
    if not stat.S_ISREG(info.st_mode):
        return None
    return ("file", info.st_dev, info.st_ino)


def _stdout_identity() -> tuple[object, ...] | None:
    """The file stdout writes to, when that is a regular file (``>> file``)."""
    if sys.stdout is None:
        return None
    try:
        info = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # closed, or not a real file (captured)
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return ("file", info.st_dev, info.st_ino)


def check_outputs(
    inputs: Iterable[str],
    outputs: Iterable[tuple[str, str | None]],
    *,
    families: Iterable[tuple[str, str, re.Pattern[str]]] = (),
) -> None:
    """Refuse an output that is an input or another output, before anything is written.

    Args:
        inputs: The files read.
        outputs: ``(flag, path)`` of every output given (``path`` ``None`` or ``-``: stdout;
            an absent option is left out or given as ``None`` with a flag of ``""``).
        families: ``(flag, target, pattern)`` for outputs that also write files named like
            ``pattern`` beside ``target`` (Parquet chunks: ``<stem>-00000.parquet``…).

    Raises:
        UsageError: One sentence naming the two.
    """
    seen: list[tuple[str, str, tuple[object, ...]]] = []
    named_inputs = [(path, _identity(path)) for path in inputs]
    stdout_flag: str | None = None
    for flag, output in outputs:
        if not flag:
            continue
        if _is_stdout(output):
            if stdout_flag is not None:
                msg = f"{stdout_flag} and {flag} both write to stdout; give each its own file"
                raise UsageError(msg)
            stdout_flag = flag
            continue
        assert output is not None
        identity = _identity(output)
        if identity is None:
            continue
        for input_path, input_identity in named_inputs:
            if identity == input_identity:
                msg = (
                    f"{flag} {output} is the same file as the input {input_path}; "
                    "write the output to another file"
                )
                raise UsageError(msg)
        for other_flag, other_path, other_identity in seen:
            if identity == other_identity:
                msg = (
                    f"{flag} {output} is the same file as {other_flag} {other_path}; "
                    "give each output its own file"
                )
                raise UsageError(msg)
        seen.append((flag, output, identity))
    stdout = _stdout_identity() if stdout_flag is not None else None
    if stdout is not None:  # `>> FILE`: stdout appends to a regular file
        for input_path, input_identity in named_inputs:
            if input_identity == stdout:
                msg = f"stdout is the same file as the input {input_path}; redirect it elsewhere"
                raise UsageError(msg)
        for other_flag, other_path, other_identity in seen:
            if other_identity == stdout:
                msg = (
                    f"{other_flag} {other_path} is the same file as stdout; give each its own file"
                )
                raise UsageError(msg)
    for flag, target, pattern in families:
        _check_family(flag, target, pattern, named_inputs, seen)


def _check_family(
    flag: str,
    target: str,
    pattern: re.Pattern[str],
    inputs: list[tuple[str, tuple[object, ...] | None]],
    outputs: list[tuple[str, str, tuple[object, ...]]],
) -> None:
    """Refuse an input or another output that has the name of one of ``target``'s chunks."""
    directory = os.path.realpath(os.path.dirname(target) or os.curdir)  # noqa: PTH120
    existing: dict[tuple[object, ...], str] = {}
    with contextlib.suppress(OSError), os.scandir(directory) as entries:
        for entry in entries:
            if pattern.fullmatch(entry.name):
                identity = _identity(entry.path)
                if identity is not None:
                    existing[identity] = entry.name
    others = [("the input", path, identity) for path, identity in inputs]
    others += [(other, path, identity) for other, path, identity in outputs if other != flag]
    for what, path, identity in others:
        real = os.path.realpath(path)
        clash = (
            os.path.dirname(real) == directory  # noqa: PTH120
            and pattern.fullmatch(os.path.basename(real))  # noqa: PTH119
        ) or (identity is not None and identity in existing)
        if clash:
            msg = (
                f"{what} {path} is one of the chunk files {flag} {target} may write; "
                "choose another output name"
            )
            raise UsageError(msg)


# --------------------------------------------------------------------------------------------
# the outputs of a command


class Outputs:
    """The files (and stdout) one command writes; the files appear only at :meth:`commit`.

    Use as a context manager: when the block raises (an error, a signal), every temporary file
    is removed, every target keeps its old content, and the exception gets a note saying the
    output is incomplete (see :func:`described`). A broken pipe on stdout stays quiet unless a
    file was lost with it.
    """

    __slots__ = ("_entries", "_renamed", "_stdout", "_stdout_written", "staging")

    def __init__(self) -> None:
        """No outputs yet."""
        self.staging = Staging()
        """The files, for a sink that adds its own (e.g. Parquet chunks)."""
        self._entries: list[tuple[str, AtomicFile | None]] = []  # None: a sink's, promised
        self._renamed = False
        self._stdout = False
        self._stdout_written: Callable[[], bool] = lambda: False

    def open(self, path: str | None, written: Callable[[], bool] | None = None) -> IO[bytes]:
        """``path`` for writing, or stdout for ``None`` or ``-`` (see :meth:`stdout`)."""
        if _is_stdout(path):
            return self.stdout(written)
        assert path is not None
        return self.file(path)

    def file(self, path: str) -> IO[bytes]:
        """A temporary file that :meth:`commit` renames over ``path``.

        Raises:
            OutputError: It cannot be created (no such directory, a read-only file...).
        """
        file = self.staging.add(path)
        self._entries.append((path, file))
        try:
            return file.open()
        except OSError as exc:
            raise cannot_write(path, exc) from exc

    def stdout(self, written: Callable[[], bool] | None = None) -> IO[bytes]:
        """The standard output, binary; ``written`` tells whether anything went to it yet.

        Raises:
            OutputError: Stdout is closed.
        """
        if sys.stdout is None:
            raise OutputError("cannot write to stdout: it is closed", stdout=True)
        self._stdout = True
        if written is not None:
            self._stdout_written = written
        return sys.stdout.buffer

    def promise(self, description: str) -> None:
        """Name, for the note on a failure, files a sink will add to :attr:`staging`."""
        self._entries.append((description, None))

    def commit(self) -> None:
        """Flush stdout, then put every file in place (all written before the first rename).

        Raises:
            OutputError: Stdout or a file cannot be written.
        """
        if self._stdout and sys.stdout is not None:
            try:
                sys.stdout.buffer.flush()
            except BrokenPipeError:
                raise
            except OSError as exc:
                raise cannot_write(None, exc) from exc
        try:
            self.staging.commit()
        except OSError as exc:  # named after its target by AtomicFile
            raise cannot_write(str(exc.filename or "an output file"), exc) from exc
        finally:
            if not any(file.pending for file in self.staging.files):
                self._renamed = True  # even if a signal waited for the end

    def note(self, *, interrupted: bool) -> str | None:
        """What a failure now leaves unfinished, or ``None`` when nothing is."""
        pieces: list[str] = []
        if self._stdout and (interrupted or self._stdout_written()):
            pieces.append("stdout received only part of it")
        pieces += [
            f"{name} received only part of it"
            for name, file in self._entries
            if file is not None and file.in_place and file.pending
        ]
        lost = self._lost()
        if lost:
            names = lost[0] if len(lost) == 1 else f"{', '.join(lost[:-1])} or {lost[-1]}"
            pieces.append(f"nothing was written to {names}")
        return f"{INCOMPLETE}: {'; '.join(pieces)}" if pieces else None

    def __enter__(self) -> Self:
        """Use as a context manager."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Remove what was not committed; say on the exception what it left incomplete."""
        if exc is None:
            self._discard()
            return
        note: str | None = None
        try:
            lost = bool(self._lost())
            note = self.note(interrupted=isinstance(exc, KeyboardInterrupt))
            self._discard()
        except KeyboardInterrupt as interrupt:  # a signal during the error's clean-up
            if note is None:
                note = self.note(interrupted=True)
            self._discard()
            if note:
                interrupt.add_note(note)
            raise
        if isinstance(exc, BrokenPipeError):
            if not lost:
                return  # `| head`: the reader had enough, nothing else was asked for
            error = OutputError("stdout was closed before the output ended")
            if note:
                error.add_note(note)
            raise error from exc
        if note:
            exc.add_note(note)

    def _lost(self) -> list[str]:
        """The files that a failure now would leave as they were (their data thrown away)."""
        return [
            name
            for name, file in self._entries
            if (file.pending and not file.in_place if file is not None else not self._renamed)
        ]

    def _discard(self) -> None:
        """Remove the temporary files, even when the first signal arrives as this begins."""
        try:
            self.staging.discard()
        except KeyboardInterrupt:
            self.staging.discard()  # a second signal does not raise: this one runs through
            raise


def write_file(path: str, data: bytes) -> None:
    """Put ``data`` at ``path`` whole, or leave ``path`` as it was (e.g. a ``--summary``).

    Raises:
        OutputError: It cannot be written.
    """
    with Outputs() as outputs:
        handle = outputs.file(path)
        try:
            handle.write(data)
        except OSError as exc:
            raise cannot_write(path, exc) from exc
        outputs.commit()


def described(exc: BaseException, message: str) -> str:
    """``message`` followed by what the error left incomplete, in parentheses, one line."""
    notes = [n for n in getattr(exc, "__notes__", ()) if str(n).startswith(INCOMPLETE)]
    return message + "".join(f" ({note})" for note in notes)


def flush_stdout() -> None:
    """Flush stdout so that a write error is reported now, not lost at exit.

    Raises:
        BrokenPipeError: The reader of stdout went away.
        OutputError: Stdout cannot be written.
    """
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise cannot_write(None, exc) from exc


def drop_stdout() -> None:
    """Stop writing to stdout after it failed, so that exit does not try again (and complain)."""
    with contextlib.suppress(OSError):
        sys.stdout = None  # type: ignore[assignment,unused-ignore]


# --------------------------------------------------------------------------------------------
# signals


class Interrupted(KeyboardInterrupt):
    """A signal (SIGINT, SIGTERM or SIGHUP) stopped the command.

    A :class:`KeyboardInterrupt`, so that whatever cleans up on Ctrl-C cleans up on it too.
    """

    def __init__(self, signum: int) -> None:
        """The signal received."""
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        """The signal's name, e.g. ``SIGTERM``."""
        return signal.Signals(self.signum).name

    @property
    def exit_status(self) -> int:
        """128 plus the signal's number, as a shell reports a process a signal ended."""
        return 128 + self.signum


def _raise(signum: int) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def handled_signals() -> Iterator[None]:
    """While in the block, SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted`.

    A signal that arrives while a file is being created, renamed or removed waits until that
    is done. Later signals are ignored while the first one unwinds. A signal that is ignored
    on entry (``nohup``, a background job) stays ignored. The previous handlers come back on
    exit. Outside the main thread nothing is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
        if received:
            return
        received.append(signum)
        run_or_defer(partial(_raise, signum))

    previous: dict[int, signal.Handlers | Callable[[int, FrameType | None], object] | int] = {}
    try:
        for signum in _SIGNALS:
            current = signal.getsignal(signum)
            if current == signal.SIG_IGN:
                continue
            previous[signum] = current if current is not None else signal.SIG_DFL
            signal.signal(signum, handler)
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def interrupted_message(exc: KeyboardInterrupt) -> tuple[str, int]:
    """The sentence and the exit status for a command a signal stopped."""
    if isinstance(exc, Interrupted):
        name, status = exc.name, exc.exit_status
    else:  # Ctrl-C without our handler (not the main thread)
        name, status = "SIGINT", 128 + signal.SIGINT
    return described(exc, f"interrupted by {name}"), status
