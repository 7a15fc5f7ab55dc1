"""How the Arthur Engine's bucket connector reads a dataset, emulated for the export tests.

Written from the connector's public behaviour (arthur-ai/arthur-engine, ``ml-engine/.../
bucket_based_connector.py``), not from its code:

1. The locator gives ``file_prefix`` (a ``strftime`` template; a leading ``/`` is stripped),
   ``file_suffix`` (a regex, ``$`` appended when missing), ``data_file_type`` and
   ``timestamp_time_zone``.
2. The step is the smallest time unit in ``file_prefix``: ``%H`` → one hour, else ``%d`` or
   ``%j`` → one day; neither → an error.
3. ``read(start, end)``: from ``end`` down to ``start - step`` (both in the locator's time
   zone), render ``file_prefix``, walk that prefix as a directory (recursively; a missing one has
   no files), keep the paths ``re.search(file_suffix, "BUCKET/KEY")`` matches, read each Parquet
   file whole.
4. Keep the rows whose primary timestamp ``ts`` has ``start <= ts < end`` (naive values are in
   the locator's time zone).

The bucket is behind a two-method :class:`FileSystem`: :class:`LocalFS` (a local folder is the
bucket) or :class:`S3FS` (boto3). Paths in :class:`EngineRead` are bucket-relative keys, so the
two give equal results for equal trees.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = [
    "DEFAULT_TIMESTAMP_COLUMN",
    "S3FS",
    "EngineRead",
    "FileSystem",
    "LocalFS",
    "hours_between",
    "read_dataset",
    "time_step",
]

DEFAULT_TIMESTAMP_COLUMN = "inference_timestamp"
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class FileSystem(Protocol):
    """The two things the connector does with a bucket: walk a prefix, read a file."""

    @property
    def bucket(self) -> str:
        """The bucket's name (the Engine matches ``file_suffix`` against ``BUCKET/KEY``)."""
        ...

    def walk(self, prefix: str) -> list[str]:
        """Keys of every file under the directory ``prefix``, recursively, in key order."""
        ...

    def read_bytes(self, key: str) -> bytes:
        """The bytes of the file at ``key``."""
        ...


@dataclass(frozen=True, slots=True)
class LocalFS:
    """A local folder as the bucket: key ``a/b.parquet`` is ``root / "a/b.parquet"``."""

    root: Path

    @property
    def bucket(self) -> str:
        """The folder's name."""
        return self.root.name

    def walk(self, prefix: str) -> list[str]:
        """Files under ``root / prefix`` as POSIX keys, sorted; none when it is no folder."""
        folder = self.root / prefix
        if not folder.is_dir():
            return []
        keys = (path.relative_to(self.root).as_posix() for path in folder.rglob("*"))
        return sorted(key for key in keys if (self.root / key).is_file())

    def read_bytes(self, key: str) -> bytes:
        """The file's bytes."""
        return (self.root / key).read_bytes()


@dataclass(frozen=True, slots=True)
class S3FS:
    """An S3 bucket through a boto3 client; a prefix is walked as the directory ``prefix/``."""

    client: Any  # a boto3 S3 client
    bucket: str

    def walk(self, prefix: str) -> list[str]:
        """Every key under ``prefix + "/"`` (paginated ``list_objects_v2``), folder markers out."""
        paginator = self.client.get_paginator("list_objects_v2")
        keys: list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix.rstrip("/") + "/"):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return [key for key in keys if not key.endswith("/")]

    def read_bytes(self, key: str) -> bytes:
        """``get_object`` of the key, read whole."""
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        data: bytes = body.read()
        return data


@dataclass(slots=True)
class EngineRead:
    """What one ``read(start, end)`` of the Engine saw and kept."""

    bucket: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    """The rows left after the primary timestamp filter, in file order."""
    files: list[str] = field(default_factory=list)
    """Bucket-relative key of every file read, in the order read."""
    rendered_prefixes: list[str] = field(default_factory=list)
    """Each rendered ``file_prefix`` (bucket-relative), in the order walked."""
    rows_read: int = 0
    """Rows in the files before the time filter."""

    @property
    def paths(self) -> list[str]:
        """``files`` as the Engine names them: ``BUCKET/KEY``."""
        return [f"{self.bucket}/{key}" for key in self.files]


def time_step(file_prefix: str) -> timedelta:
    """The connector's step: one hour with ``%H``, else one day with ``%d``/``%j``.

    Raises:
        ValueError: ``file_prefix`` has none of them.
    """
    if "%H" in file_prefix:
        return HOUR
    if "%d" in file_prefix or "%j" in file_prefix:
        return DAY
    raise ValueError(f"file_prefix {file_prefix!r} has no %H, %d or %j: no time step")


def read_dataset(
    fs: FileSystem,
    locator: Mapping[str, Any],
    start: datetime,
    end: datetime,
    *,
    timestamp_column: str = DEFAULT_TIMESTAMP_COLUMN,
) -> EngineRead:
    """Read ``[start, end)`` of the dataset ``locator`` describes, as the Engine would.

    Args:
        fs: The bucket.
        locator: The dataset locator (``file_prefix``, ``file_suffix``, ``data_file_type``,
            ``timestamp_time_zone``; other keys are ignored).
        start: The window's first instant (time-zone aware), included.
        end: The window's end (time-zone aware), excluded.
        timestamp_column: The primary timestamp column the rows are filtered on.

    Raises:
        ValueError: A naive ``start``/``end``, a prefix without a time unit, a data file type
            other than parquet, a row without the timestamp column.
        TypeError: A timestamp that is neither a datetime, a string nor null.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be time-zone aware")
    data_file_type = str(locator.get("data_file_type", "parquet")).lower()
    if data_file_type != "parquet":
        raise ValueError(f"only parquet is emulated, not {data_file_type!r}")
    file_prefix = str(locator["file_prefix"]).lstrip("/")
    file_suffix = str(locator.get("file_suffix", ""))
    if not file_suffix.endswith("$"):
        file_suffix += "$"
    suffix = re.compile(file_suffix)
    zone = ZoneInfo(str(locator.get("timestamp_time_zone") or "UTC"))
    step = time_step(file_prefix)
    start, end = start.astimezone(zone), end.astimezone(zone)

    import pyarrow.parquet as pq

    result = EngineRead(bucket=fs.bucket)
    timestamp = end
    while timestamp >= start - step:
        rendered = timestamp.strftime(file_prefix)
        result.rendered_prefixes.append(rendered)
        for key in fs.walk(rendered):
            if suffix.search(f"{fs.bucket}/{key}") is None:
                continue
            result.files.append(key)
            rows: list[dict[str, Any]] = (
                pq.ParquetFile(io.BytesIO(fs.read_bytes(key))).read().to_pylist()
            )
            result.rows_read += len(rows)
            for row in rows:
                if timestamp_column not in row:
                    raise ValueError(f"{key} has no column {timestamp_column!r}")
                when = _instant(row[timestamp_column], zone)
                if when is not None and start <= when < end:
                    result.rows.append(row)
        timestamp -= step
    return result


def _instant(value: object, zone: ZoneInfo) -> datetime | None:
    """A timestamp cell as an aware datetime (naive → ``zone``); ``None`` for a null."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"timestamp {value!r} is a {type(value).__name__}, not a datetime")
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def hours_between(first: datetime, last: datetime) -> list[datetime]:
    """Each whole hour from ``first``'s hour to ``last``'s hour, both included (same tz)."""
    hour = first.replace(minute=0, second=0, microsecond=0)
    hours: list[datetime] = []
    while hour <= last:
        hours.append(hour)
        hour += HOUR
    return hours
