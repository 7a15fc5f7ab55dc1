"""Where bytes are kept: local folders and S3 prefixes, behind one small interface.

A layer above the core and below the sinks. :func:`open_store` turns an output named on the
command line (a folder, or ``s3://bucket/prefix``) into a :class:`Store`; writes never leave
a half-written file under its final name (a rename on disk, one request on S3). S3 needs the
``aws`` extra (boto3), imported on first use.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from arthur_capture.errors import StorageError
from arthur_capture.storage._local import LocalStore
from arthur_capture.storage._s3 import (
    CAPTURE_SUFFIXES,
    S3Location,
    S3Object,
    S3Store,
    is_s3_uri,
    list_objects,
    open_object,
    s3_client,
)
from arthur_capture.storage._sources import LazyObject, S3Selection, expand_sources

if TYPE_CHECKING:
    import os
    from collections.abc import Iterator

__all__ = [
    "CAPTURE_SUFFIXES",
    "LazyObject",
    "LocalStore",
    "S3Location",
    "S3Object",
    "S3Selection",
    "S3Store",
    "Store",
    "expand_sources",
    "is_s3_uri",
    "list_objects",
    "open_object",
    "open_store",
    "s3_client",
    "spool",
]

SPOOL_PREFIX = ".arthur-capture-spool-"
"""How the hidden folder of files not yet put in place is named (inside a local store)."""


@runtime_checkable
class Store(Protocol):
    """Keys (``/``-separated relative names) under a root: a folder or an S3 prefix."""

    @property
    def uri(self) -> str:
        """The root, as a user names it."""
        ...

    @property
    def bucket_prefix(self) -> str:
        """The root's prefix within its bucket (``""`` for a local folder)."""
        ...

    @property
    def local_root(self) -> Path | None:
        """The root's folder when it is on the local file system."""
        ...

    def uri_of(self, key: str) -> str:
        """How to name ``key`` to a user."""
        ...

    def put_file(self, key: str, path: Path) -> None:
        """Put a finished local file at ``key``, whole (the file is moved or uploaded)."""
        ...

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        """Write ``data`` at ``key``, whole."""
        ...

    def get_bytes(self, key: str) -> bytes | None:
        """What is at ``key``, or ``None``."""
        ...

    def keys(self, prefix: str = "") -> list[str]:
        """The keys under ``prefix``, sorted."""
        ...

    def delete(self, keys: list[str]) -> None:
        """Delete keys (missing ones are fine)."""
        ...


def open_store(target: str | os.PathLike[str]) -> LocalStore | S3Store:
    """The store a user means: ``s3://bucket/prefix`` or a local folder.

    Raises:
        StorageError: A malformed ``s3://`` URI.
    """
    if is_s3_uri(target):
        return S3Store(S3Location.parse(str(target)))
    return LocalStore(target)


@contextlib.contextmanager
def spool(store: Store) -> Iterator[Path]:
    """A private folder for files before they are put in ``store``; removed at the end.

    For a local store it is a hidden folder inside it (same file system: putting a file is
    a rename); otherwise a temporary folder.
    """
    root = store.local_root
    try:
        if root is not None:
            root.mkdir(parents=True, exist_ok=True)
            folder = Path(tempfile.mkdtemp(prefix=SPOOL_PREFIX, dir=root))
        else:
            folder = Path(tempfile.mkdtemp(prefix=SPOOL_PREFIX))
    except OSError as exc:
        where = root if root is not None else tempfile.gettempdir()
        raise StorageError(f"cannot write to {where}: {exc.strerror or exc}") from exc
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
