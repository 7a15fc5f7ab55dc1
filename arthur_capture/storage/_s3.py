"""S3 locations, objects to read and a store to write (extra: ``arthur-capture[aws]``).

boto3 is imported on first use. Its client honours the usual environment (credentials,
``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL`` for any S3 API such as MinIO or moto).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from arthur_capture.dependencies import require
from arthur_capture.errors import StorageError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

__all__ = [
    "CAPTURE_SUFFIXES",
    "S3Location",
    "S3Object",
    "S3Store",
    "is_s3_uri",
    "list_objects",
    "open_object",
    "s3_client",
]

CAPTURE_SUFFIXES: Final = (".jsonl", ".jsonl.gz")
"""How the names of capture objects end (SageMaker writes ``.jsonl``)."""

_DELETE_BATCH: Final = 1000
"""The most keys one ``DeleteObjects`` call takes."""


def is_s3_uri(value: object) -> bool:
    """Whether ``value`` is a string naming an S3 location (``s3://bucket/…``)."""
    return isinstance(value, str) and value.startswith("s3://")


@dataclass(frozen=True, slots=True)
class S3Location:
    """A bucket and a key (or a key prefix) in it."""

    bucket: str
    """The bucket's name."""
    key: str
    """The key or prefix, without a leading ``/`` (may be empty)."""

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        """Split ``s3://bucket/key``.

        Raises:
            StorageError: Not an ``s3://`` URI, or no bucket.
        """
        if not is_s3_uri(uri):
            raise StorageError(f"{uri!r} is not an s3:// URI")
        bucket, _, key = uri[len("s3://") :].partition("/")
        if not bucket:
            raise StorageError(f"{uri!r} names no bucket")
        return cls(bucket, key)

    @property
    def uri(self) -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.bucket}/{self.key}"

    def child(self, key: str) -> S3Location:
        """The location of ``key`` under this prefix (joined with one ``/``)."""
        base = self.key.rstrip("/")
        return S3Location(self.bucket, f"{base}/{key}" if base else key)


_CLIENT_LOCK = threading.Lock()


def s3_client() -> Any:
    """A new boto3 S3 client from the environment (each thread or process makes its own).

    Raises:
        MissingDependencyError: boto3 is not installed.
    """
    boto3 = require("boto3", "S3 locations")
    with _CLIENT_LOCK:  # boto3's default session is not thread-safe while it sets up
        return boto3.client("s3")


def _failed(exc: Exception, where: str) -> StorageError:
    """One sentence for a boto3 failure, naming the location and AWS's error code."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        code = error.get("Code", "error")
        message = error.get("Message") or str(exc)
        return StorageError(f"{where}: {code}: {message}")
    return StorageError(f"{where}: {exc}")


def _boto_errors() -> tuple[type[Exception], ...]:
    exceptions = require("botocore.exceptions", "S3 locations")
    transfers = require("boto3.exceptions", "S3 locations")
    # boto3's managed uploads raise their own error (S3UploadFailedError), not ClientError
    return (exceptions.BotoCoreError, exceptions.ClientError, transfers.Boto3Error)


@dataclass(frozen=True, slots=True)
class S3Object:
    """An object found under a prefix."""

    location: S3Location
    """Where it is."""
    size: int
    """Its size in bytes."""
    etag: str
    """Its ETag, without quotes."""


def list_objects(
    prefix: S3Location,
    *,
    suffixes: tuple[str, ...] | None = None,
    client: Any = None,
    page_size: int | None = None,
) -> Iterator[S3Object]:
    """The objects under ``prefix``, in key order, optionally only names ending in ``suffixes``.

    Pages of ``page_size`` keys (S3's default and most: 1000) are fetched one after another.

    Raises:
        StorageError: The bucket cannot be listed.
    """
    client = client or s3_client()
    paging = {"PaginationConfig": {"PageSize": page_size}} if page_size else {}
    try:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=prefix.bucket, Prefix=prefix.key, **paging
        )
        for page in pages:
            for item in page.get("Contents", ()):
                key = item["Key"]
                if suffixes is None or key.endswith(suffixes):
                    location = S3Location(prefix.bucket, key)
                    yield S3Object(location, int(item["Size"]), str(item["ETag"]).strip('"'))
    except _boto_errors() as exc:
        raise _failed(exc, f"listing {prefix.uri}") from exc


class _Body:
    """An object's body as a binary stream whose failures are :class:`StorageError`."""

    __slots__ = ("_body", "_errors", "_uri")

    def __init__(self, body: Any, uri: str, errors: tuple[type[Exception], ...]) -> None:
        self._body = body
        self._uri = uri
        self._errors = errors

    def read(self, size: int = -1, /) -> bytes:
        try:
            data: bytes = self._body.read(size if size >= 0 else None)
        except self._errors as exc:
            raise _failed(exc, f"reading {self._uri}") from exc
        return data

    def close(self) -> None:
        self._body.close()


def open_object(location: S3Location, *, client: Any = None) -> _Body:
    """Stream an object's body (``read(n)``; works with any botocore's ``StreamingBody``).

    Raises:
        StorageError: The object cannot be opened (missing, access denied).
    """
    client = client or s3_client()
    errors = _boto_errors()
    try:
        answer = client.get_object(Bucket=location.bucket, Key=location.key)
    except errors as exc:
        raise _failed(exc, f"opening {location.uri}") from exc
    return _Body(answer["Body"], location.uri, errors)


class S3Store:
    """Keys under an S3 prefix: listed, read, written in one request each, and deleted.

    An object appears whole or not at all (a ``PutObject``, or a multipart upload that S3
    assembles only once complete).
    """

    __slots__ = ("_client", "_errors", "location")

    def __init__(self, location: S3Location, *, client: Any = None) -> None:
        """Use the prefix ``location`` (created on the first write)."""
        self.location = S3Location(location.bucket, location.key.strip("/"))
        self._client = client
        self._errors: tuple[type[Exception], ...] | None = None

    @property
    def client(self) -> Any:
        """The boto3 client (made on first use)."""
        if self._client is None:
            self._client = s3_client()
        return self._client

    def _call(self, where: str, action: Callable[[], Any]) -> Any:
        if self._errors is None:
            self._errors = _boto_errors()
        try:
            return action()
        except self._errors as exc:
            raise _failed(exc, where) from exc

    @property
    def uri(self) -> str:
        """``s3://bucket/prefix``."""
        return f"s3://{self.location.bucket}/{self.location.key}".rstrip("/")

    @property
    def bucket_prefix(self) -> str:
        """The prefix within the bucket (``""`` for the bucket's root)."""
        return self.location.key

    @property
    def local_root(self) -> Path | None:
        """``None``: nothing of it is on the local file system."""
        return None

    def uri_of(self, key: str) -> str:
        """The URI of ``key``."""
        return self.location.child(key).uri

    def put_file(self, key: str, path: Path) -> None:
        """Upload a local file to ``key`` (replacing the object there)."""
        target = self.location.child(key)
        self._call(
            f"writing {target.uri}",
            lambda: self.client.upload_file(str(path), target.bucket, target.key),
        )

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        """Write ``data`` to ``key`` in one request."""
        target = self.location.child(key)
        extra = {"ContentType": content_type} if content_type else {}
        self._call(
            f"writing {target.uri}",
            lambda: self.client.put_object(
                Bucket=target.bucket, Key=target.key, Body=data, **extra
            ),
        )

    def get_bytes(self, key: str) -> bytes | None:
        """The object at ``key``, or ``None`` when there is none."""
        target = self.location.child(key)

        def get() -> bytes | None:
            try:
                answer = self.client.get_object(Bucket=target.bucket, Key=target.key)
            except self.client.exceptions.NoSuchKey:
                return None
            body: bytes = answer["Body"].read()
            return body

        result: bytes | None = self._call(f"reading {target.uri}", get)
        return result

    def keys(self, prefix: str = "") -> list[str]:
        """The keys under ``prefix`` (relative to this store's prefix), sorted."""
        base = self.location.key + "/" if self.location.key else ""
        where = S3Location(self.location.bucket, base + prefix)
        return sorted(
            obj.location.key[len(base) :] for obj in list_objects(where, client=self.client)
        )

    def delete(self, keys: list[str]) -> None:
        """Delete these keys (missing ones are fine)."""
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = [
                {"Key": self.location.child(k).key} for k in keys[start : start + _DELETE_BATCH]
            ]

            def delete(batch: list[dict[str, str]] = batch) -> None:
                answer = self.client.delete_objects(
                    Bucket=self.location.bucket, Delete={"Objects": batch, "Quiet": True}
                )
                errors = answer.get("Errors") or []
                if errors:
                    first = errors[0]
                    msg = f"{first.get('Key')}: {first.get('Code')}: {first.get('Message')}"
                    raise StorageError(f"deleting from {self.uri}: {msg}")

            self._call(f"deleting from {self.uri}", delete)

    def __repr__(self) -> str:
        """``S3Store('s3://bucket/prefix')``."""
        return f"S3Store({quote(self.uri, safe=':/')!r})"
