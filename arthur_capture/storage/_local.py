"""A local folder as a store: keys are relative paths, writes are atomic renames."""

from __future__ import annotations

import os
from pathlib import Path

from arthur_capture.errors import StorageError
from arthur_capture.storage._atomic import TEMP_SUFFIX, AtomicFile, critical

__all__ = ["LocalStore"]


def _failed(exc: OSError, where: str) -> StorageError:
    return StorageError(f"{where}: {exc.strerror or exc}")


class LocalStore:
    """Keys under a local folder: ``a/b/c.parquet`` is ``<root>/a/b/c.parquet``.

    A write goes to a temporary file beside its target, then is renamed over it: a reader
    sees the old file or the whole new one. Keys never leave the folder.
    """

    __slots__ = ("root",)

    def __init__(self, root: str | os.PathLike[str]) -> None:
        """Use the folder ``root`` (created on the first write)."""
        self.root = Path(root)

    @property
    def uri(self) -> str:
        """The folder, as given."""
        return str(self.root)

    @property
    def bucket_prefix(self) -> str:
        """``""``: keys are relative to the folder (a bucket it is copied to adds its prefix)."""
        return ""

    @property
    def local_root(self) -> Path | None:
        """The folder."""
        return self.root

    def path_of(self, key: str) -> Path:
        """The file of ``key``.

        Raises:
            StorageError: The key would leave the folder (``..``, an absolute path).
        """
        parts = key.split("/")
        if key.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise StorageError(f"{key!r} is not a key under {self.root}")
        return self.root.joinpath(*parts)

    def uri_of(self, key: str) -> str:
        """The path of ``key``, as text."""
        return str(self.path_of(key))

    def put_file(self, key: str, path: Path) -> None:
        """Move a finished local file to ``key`` (an atomic rename on one file system).

        ``path`` should be on the folder's file system (see :meth:`spool_parent`);
        elsewhere it is copied to a temporary file beside the target first.
        """
        target = self.path_of(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with critical():
                try:
                    path.replace(target)
                except OSError as exc:
                    if exc.errno != 18:  # EXDEV: another file system
                        raise
                    file = AtomicFile(target)
                    try:
                        with path.open("rb") as source:
                            handle = file.open()
                            while chunk := source.read(1 << 20):
                                handle.write(chunk)
                        file.finish()
                        file.replace()
                    finally:
                        file.discard()
        except OSError as exc:
            raise _failed(exc, f"writing {target}") from exc

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:  # noqa: ARG002 - one signature for every store
        """Write ``data`` to ``key`` (atomically)."""
        target = self.path_of(key)
        file = AtomicFile(target)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            file.open().write(data)
            file.finish()
            with critical():
                file.replace()
        except OSError as exc:
            raise _failed(exc, f"writing {target}") from exc
        finally:
            file.discard()

    def get_bytes(self, key: str) -> bytes | None:
        """The file at ``key``, or ``None`` when there is none."""
        path = self.path_of(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _failed(exc, f"reading {path}") from exc

    def keys(self, prefix: str = "") -> list[str]:
        """The keys under ``prefix`` (a folder or the start of a name), sorted.

        Temporary files of unfinished writes (``.<name>.<random>.tmp``) are not keys.
        """
        folder, _, _ = prefix.rpartition("/")
        start = self.path_of(folder) if folder else self.root
        keys: list[str] = []
        try:
            for directory, subdirectories, files in os.walk(start):
                subdirectories[:] = [d for d in subdirectories if not d.startswith(".")]
                relative = Path(directory).relative_to(self.root).as_posix()
                for name in files:
                    if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                        continue
                    key = name if relative == "." else f"{relative}/{name}"
                    if key.startswith(prefix):
                        keys.append(key)
        except OSError as exc:
            raise _failed(exc, f"listing {start}") from exc
        return sorted(keys)

    def delete(self, keys: list[str]) -> None:
        """Delete these keys (missing ones are fine)."""
        for key in keys:
            path = self.path_of(key)
            try:
                with critical():
                    path.unlink(missing_ok=True)
            except OSError as exc:
                raise _failed(exc, f"deleting {path}") from exc

    def __repr__(self) -> str:
        """``LocalStore('path')``."""
        return f"LocalStore({str(self.root)!r})"
