"""Time a Spark backfill to Parquet against single-process ``arthur-capture convert``.

    python benchmarks/spark_backfill.py --size-mb 200 --files 50 [--master local[2]]
        [--files-per-partition N] [--workdir DIR] [--json OUT.json]

Generates ``--files`` capture files (``benchmarks/generate.py``, one seed per file, laid out
under SageMaker's ``yyyy/mm/dd/hh/`` prefixes, ``--size-mb`` in all), then times, each from
the same files and with the model ``benchmarks/generated.model.json``:

- ``spark``: ``arthur_capture.spark.backfill`` in Spark local mode (Parquet, rejects, per-file
  ledgers), after the session has started (its start-up is reported apart);
- ``convert``: ``arthur-capture convert FILES --schema … --format parquet`` in one process.

Prints a Markdown table (wall time, records/s, files/s, MB/s) and checks that both wrote the
same number of inferences. Needs the ``[spark]`` extra and Java 17 or newer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MODEL = HERE / "generated.model.json"


def _generator() -> Any:
    sys.path.insert(0, str(HERE))
    try:
        import generate
    finally:
        sys.path.pop(0)
    return generate


def make_files(root: Path, size_mb: float, files: int) -> list[Path]:
    """``files`` capture files of ``size_mb / files`` MB each, one per minute, by hour prefix."""
    generate = _generator()
    per_file = int(size_mb * 1024 * 1024 / files)
    paths = []
    for n in range(files):
        hour, minute = divmod(n, 60)
        folder = root / "2024" / "03" / "01" / f"{hour:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{minute:02d}-00-000-{n:08x}.jsonl"
        with path.open("wb") as out:
            generate.generate(out, per_file, seed=n + 1)
        paths.append(path)
    return paths


def run_spark(
    root: Path, out: Path, master: str, files_per_partition: int | None
) -> dict[str, Any]:
    """Start a session, run the backfill, stop; returns timings and the ledger."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    import warnings

    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas")
    from pyspark.sql import SparkSession

    from arthur_capture.schema import ModelSchema
    from arthur_capture.spark import backfill

    started = time.perf_counter()
    spark = (
        SparkSession.builder.master(master)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.range(1).collect()
    startup = time.perf_counter() - started
    schema = ModelSchema.from_json(MODEL.read_bytes())
    began = time.perf_counter()
    result = backfill(
        spark,
        str(root),
        str(out / "inferences"),
        schema=schema,
        rejects_output=str(out / "rejects"),
        ledger_output=str(out / "ledgers"),
        files_per_partition=files_per_partition,
    )
    wall = time.perf_counter() - began
    spark.stop()
    return {"startup_s": startup, "wall_s": wall, "ledger": result.ledger.to_dict()}


def run_convert(paths: list[Path], out: Path) -> dict[str, Any]:
    """``arthur-capture convert --format parquet`` over every file, in one process."""
    summary = out / "summary.json"
    command = [
        str(Path(sys.executable).with_name("arthur-capture")),
        "convert",
        *map(str, paths),
        "--schema",
        str(MODEL),
        "--format",
        "parquet",
        "-o",
        str(out / "inferences.parquet"),
        "--summary",
        str(summary),
    ]
    began = time.perf_counter()
    done = subprocess.run(command, check=False, capture_output=True)  # noqa: S603
    wall = time.perf_counter() - began
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr.decode(errors="replace"))
    return {"wall_s": wall, "ledger": json.loads(summary.read_text())}


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=200.0)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--files-per-partition", type=int, default=None)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="spark-backfill-", dir=args.workdir) as folder:
        work = Path(folder)
        root = work / "capture" / "my-endpoint" / "AllTraffic"
        paths = make_files(root, args.size_mb, args.files)
        size = sum(p.stat().st_size for p in paths)
        (work / "spark").mkdir()
        (work / "convert").mkdir()
        spark = run_spark(root, work / "spark", args.master, args.files_per_partition)
        convert = run_convert(paths, work / "convert")
    records = spark["ledger"]["records"]
    if records != convert["ledger"]["records"] or spark["ledger"] != convert["ledger"]:
        raise SystemExit(f"the ledgers differ: {spark['ledger']} != {convert['ledger']}")
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}"
    )
    print(
        f"Input: {len(paths)} files, {size / 1e6:.1f} MB, {spark['ledger']['lines']:,} lines, "
        f"{records:,} inferences; Spark session start-up {spark['startup_s']:.1f} s (not counted)"
    )
    print()
    print("| path | wall (s) | records/s | files/s | MB/s |")
    print("|---|---:|---:|---:|---:|")
    rows = {
        f"spark backfill ({args.master})": spark["wall_s"],
        "arthur-capture convert --format parquet": convert["wall_s"],
    }
    for name, wall in rows.items():
        print(
            f"| {name} | {wall:.1f} | {records / wall:,.0f} | {len(paths) / wall:.1f} "
            f"| {size / 1e6 / wall:.1f} |"
        )
    if args.json is not None:
        report = {
            "files": len(paths),
            "bytes": size,
            "records": records,
            "master": args.master,
            "spark": spark,
            "convert": convert,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
