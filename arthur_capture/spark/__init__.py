"""Read capture files with PySpark, one task per file or group of files (extra: ``[spark]``).

Install with ``pip install 'arthur-capture[spark]'`` (pyspark, pyarrow, pandas) on the driver
*and* the executors. This module is not imported by ``import arthur_capture``::

    from arthur_capture.spark import read_captures

    frames = read_captures(spark, "s3a://bucket/capture/my-endpoint/AllTraffic/2024/01/", schema=s)
    frames.inferences.show()  # one row per inference
    frames.rejects.show()  # one row per rejected line or inference
    assert frames.ledger().balanced

How it works: Spark's ``binaryFile`` source lists the files (``pathGlobFilter``,
``recursiveFileLookup``) and reads each one whole into one row; ``mapInArrow`` runs the same
:meth:`~arthur_capture.CaptureReader.iter_records` as the library and the command line over each
file's bytes, on the executors, and emits Arrow batches. There is no second copy of any decoding,
mapping or coercion rule here: with a model schema the reader's own
:class:`~arthur_capture.arthur.SchemaMapper` maps and coerces; a file is never split.

One pass yields three kinds of row, kept apart in :attr:`CaptureFrames.tagged` and offered as
:attr:`CaptureFrames.inferences`, :attr:`CaptureFrames.rejects` and
:attr:`CaptureFrames.ledgers`; each action on them decodes the files again unless the frames are
persisted (:meth:`CaptureFrames.persist`; :func:`backfill` does it for you). See
``docs/spark.md`` for EMR, Glue and SageMaker Processing, s3a and sizing.

The package, by what each module owns: :mod:`~arthur_capture.spark.read` (listing, reading,
the ledger, file partitioning), :mod:`~arthur_capture.spark.write` (Arthur's flat Parquet,
:func:`backfill`), :mod:`~arthur_capture.spark.upload` (uploads from the executors),
:mod:`~arthur_capture.spark.engine` (the Arthur Engine export, named as the library's); and,
private, ``_types`` (Spark and Arrow types, the column plan), ``_decode`` (the task that
decodes the files) and ``_session`` (session settings for a block).
"""

from __future__ import annotations

from arthur_capture.spark._types import spark_type
from arthur_capture.spark.engine import EngineBackfill, export_engine
from arthur_capture.spark.read import (
    DEFAULT_PATH_GLOB,
    CaptureFile,
    CaptureFrames,
    collect_ledger,
    file_partitioning,
    list_capture_files,
    read_captures,
)
from arthur_capture.spark.upload import PartitionUpload, upload_partitions
from arthur_capture.spark.write import (
    BackfillResult,
    backfill,
    to_arthur_frame,
    write_inferences_parquet,
)

__all__ = [
    "DEFAULT_PATH_GLOB",
    "BackfillResult",
    "CaptureFile",
    "CaptureFrames",
    "EngineBackfill",
    "PartitionUpload",
    "backfill",
    "collect_ledger",
    "export_engine",
    "file_partitioning",
    "list_capture_files",
    "read_captures",
    "spark_type",
    "to_arthur_frame",
    "upload_partitions",
    "write_inferences_parquet",
]
