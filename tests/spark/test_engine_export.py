"""The Spark backfill of the Arthur Engine export writes what the Python export writes.

Over a SageMaker-layout tree (two endpoints, several hours, a file with a bad line, a small
``chunk_rows`` so hours take several parts), ``arthur_capture.spark.export_engine`` and
``arthur_capture.sinks.engine.export_engine`` into two folders give the same relative file
paths, equal Parquet tables file by file, byte-equal locators, the same ledger and the same
rejects; a second Spark run over the same files rewrites the same names and adds none.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pyarrow.parquet as pq
import pytest

from arthur_capture.sinks.engine import export_engine as python_export
from arthur_capture.spark import EngineBackfill, export_engine
from arthur_capture.spark.engine import source_name
from arthur_capture.storage import SPOOL_PREFIX
from tests.conftest import FIXTURES
from tests.spark.test_spark import spark  # noqa: F401 - the module's session fixture

if TYPE_CHECKING:
    from pathlib import Path

    from pyspark.sql import SparkSession


pytestmark = pytest.mark.filterwarnings(
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)

CAPTURES = FIXTURES / "engine" / "captures"
BAD_FILE = "churn-b/AllTraffic/2024/03/01/11/59-59-999-badline00.jsonl"


def _tree(root: Path) -> Path:
    """The engine fixture tree, plus one file of a good line and a bad one."""
    tree = root / "captures"
    shutil.copytree(CAPTURES, tree)
    first = min(tree.rglob("*.jsonl")).read_bytes().splitlines(keepends=True)[0]
    bad = tree / BAD_FILE
    bad.write_bytes(first + b"{not json\n")
    return tree


def _files(root: Path) -> dict[str, Path]:
    found = {
        p.relative_to(root).as_posix(): p
        for p in root.rglob("*")
        if p.is_file() and SPOOL_PREFIX not in p.as_posix()
    }
    assert not any(SPOOL_PREFIX in p.as_posix() for p in root.rglob("*"))  # spools removed
    return found


def _relative(paths: tuple[str, ...] | list[str], root: Path) -> list[str]:
    return [p.removeprefix(f"{root}/") for p in paths]


def test_source_names_match_the_python_export() -> None:
    assert source_name("file:/data/cap/ep/v/2024/01/01/00/a%20b.jsonl") == (
        "/data/cap/ep/v/2024/01/01/00/a b.jsonl"
    )
    assert source_name("s3a://bucket/cap/x.jsonl") == "s3://bucket/cap/x.jsonl"
    assert source_name("/plain/path.jsonl") == "/plain/path.jsonl"


def test_spark_export_equals_the_python_export(
    spark: SparkSession,  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    tree = _tree(tmp_path)
    py_out, sp_out = tmp_path / "python", tmp_path / "spark"

    py = python_export(tree, out=py_out, chunk_rows=2)
    sp = export_engine(spark, str(tree), sp_out, chunk_rows=2, files_per_partition=2)
    assert isinstance(sp, EngineBackfill)

    py_files, sp_files = _files(py_out), _files(sp_out)
    assert sorted(sp_files) == sorted(py_files)
    parquet = [name for name in py_files if name.endswith(".parquet")]
    assert any(name.endswith("-0001.parquet") for name in parquet)  # several parts an hour
    assert {name.split("/")[0] for name in parquet} == {"churn-a", "churn-b"}
    for name in parquet:
        assert pq.read_table(sp_files[name]).equals(pq.read_table(py_files[name])), name
    locators = [name for name in py_files if name.endswith("arthur-dataset.json")]
    assert len(locators) == 3  # two datasets and the root
    for name in locators:
        assert sp_files[name].read_bytes() == py_files[name].read_bytes(), name
    assert [loc.to_dict() for loc in sp.locators] == [loc.to_dict() for loc in py.locators]

    assert _relative(sp.files, sp_out) == _relative(py.files, py_out)
    assert sp.removed == ()
    assert sp.ledger.to_dict() == py.ledger.to_dict()
    assert sp.ledger.sources == len(list(tree.rglob("*.jsonl")))
    assert sp.rejects_count == len(py.rejects) == sp.ledger.rejected_lines
    sp_rejects = sorted(
        (row.asDict() for row in sp.rejects.collect()), key=lambda r: (r["source"], r["line"])
    )
    assert sp_rejects == [r.to_dict() for r in py.rejects]
    assert {"source": str(tree / BAD_FILE), "line": 2, "reason": "invalid_json"}.items() <= (
        sp_rejects[-1].items()
    )
    sp.unpersist()

    # again, over the same files: the same names, rewritten; nothing new, nothing removed
    before = {name: path.stat().st_mtime_ns for name, path in sp_files.items()}
    again = export_engine(spark, str(tree), sp_out, chunk_rows=2)
    after = _files(sp_out)
    assert sorted(after) == sorted(before)
    assert again.files == sp.files
    assert again.removed == ()
    assert again.ledger.to_dict() == sp.ledger.to_dict()
    rewritten = [n for n in parquet if after[n].stat().st_mtime_ns != before[n]]
    assert rewritten  # written again, under the same names
    for name in parquet:
        assert pq.read_table(after[name]).equals(pq.read_table(py_files[name])), name
    again.unpersist()
