"""Files written under a temporary name beside their target and renamed over it when complete.

Whoever reads the target sees its old content or the whole new one, never a half file: the
data goes to ``.{name}.{random}.tmp`` in the target's directory, and only :meth:`Staging.commit`
renames it over the target. On an error the temporary file is removed and the target is left
exactly as it was (or absent). A target that is not a regular file (``/dev/null``, a FIFO, a
terminal) cannot be replaced by a rename: it is written in place.

Creating, renaming and removing files run in :func:`critical` sections: a signal handler that
raises (the command line's) waits for the section to end, so a signal never leaves a temporary
file behind or a group of files half renamed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, Self

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import TracebackType

__all__ = ["TEMP_SUFFIX", "AtomicFile", "Staging", "critical", "run_or_defer", "temp_name"]

TEMP_SUFFIX: Final = ".tmp"
"""How the name of a temporary file ends (it starts with a dot and the target's name)."""

_MAX_NAME: Final = 200
"""The most of the target's name kept in a temporary name (names stop at 255 bytes)."""


class _Sections:
    """How deep the running code is in critical sections, and what waits for their end."""

    __slots__ = ("deferred", "depth")

    def __init__(self) -> None:
        self.depth = 0
        self.deferred: list[Callable[[], None]] = []


_SECTIONS = _Sections()


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """A section :func:`run_or_defer` does not interrupt: actions wait for its end."""
    _SECTIONS.depth += 1
    try:
        yield
    finally:
        _SECTIONS.depth -= 1
        if _SECTIONS.depth == 0 and _SECTIONS.deferred:
            actions, _SECTIONS.deferred = _SECTIONS.deferred, []
            for action in actions:
                action()


def run_or_defer(action: Callable[[], None]) -> None:
    """Run ``action`` now, or when the current critical section ends (for signal handlers)."""
    if _SECTIONS.depth:
        _SECTIONS.deferred.append(action)
    else:
        action()


def temp_name(target: str | os.PathLike[str]) -> str:
    """A fresh temporary name for ``target``: ``.{name}.{random}.tmp``."""
    name = os.path.basename(target)[:_MAX_NAME]  # noqa: PTH119 - str and PathLike alike
    return f".{name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"


def _named(exc: OSError, target: Path) -> OSError:
    """``exc`` about ``target`` (not about a temporary name nobody asked for)."""
    reason = exc.strerror or (os.strerror(exc.errno) if exc.errno is not None else str(exc))
    return OSError(exc.errno, reason, os.fspath(target))


class AtomicFile:
    """One output file: written under a temporary name, renamed over its target on commit.

    A target that is not a regular file (a device, a FIFO), or is named through ``/dev`` or
    ``/proc`` (``/dev/stdout``, ``/dev/fd/3``), cannot be replaced: it is written in place.

    Args:
        target: The file to write, as named (messages use this name). A symbolic link is
            followed: the file it points to is replaced, the link stays.

    Raises (from its methods):
        OSError: With ``filename`` the target, whatever file the failed call was about.
    """

    __slots__ = ("_finished", "_handle", "_real", "_temp", "in_place", "target")

    def __init__(self, target: str | os.PathLike[str]) -> None:
        """Name the target; nothing is created until :meth:`open`."""
        self.target = Path(target)
        self._real = Path(os.path.realpath(target))
        self._temp: Path | None = None
        self._handle: IO[bytes] | None = None
        self._finished = False
        self.in_place = False
        """Whether the target is written in place (it is not a regular file)."""

    @property
    def temp(self) -> Path | None:
        """The temporary file, while there is one."""
        return self._temp

    def open(self) -> IO[bytes]:
        """Create the temporary file (or open a target that is not a regular file) for writing.

        The temporary file gets the target's permissions, or the usual ``0o666`` less the umask
        for a new target.

        Raises:
            OSError: The target is a directory or not writable, or its directory is not.
        """
        if self._handle is not None:
            return self._handle
        try:
            info: os.stat_result | None = self.target.stat()
        except FileNotFoundError:
            info = None
        except OSError as exc:
            raise _named(exc, self.target) from exc
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise _named(IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)), self.target)
        if (info is not None and not stat.S_ISREG(info.st_mode)) or self._special():
            self.in_place = True
            # a regular file named through /dev/stdout is the shell's `>` (already empty) or
            # `>>` (keep what is there): append, never truncate
            how = "ab" if info is not None and stat.S_ISREG(info.st_mode) else "wb"
            try:
                self._handle = open(self.target, how)  # noqa: SIM115, PTH123 - kept until commit
            except OSError as exc:
                raise _named(exc, self.target) from exc
            return self._handle
        if info is not None and not os.access(self._real, os.W_OK):
            # a rename would replace a file its owner made read-only: refuse as open() would
            raise _named(PermissionError(errno.EACCES, os.strerror(errno.EACCES)), self.target)
        mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        with critical():
            while True:
                temp = self._real.with_name(temp_name(self._real))
                try:
                    fd = os.open(temp, flags, mode)
                except FileExistsError:  # pragma: no cover - 32 random bits met an old file
                    continue
                except OSError as exc:
                    raise _named(exc, self.target) from exc
                self._temp = temp
                break
            if info is not None and hasattr(os, "fchmod"):
                os.fchmod(fd, mode)  # the umask must not narrow an existing file's permissions
            self._handle = os.fdopen(fd, "wb")
        return self._handle

    def _special(self) -> bool:
        """Whether the target is reached through ``/dev`` or ``/proc`` (``/dev/stdout``...).

        Such a name stands for a file descriptor: replacing what it resolves to would replace
        the file the shell opened (``>> log``), so it is written in place, as named.
        """
        if os.name != "posix":  # pragma: no cover - no such names elsewhere
            return False
        given = os.path.abspath(self.target)  # noqa: PTH100
        return given.startswith(("/dev/", "/proc/")) or str(self._real).startswith("/proc/")

    def finish(self) -> None:
        """Flush the file to disk and close it (the target is not touched yet).

        Raises:
            OSError: The data cannot be written (a full disk, an I/O error).
        """
        if self._finished:
            return
        handle = self._handle
        if handle is None:
            self.open()
            handle = self._handle
            assert handle is not None
        try:
            handle.flush()
            if not self.in_place:
                os.fsync(handle.fileno())
            handle.close()
        except OSError as exc:
            with contextlib.suppress(OSError):
                handle.close()
            raise _named(exc, self.target) from exc
        self._finished = True

    def replace(self) -> None:
        """Rename the finished temporary file over the target."""
        temp = self._temp
        if temp is None:
            return
        try:
            temp.replace(self._real)
        except OSError as exc:
            raise _named(exc, self.target) from exc
        self._temp = None
        _sync_directory(self._real.parent)

    def discard(self) -> None:
        """Close and remove the temporary file; the target is never touched."""
        with critical():
            if self._handle is not None:
                with contextlib.suppress(OSError, ValueError):
                    self._handle.close()
            if self._temp is not None:
                with contextlib.suppress(FileNotFoundError):
                    self._temp.unlink()
                self._temp = None
            self._finished = True

    @property
    def pending(self) -> bool:
        """Whether it was opened and is neither committed nor discarded."""
        return self._handle is not None and (self._temp is not None or not self._finished)


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable, where the platform can (best effort)."""
    if not hasattr(os, "O_DIRECTORY"):  # pragma: no cover - Windows
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:  # pragma: no cover - a directory we just wrote into
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems cannot sync a directory
        pass
    finally:
        os.close(fd)


class Staging:
    """Files that appear together: each under a temporary name until :meth:`commit`.

    As a context manager it removes every temporary file when the block raises (or ends
    without a commit), and never touches a target.
    """

    __slots__ = ("files",)

    def __init__(self) -> None:
        """Start with no files."""
        self.files: list[AtomicFile] = []

    def add(self, target: str | os.PathLike[str]) -> AtomicFile:
        """A new file for ``target`` in this group (open it with :meth:`AtomicFile.open`)."""
        file = AtomicFile(target)
        self.files.append(file)
        return file

    def commit(self) -> None:
        """Finish every file, then rename each over its target.

        Everything that can fail for want of space happens before the first rename.

        Raises:
            OSError: A file cannot be finished or renamed (the targets not yet renamed keep
                their old content).
        """
        with critical():
            for file in self.files:
                file.finish()
            for file in self.files:
                file.replace()

    def discard(self) -> None:
        """Remove every temporary file that is left."""
        with critical():
            for file in self.files:
                file.discard()

    def __enter__(self) -> Self:
        """Use as a context manager."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Remove whatever was not committed."""
        self.discard()
