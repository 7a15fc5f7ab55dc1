"""Time a Spark backfill to Parquet against single-process ``arthur-capture convert``.

    python benchmarks/spark_backfill.py --size-mb 200 --files 50 [--master local[2]]
        [--files-per-partition N] [--workdir DIR] [--json OUT.json]

Generates ``--files`` capture files (``benchmarks/generate.py``, one seed per file, laid out
under SageMaker's ``yyyy/mm/dd/hh/`` prefixes, ``--size-mb`` in all), then times, each from
the same files and with the model ``benchmarks/generated.model.json``:

- ``spark``: ``arthur_capture.spark.backfill`` in Spark local mode (Parquet, rejects, per-file
  ledgers), after the session has started (its start-up is reported apart);
- ``convert``: ``arthur-capture convert FILES --schema … --format parquet`` in one process.

Prints a Markdown table (wall time, records/s, files/s, MB/s, CPU seconds) and checks both wrote the
same number of inferences. Needs the ``[spark]`` extra and Java 17 or newer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MODEL = HERE / "generated.model.json"


def spark_cpu_seconds() -> float | None:
    """CPU time so far of Spark's JVM and its Python workers (Linux ``/proc``; else ``None``)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if b"pyspark" in command or (b"java" in command and b"spark" in command):
            total += sum(int(v) for v in fields[11:15]) / tick  # utime stime cutime cstime
    return total


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

    from arthur_capture.arthur.schema import ModelSchema
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
    cpu_before = spark_cpu_seconds()
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
    cpu_after = spark_cpu_seconds()
    cpu = cpu_after - cpu_before if cpu_after is not None and cpu_before is not None else None
    spark.stop()
    return {"startup_s": startup, "wall_s": wall, "cpu_s": cpu, "ledger": result.ledger.to_dict()}


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
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(command, check=False, capture_output=True)  # noqa: S603
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr.decode(errors="replace"))
    return {"wall_s": wall, "cpu_s": cpu, "ledger": json.loads(summary.read_text())}


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
    load_before = f"{os.getloadavg()[0]:.2f}"
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
    print(f"Load average before / after: {load_before} / {os.getloadavg()[0]:.2f}")
    print()
    print("| path | wall (s) | records/s | files/s | MB/s | CPU (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = {
        f"spark backfill ({args.master})": spark,
        "arthur-capture convert --format parquet": convert,
    }
    for name, run in rows.items():
        wall = run["wall_s"]
        cpu = "n/a" if run["cpu_s"] is None else f"{run['cpu_s']:.1f}"
        print(
            f"| {name} | {wall:.1f} | {records / wall:,.0f} | {len(paths) / wall:.2f} "
            f"| {size / 1e6 / wall:.1f} | {cpu} |"
        )
    if args.json is not None:
        report = {
            "files": len(paths),
            "bytes": size,
            "records": records,
            "master": args.master,
            "files_per_partition": args.files_per_partition,
            "spark": spark,
            "convert": convert,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
