"""Arthur Engine datasets: hour-partitioned Parquet that the Engine's bucket connector reads.

The Arthur Engine reads a dataset from the customer's bucket: it renders the dataset's
``file_prefix`` (a strftime template) for every hour it computes, lists the files under
it whose path matches ``file_suffix``, reads them and keeps the rows whose primary
timestamp falls in the hour. :func:`export_engine` writes exactly what that finds::

    OUT/{endpoint}/{variant}/%Y/%m/%d/%H/{stem}-{digest}-{part}.parquet
    OUT/{endpoint}/{variant}/arthur-dataset.json      the locator: what to enter in Arthur
    OUT/{endpoint}/{variant}/ground-truth/...         ground truth, when given (same layout)
    OUT/arthur-dataset.json                           every locator of OUT

Each file holds the inferences of one source whose ``inference_timestamp``, in UTC, falls in
its hour. Its name is the source's name and the first 16 hex digits of the SHA-256 of the
source's bytes: exporting a capture again replaces its files (and removes any of its
files that the new export no longer makes), and a new capture for an hour already written
adds files beside the others. Files appear whole (a rename on disk, one request on S3);
the files of a source are put in place only once the whole source is read.

Columns: ``partner_inference_id`` (string), ``inference_timestamp`` (timestamp, UTC: the
only timestamp column, which the Engine takes as the primary one), then one column per
attribute, typed by the model schema when given (``TIMESTAMP`` attributes as ISO 8601
text), else by the values.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import orjson

from arthur_capture.arthur.contract import GROUND_TRUTH_STAGES, SEND_STAGES, ValueType
from arthur_capture.dependencies import require
from arthur_capture.errors import ExportError, GroundTruthError, StorageError
from arthur_capture.reading import CaptureReader, Ledger, Named
from arthur_capture.records import Call, Reject
from arthur_capture.sinks.parquet import DEFAULT_ROW_GROUP_SIZE, _Chunk
from arthur_capture.storage import (
    CAPTURE_SUFFIXES,
    S3Location,
    Store,
    is_s3_uri,
    list_objects,
    open_object,
    open_store,
    spool,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from arthur_capture.arthur.ground_truth import GroundTruth, GroundTruthJoiner
    from arthur_capture.arthur.schema import ModelSchema, SchemaLike
    from arthur_capture.reading import Source
    from arthur_capture.records import InferenceRecord

__all__ = [
    "DEFAULT_EXPORT_CHUNK_ROWS",
    "GROUND_TRUTH_FOLDER",
    "LOCATOR_NAME",
    "EngineExport",
    "EngineExporter",
    "Locator",
    "dataset_of",
    "export_engine",
]

DEFAULT_EXPORT_CHUNK_ROWS: Final = 100_000
"""Rows per file at most (the Engine reads a file whole into memory)."""
LOCATOR_NAME: Final = "arthur-dataset.json"
"""The name of a locator file."""
GROUND_TRUTH_FOLDER: Final = "ground-truth"
"""The folder of a dataset's ground truth, beside its year folders."""
HOUR_LAYOUT: Final = "%Y/%m/%d/%H"
"""The time part of every file prefix: one folder per UTC hour."""

_NAME: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,127})")
"""An endpoint or variant name that is safe as one folder (SageMaker's names all are)."""
_SAGEMAKER_KEY: Final = re.compile(
    r"(?:^|/)(?P<endpoint>[^/]+)/(?P<variant>[^/]+)/\d{4}/\d{2}/\d{2}/\d{2}/[^/]+$"
)
"""``…/{endpoint}/{variant}/yyyy/mm/dd/hh/{name}``, as SageMaker lays out capture keys."""
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")
_STEM_LENGTH: Final = 100
_DIGEST_LENGTH: Final = 16
_ARTHUR_TYPES: Final = {
    ValueType.INTEGER: "int",
    ValueType.FLOAT: "float",
    ValueType.BOOLEAN: "bool",
    ValueType.STRING: "str",
    ValueType.UNSTRUCTURED_TEXT: "str",
    ValueType.TIMESTAMP: "str",  # written as ISO 8601 text: one timestamp column only
    ValueType.ARRAY_STRING: "list[str]",
}
"""An attribute's value type → the Engine's column type (``DType``) in the locator."""


@dataclass(frozen=True, slots=True, order=True)
class Dataset:
    """One Arthur dataset: the captures of one endpoint variant (or their ground truth)."""

    endpoint: str
    """The SageMaker endpoint."""
    variant: str
    """The production variant."""
    ground_truth: bool = False
    """Whether this is the ground truth of the endpoint variant."""

    @property
    def folder(self) -> str:
        """Where its hour folders start, relative to the output."""
        base = f"{self.endpoint}/{self.variant}"
        return f"{base}/{GROUND_TRUTH_FOLDER}" if self.ground_truth else base

    @property
    def name(self) -> str:
        """``endpoint/variant`` (``…/ground-truth`` for ground truth)."""
        return self.folder


def _checked_name(value: str, what: str) -> str:
    if not _NAME.fullmatch(value):
        msg = (
            f"{what} {value!r} cannot name a folder: use letters, digits, '.', '_' and '-' "
            "(SageMaker's names all fit)"
        )
        raise ExportError(msg)
    return value


def dataset_of(source: str, *, endpoint: str | None = None, variant: str | None = None) -> Dataset:
    """The endpoint variant of a source: from the options, else from its SageMaker key.

    A capture key as SageMaker writes it ends in
    ``{endpoint}/{variant}/yyyy/mm/dd/hh/{name}.jsonl``; a local copy of that tree keeps it.

    Raises:
        ExportError: Neither the options nor the source's path tell, or a name is unsafe.
    """
    found = _SAGEMAKER_KEY.search(source.replace("\\", "/"))
    endpoint = endpoint or (found["endpoint"] if found else None)
    variant = variant or (found["variant"] if found else None)
    if endpoint is None or variant is None:
        missing = " and ".join(
            f"--{name}"
            for name, value in (("endpoint", endpoint), ("variant", variant))
            if not value
        )
        msg = (
            f"{source}: the path is not laid out as SageMaker writes captures "
            f"(.../ENDPOINT/VARIANT/yyyy/mm/dd/hh/NAME.jsonl); pass {missing}"
        )
        raise ExportError(msg)
    return Dataset(_checked_name(endpoint, "endpoint"), _checked_name(variant, "variant"))


@dataclass(frozen=True, slots=True)
class Locator:
    """What to enter when creating the dataset in Arthur (a bucket connector's dataset)."""

    dataset: Dataset
    """The dataset."""
    file_prefix: str
    """The strftime template of the hour folders, relative to the bucket (no ``s3://``)."""
    columns: tuple[tuple[str, str], ...]
    """Each column's name and the Engine's type (``str``, ``int``, ``float``, ``bool``,
    ``timestamp``, ``list[str]``)."""
    timestamp_column: str = "inference_timestamp"
    """The primary timestamp column."""
    file_suffix: str = r"\.parquet"
    """The regex a file's path must match (the Engine appends ``$``)."""
    data_file_type: str = "parquet"
    """The files' type."""
    timestamp_time_zone: str = "UTC"
    """The time zone of the hour folders."""

    def to_dict(self) -> dict[str, Any]:
        """The locator as JSON: the connector's fields first, then what it describes."""
        return {
            "file_prefix": self.file_prefix,
            "file_suffix": self.file_suffix,
            "data_file_type": self.data_file_type,
            "timestamp_time_zone": self.timestamp_time_zone,
            "columns": [{"name": name, "type": kind} for name, kind in self.columns],
            "dataset": self.dataset.name,
            "endpoint": self.dataset.endpoint,
            "variant": self.dataset.variant,
            "kind": "ground_truth" if self.dataset.ground_truth else "inferences",
            "primary_timestamp": self.timestamp_column,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Locator:
        """Read back :meth:`to_dict`.

        Raises:
            ExportError: Not a locator this library wrote.
        """
        try:
            dataset = Dataset(
                str(data["endpoint"]), str(data["variant"]), data["kind"] == "ground_truth"
            )
            columns = tuple((str(c["name"]), str(c["type"])) for c in data["columns"])
            return cls(
                dataset,
                str(data["file_prefix"]),
                columns,
                str(data["primary_timestamp"]),
                str(data["file_suffix"]),
                str(data["data_file_type"]),
                str(data["timestamp_time_zone"]),
            )
        except (KeyError, TypeError) as exc:
            raise ExportError(f"not a locator written by arthur-capture ({exc!r})") from None


@dataclass(slots=True)
class EngineExport:
    """What an export did: files written, locators, the ledger and what was held back."""

    output: str
    """Where the export went (a folder or ``s3://bucket/prefix``)."""
    files: list[str] = field(default_factory=list)
    """Every file put in place (URIs or paths), in order."""
    removed: list[str] = field(default_factory=list)
    """Files of an earlier export of the same sources that this one no longer makes."""
    locators: list[Locator] = field(default_factory=list)
    """The locator of every dataset this export wrote to."""
    ledger: Ledger = field(default_factory=Ledger)
    """The reader's counts: every line and inference emitted or rejected."""
    rejects: list[Reject] = field(default_factory=list)
    """The rejects (when no ``on_reject`` callback took them)."""
    ground_truth_rows: int = 0
    """Ground-truth rows written."""
    ground_truth_rejects: list[tuple[GroundTruth, GroundTruthError]] = field(default_factory=list)
    """Ground-truth rows that could not be joined, with why."""

    def summary(self) -> dict[str, Any]:
        """The export as JSON: the ledger, the files and the locators."""
        return {
            "output": self.output,
            "ledger": self.ledger.to_dict(),
            "files": list(self.files),
            "removed": list(self.removed),
            "locators": [locator.to_dict() for locator in self.locators],
            "ground_truth_rows": self.ground_truth_rows,
            "ground_truth_rejects": len(self.ground_truth_rejects),
        }


# --------------------------------------------------------------------------- sources


class _Hashing:
    """A source's bytes, read once, hashed on the way (the name of its files needs it)."""

    __slots__ = ("_hash", "_open", "_stream", "done")

    def __init__(self, opener: Callable[[], Any]) -> None:
        self._open = opener
        self._stream: Any = None
        self._hash = hashlib.sha256()
        self.done = False

    def read(self, size: int = -1, /) -> bytes:
        if self._stream is None:
            self._stream = self._open()
        data: bytes = self._stream.read(size)
        if data:
            self._hash.update(data)
        elif size != 0:
            self.done = True
        return data

    def digest(self) -> str:
        """The SHA-256 of all the bytes (whatever the reader left unread is read now)."""
        while not self.done:
            self.read(1 << 20)
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()
        return self._hash.hexdigest()[:_DIGEST_LENGTH]


@dataclass(slots=True)
class _Source:
    """One source to export: its name, its stream and its dataset."""

    name: str
    stream: _Hashing
    dataset: Dataset

    @property
    def stem(self) -> str:
        return stem_of(self.name, "capture")


def stem_of(name: str, default: str) -> str:
    """A file name's stem, safe in a file name: no folder, no ``.jsonl``/``.gz``, cut to 100."""
    base = name.replace("\\", "/").rstrip("/").rpartition("/")[2]
    for suffix in (".gz", ".jsonl", ".json"):
        base = base.removesuffix(suffix)
    stem = _UNSAFE.sub("_", base).strip("._-")[:_STEM_LENGTH]
    return stem or default


def _local_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and p.name.endswith(CAPTURE_SUFFIXES)
        )
        if not files:
            raise ExportError(f"{path}: no capture files (*.jsonl, *.jsonl.gz) under it")
        return files
    return [path]


def _open_file(path: Path) -> Callable[[], Any]:
    def opener() -> Any:
        try:
            return path.open("rb")
        except OSError as exc:
            raise StorageError(f"{path}: {exc.strerror or exc}") from exc

    return opener


def _open_s3(location: S3Location, client: Any) -> Callable[[], Any]:
    def opener() -> Any:
        return open_object(location, client=client)

    return opener


def _sources(
    items: Sequence[Any], endpoint: str | None, variant: str | None, s3: Any = None
) -> list[_Source]:
    """Every source, expanded (folders, S3 prefixes), with its dataset; nothing read yet."""
    found: list[tuple[str, Callable[[], Any]]] = []
    for item in items:
        if isinstance(item, Named):
            found.extend((item.name, opener) for _, opener in _openers(item.source, s3))
        else:
            found.extend(_openers(item, s3))
    sources: list[_Source] = []
    seen: set[str] = set()
    for name, opener in found:
        if name in seen:  # the same file twice would only replace its own files
            continue
        seen.add(name)
        dataset = dataset_of(name, endpoint=endpoint, variant=variant)
        sources.append(_Source(name, _Hashing(opener), dataset))
    return sources


def _openers(item: Any, s3: Any) -> list[tuple[str, Callable[[], Any]]]:
    if is_s3_uri(item):
        location = S3Location.parse(item)
        if location.key.endswith(CAPTURE_SUFFIXES):
            objects = [location]
        else:
            folder = (
                location.key
                if not location.key or location.key.endswith("/")
                else location.key + "/"
            )
            objects = [
                obj.location
                for obj in list_objects(
                    S3Location(location.bucket, folder), suffixes=CAPTURE_SUFFIXES, client=s3
                )
            ]
            if not objects:
                raise ExportError(f"{item}: no capture objects (*.jsonl, *.jsonl.gz) under it")
        return [(obj.uri, _open_s3(obj, s3)) for obj in objects]
    if isinstance(item, str | os.PathLike):
        return [(str(path), _open_file(path)) for path in _local_files(Path(item))]
    if isinstance(item, bytes | bytearray | memoryview):
        data = bytes(item)
        return [("<bytes>", lambda: io.BytesIO(data))]
    if callable(getattr(item, "read", None)):
        return [(getattr(item, "name", None) or "<stream>", lambda: item)]
    msg = (
        f"cannot export {type(item).__name__!r}: pass paths, folders, s3:// URIs, bytes or "
        "binary streams (a file's name and digest name its exported files)"
    )
    raise ExportError(msg)


# --------------------------------------------------------------------------- writing


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _arrow_kind(pa: Any, data_type: Any) -> str:
    types = pa.types
    if types.is_null(data_type):
        return "null"
    if types.is_timestamp(data_type):
        return "timestamp"
    if types.is_boolean(data_type):
        return "bool"
    if types.is_integer(data_type):
        return "int"
    if types.is_floating(data_type):
        return "float"
    if types.is_list(data_type) or types.is_large_list(data_type):
        return f"list[{_arrow_kind(pa, data_type.value_type)}]"
    if types.is_struct(data_type):
        return "json"
    return "str"


class _Partition:
    """The rows of one source for one dataset and hour, spilled to files every chunk."""

    __slots__ = ("chunk", "files", "hour")

    def __init__(self, hour: datetime, chunk: _Chunk) -> None:
        self.hour = hour
        self.chunk = chunk
        self.files: list[Path] = []


@dataclass(slots=True)
class EngineExporter:
    """Writes calls as Arthur Engine datasets into a store; see :func:`export_engine`.

    Args:
        store: Where the datasets go.
        schema: The model's schema: columns and their types (else the values').
        chunk_rows: The most rows in one file.
        row_group_size: Rows per Parquet row group.
    """

    store: Store
    schema: ModelSchema | None = None
    chunk_rows: int = DEFAULT_EXPORT_CHUNK_ROWS
    row_group_size: int = DEFAULT_ROW_GROUP_SIZE
    joiner: GroundTruthJoiner | None = None
    """Learns the exported calls, when ground truth is to be joined to them."""
    _columns: dict[Dataset, dict[str, str]] = field(default_factory=dict)
    _calls: dict[str, Dataset] = field(default_factory=dict)
    _spilled: int = 0

    def __post_init__(self) -> None:
        """Check the sizes."""
        if self.chunk_rows < 1 or self.row_group_size < 1:
            raise ValueError("chunk_rows and row_group_size must be positive")

    # ---- one source

    def export_source(
        self,
        source: _Source,
        calls: Iterable[Call | Reject],
        folder: Path,
        result: EngineExport,
        on_reject: Callable[[Reject], None],
    ) -> None:
        """Write one source's calls: spill per hour, then put its files in place."""
        pa = require("pyarrow", "the Arthur Engine export")
        partitions: dict[datetime, _Partition] = {}
        for item in calls:
            if isinstance(item, Reject):
                on_reject(item)
                continue
            for outcome in item.items():
                if isinstance(outcome, Reject):
                    on_reject(outcome)
                    continue
                if self.joiner is not None:
                    self._remember(outcome, source.dataset, self.joiner)
                hour = _hour(outcome.inference_timestamp)
                partition = partitions.get(hour)
                if partition is None:
                    partition = partitions[hour] = _Partition(hour, self._chunk())
                partition.chunk.add(outcome)
                if len(partition.chunk) >= self.chunk_rows:
                    self._spill(pa, source.dataset, partition, folder)
        for partition in partitions.values():
            if len(partition.chunk) or not partition.files:
                self._spill(pa, source.dataset, partition, folder)
        digest = source.stream.digest()
        self._publish(source.dataset, f"{source.stem}-{digest}", partitions.values(), result)

    def _chunk(self) -> _Chunk:
        return _Chunk(self.schema, None, timestamps_as_text=True)

    def _remember(
        self, record: InferenceRecord, dataset: Dataset, joiner: GroundTruthJoiner
    ) -> None:
        if record.index == 0:
            joiner.learn((record,))
        base = record.inference_id or record.event_id
        self._calls.setdefault(base, dataset)
        self._calls.setdefault(record.event_id, dataset)

    def _spill(self, pa: Any, dataset: Dataset, partition: _Partition, folder: Path) -> None:
        table = partition.chunk.table(pa)
        partition.chunk = self._chunk()
        self._write(pa, dataset, table, partition, folder)

    def _write(
        self, pa: Any, dataset: Dataset, table: Any, partition: _Partition, folder: Path
    ) -> None:
        """Write one part of a partition to the spool, noting its columns."""
        pq = require("pyarrow.parquet", "the Arthur Engine export")
        self._note_columns(pa, dataset, table)
        self._spilled += 1
        path = folder / f"{self._spilled:08d}.parquet"
        with path.open("wb") as handle:
            pq.write_table(table, handle, row_group_size=self.row_group_size)
            handle.flush()
            os.fsync(handle.fileno())
        partition.files.append(path)

    def _note_columns(self, pa: Any, dataset: Dataset, table: Any) -> None:
        known = self._columns.setdefault(dataset, {})
        for column in table.schema:
            if known.get(column.name, "null") == "null":  # a column of nulls says nothing yet
                known[column.name] = _arrow_kind(pa, column.type)

    def _publish(
        self,
        dataset: Dataset,
        base: str,
        partitions: Iterable[_Partition],
        result: EngineExport,
    ) -> None:
        """Put one source's files in place; remove its files an earlier export made."""
        mine = re.compile(rf"{re.escape(base)}-\d{{4,}}\.parquet")
        for partition in sorted(partitions, key=lambda p: p.hour):
            folder = f"{dataset.folder}/{partition.hour.strftime(HOUR_LAYOUT)}/"
            keys = [f"{folder}{base}-{n:04d}.parquet" for n in range(len(partition.files))]
            for key, path in zip(keys, partition.files, strict=True):
                self.store.put_file(key, path)
                result.files.append(self.store.uri_of(key))
            stale = [
                key
                for key in self.store.keys(folder)
                if mine.fullmatch(key.rpartition("/")[2]) and key not in keys
            ]
            if stale:
                self.store.delete(stale)
                result.removed.extend(self.store.uri_of(key) for key in stale)

    # ---- ground truth

    def export_ground_truth(
        self,
        rows: Iterable[GroundTruth],
        folder: Path,
        result: EngineExport,
        name: str = "ground-truth",
    ) -> None:
        """Join ground truth to the exported calls and write it beside their datasets.

        Files are named after ``name`` (the labels' file): exporting a grown file again
        replaces the files it made before; another name adds files beside them. Needs
        ``joiner`` set before the sources were exported.
        """
        if self.joiner is None:
            raise ValueError("set joiner before exporting the sources to join ground truth")
        joiner = self.joiner
        pa = require("pyarrow", "the Arthur Engine export")
        groups: dict[tuple[Dataset, datetime], list[dict[str, Any]]] = {}
        for row, update in joiner.updates(rows):
            if isinstance(update, GroundTruthError):
                result.ground_truth_rejects.append((row, update))
                continue
            dataset = self._calls.get(row.call_id)
            if dataset is None:
                error = GroundTruthError(
                    f"call {row.call_id!r} is not among the exported captures: its endpoint "
                    "and variant are unknown"
                )
                result.ground_truth_rejects.append((row, error))
                continue
            when = update["ground_truth_timestamp"]
            target = Dataset(dataset.endpoint, dataset.variant, ground_truth=True)
            groups.setdefault((target, _hour(when)), []).append(update)
        base = f"ground-truth-{stem_of(name, 'labels')}"
        by_dataset: dict[Dataset, list[_Partition]] = {}
        for (dataset, hour), updates in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            partition = _Partition(hour, self._chunk())
            for start in range(0, len(updates), self.chunk_rows):
                table = _ground_truth_table(pa, updates[start : start + self.chunk_rows], self)
                self._write(pa, dataset, table, partition, folder)
            by_dataset.setdefault(dataset, []).append(partition)
            result.ground_truth_rows += len(updates)
        for dataset, partitions in by_dataset.items():
            self._publish(dataset, base, partitions, result)

    # ---- locators

    def columns_seen(self) -> dict[Dataset, dict[str, str]]:
        """Each dataset's columns written so far, in order, with their types (a copy)."""
        return {dataset: dict(columns) for dataset, columns in self._columns.items()}

    def merge_columns(self, seen: dict[Dataset, dict[str, str]]) -> None:
        """Take in the columns another exporter saw (its :meth:`columns_seen`).

        As if written here after what this one wrote: merging each source's in order gives
        the locators one exporter over all of them would.
        """
        for dataset, columns in seen.items():
            known = self._columns.setdefault(dataset, {})
            for name, kind in columns.items():
                if known.get(name, "null") == "null":
                    known[name] = kind

    def locators(self) -> list[Locator]:
        """The locator of every dataset written so far."""
        prefix = self.store.bucket_prefix.strip("/").replace("%", "%%")
        result = []
        for dataset in sorted(self._columns):
            folder = f"{prefix}/{dataset.folder}" if prefix else dataset.folder
            seen = self._columns[dataset]
            columns = self._declared_columns(dataset) or tuple(
                (name, "str" if kind == "null" else kind) for name, kind in seen.items()
            )
            time_column = (
                "ground_truth_timestamp" if dataset.ground_truth else "inference_timestamp"
            )
            result.append(Locator(dataset, f"{folder}/{HOUR_LAYOUT}", columns, time_column))
        return result

    def _declared_columns(self, dataset: Dataset) -> tuple[tuple[str, str], ...]:
        """The columns the schema declares (the Engine should expect all of them)."""
        if self.schema is None:
            return ()
        if dataset.ground_truth:
            head = [("partner_inference_id", "str"), ("ground_truth_timestamp", "timestamp")]
            stages: tuple[Any, ...] = tuple(GROUND_TRUTH_STAGES)
        else:
            head = [("partner_inference_id", "str"), ("inference_timestamp", "timestamp")]
            stages = tuple(SEND_STAGES)
        seen = self._columns.get(dataset, {})
        declared = [
            (attr.name, _ARTHUR_TYPES.get(attr.value_type, seen.get(attr.name, "str")))
            for stage in stages
            for attr in self.schema.stage(stage)
            if not attr.implicit or attr.name in seen
        ]
        return (*head, *declared)

    def write_locators(self, locators: list[Locator]) -> None:
        """Write each dataset's locator beside it, and every locator of the output at its root.

        The root file is the locator itself when the output holds one dataset, else
        ``{"datasets": [...]}`` (earlier exports' datasets are kept).
        """
        for locator in locators:
            key = f"{locator.dataset.folder}/{LOCATOR_NAME}"
            self.store.put_bytes(key, _pretty(locator.to_dict()), content_type="application/json")
        known: dict[Dataset, dict[str, Any]] = {}
        existing = self.store.get_bytes(LOCATOR_NAME)
        if existing is not None:
            try:
                data = orjson.loads(existing)
            except orjson.JSONDecodeError:
                data = None
            entries = data.get("datasets", [data]) if isinstance(data, dict) else []
            for entry in entries:
                try:
                    known[Locator.from_dict(entry).dataset] = entry
                except ExportError:
                    continue
        for locator in locators:
            known[locator.dataset] = locator.to_dict()
        ordered = [known[dataset] for dataset in sorted(known)]
        root = ordered[0] if len(ordered) == 1 else {"datasets": ordered}
        self.store.put_bytes(LOCATOR_NAME, _pretty(root), content_type="application/json")


def _ground_truth_table(pa: Any, updates: list[dict[str, Any]], exporter: EngineExporter) -> Any:
    names: dict[str, None] = {}
    for update in updates:
        names.update(dict.fromkeys(update["ground_truth_data"]))
    types: dict[str, Any] = {}
    if exporter.schema is not None:
        from arthur_capture.sinks.parquet import _arrow_type  # noqa: PLC0415

        for attr in exporter.schema.attributes:
            if attr.name in names:
                kind = (
                    ValueType.STRING if attr.value_type is ValueType.TIMESTAMP else attr.value_type
                )
                types[attr.name] = _arrow_type(pa, kind)
    arrays = {
        "partner_inference_id": pa.array([u["partner_inference_id"] for u in updates], pa.string()),
        "ground_truth_timestamp": pa.array(
            [u["ground_truth_timestamp"] for u in updates], pa.timestamp("us", tz="UTC")
        ),
    }
    for name in names:
        values = [u["ground_truth_data"].get(name) for u in updates]
        values = [v.isoformat() if isinstance(v, datetime) else v for v in values]
        arrays[name] = pa.array(values, types.get(name))
    return pa.table(arrays)


def _pretty(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


def export_engine(
    *sources: Source | str | os.PathLike[str],
    out: str | os.PathLike[str] | Store,
    schema: SchemaLike | None = None,
    endpoint: str | None = None,
    variant: str | None = None,
    ground_truth: Iterable[GroundTruth] | None = None,
    ground_truth_name: str = "labels",
    chunk_rows: int = DEFAULT_EXPORT_CHUNK_ROWS,
    on_reject: Callable[[Reject], None] | None = None,
    reader: CaptureReader | None = None,
    **options: Any,
) -> EngineExport:
    """Export captures as Arthur Engine datasets: hour folders of Parquet and a locator each.

    Args:
        *sources: Capture files, folders of them (``*.jsonl``, ``*.jsonl.gz``, recursively),
            ``s3://`` objects or prefixes, bytes or binary streams (``Named`` to name them).
        out: A folder, ``s3://bucket/prefix``, or a :class:`~arthur_capture.storage.Store`.
        schema: The model's schema (a path or :class:`ModelSchema`): values are mapped and
            typed by it, as ``convert --schema`` does.
        endpoint: The endpoint of every source (default: from each source's SageMaker key).
        variant: The variant of every source (default: from each source's SageMaker key).
        ground_truth: Labels to join to the exported calls and write as a second dataset.
        ground_truth_name: Names the labels' files (``ground-truth-<name>-0000.parquet``):
            the same name replaces the files an earlier export of it made.
        chunk_rows: The most rows in one file.
        on_reject: Called with every reject (default: collected in the result).
        reader: The reader to use (default: one made from ``options`` and ``schema``).
        **options: :class:`~arthur_capture.ReaderOptions`.

    Returns:
        What was written, the locators and the ledger.

    Raises:
        ExportError: A source's endpoint or variant is unknown, or a source is not readable
            as a named file.
        StorageError: The output cannot be written.
        ParquetError: A column cannot be given one type (pass a schema).
        MissingDependencyError: pyarrow (or boto3 for S3) is not installed.
    """
    from arthur_capture.arthur.schema import ModelSchema  # noqa: PLC0415

    model = ModelSchema.of(schema) if schema is not None else None
    if reader is None:
        if model is not None:
            from arthur_capture.arthur.mapping import SchemaMapper  # noqa: PLC0415

            options["mapper"] = SchemaMapper(model)
        reader = CaptureReader(**options)
    elif options:
        raise TypeError("pass reader options or a reader, not both")
    store = out if isinstance(out, Store) else open_store(out)
    require("pyarrow", "the Arthur Engine export")
    joiner = None
    if ground_truth is not None:
        from arthur_capture.arthur.ground_truth import GroundTruthJoiner  # noqa: PLC0415

        joiner = GroundTruthJoiner(schema=model)
    exporter = EngineExporter(store, model, chunk_rows, joiner=joiner)
    result = EngineExport(store.uri)
    collect = on_reject or result.rejects.append
    plan = _sources(sources, endpoint, variant)
    with spool(store) as folder:
        for source in plan:
            stream = reader.iter_calls(Named(source.stream, source.name))
            exporter.export_source(source, stream, folder, result, collect)
            result.ledger.add(stream.ledger)
        if ground_truth is not None:
            exporter.export_ground_truth(ground_truth, folder, result, ground_truth_name)
        result.locators = exporter.locators()
        if result.locators:
            exporter.write_locators(result.locators)
    return result
