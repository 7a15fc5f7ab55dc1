"""The Lambda zip's figures: size, cold init and peak memory on one large capture object.

    .venv/bin/python benchmarks/lambda_memory.py [--size-mb 100] [--runs 5] [--work DIR]

Builds the zip with deploy/build.py (for this machine's CPython: the runtime's 3.12 is not
needed to measure), makes a virtual environment with boto3 only (what the Lambda Python runtime
has), unzips the zip, then:

- cold init: ``deploy/invoke.py --import-only`` in a fresh process, ``--runs`` times; the median
  time to import ``arthur_capture.aws.lambda_handler`` (and the interpreter's whole start);
- peak memory: a capture object of ``--size-mb`` (benchmarks/generate.py) put into moto S3 (in
  server mode, on loopback), the handler invoked on its S3 event with sink ``inferences`` and a
  local Arthur; the child's peak RSS (ru_maxrss) as the child reports it and as
  RUSAGE_CHILDREN sees it.

Prints one JSON object. Needs the dev extra (moto[server], boto3).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import venv
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parent.parent
INVOKE = ROOT / "deploy" / "invoke.py"
SCHEMA = ROOT / "benchmarks" / "generated.model.json"
TOKEN = "benchmark-token"  # noqa: S105 - the local Arthur's token
MODEL_ID = "benchmark-model"


def _run(*command: str | Path, **options: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own tools
        [str(c) for c in command], check=True, text=True, **options
    )


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(extra)
    return env


def _invoke(python: Path, task: Path, *args: str, **env: str) -> dict[str, Any]:
    answer = subprocess.run(  # noqa: S603
        [str(python), str(INVOKE), *args],
        env=_clean_env(PYTHONPATH=str(task), **env),
        cwd=task.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = answer.stdout.strip().splitlines()
    if not lines:
        raise SystemExit(f"invoke.py printed nothing: {answer.stderr[-2000:]}")
    summary: dict[str, Any] = json.loads(lines[-1])
    summary["exit_status"] = answer.returncode
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-mb", type=float, default=100.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", type=Path, default=None, help="keep the files here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lambda-memory-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        figures = measure(work, size_mb=args.size_mb, runs=args.runs)
    print(json.dumps(figures, indent=2))


def measure(work: Path, *, size_mb: float, runs: int) -> dict[str, Any]:
    """Build, set up the bare runtime, measure; returns the figures."""
    import boto3
    from moto.server import ThreadedMotoServer

    from arthur_capture.arthur.schema import ModelSchema
    from arthur_capture.testing import LocalArthur

    this_python = f"{sys.version_info.major}.{sys.version_info.minor}"
    lambda_zip = work / "arthur-capture-lambda.zip"
    build = ROOT / "deploy" / "build.py"
    _run(sys.executable, build, "--quiet", "--python-version", this_python, "--out", lambda_zip)
    task = work / "task"
    with zipfile.ZipFile(lambda_zip) as archive:
        archive.extractall(task)
        unzipped = sum(info.file_size for info in archive.infolist())
    runtime = work / "runtime"
    if not (runtime / "bin" / "python").exists():
        venv.create(runtime, with_pip=True)
        _run(runtime / "bin" / "python", "-m", "pip", "install", "--quiet", "boto3")
    python = runtime / "bin" / "python"

    imports = [_invoke(python, task, "--import-only")["import_seconds"] for _ in range(runs)]
    process_starts = []
    for _ in range(runs):
        started = time.perf_counter()
        _invoke(python, task, "--import-only")
        process_starts.append(time.perf_counter() - started)

    capture = work / "capture.jsonl"
    if not capture.exists():
        _run(
            sys.executable, ROOT / "benchmarks" / "generate.py", capture, "--size-mb", str(size_mb)
        )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        aws = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "benchmark",
            "AWS_SECRET_ACCESS_KEY": "benchmark",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="benchmark",
            aws_secret_access_key="benchmark",  # noqa: S106 - moto takes any
        )
        bucket, key = "captures", "datacapture/ep/AllTraffic/2026/11/30/00/big.jsonl"
        s3.create_bucket(Bucket=bucket)
        s3.upload_file(str(capture), bucket, key)
        event = {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "bucket": {"name": bucket},
                        "object": {"key": quote_plus(key), "size": capture.stat().st_size},
                    },
                }
            ]
        }
        event_file = work / "event.json"
        event_file.write_text(json.dumps(event), encoding="utf-8")
        schema = ModelSchema.from_json(SCHEMA.read_bytes())
        with LocalArthur(schema, model_id=MODEL_ID, token=TOKEN) as arthur:
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            run = _invoke(
                python,
                task,
                str(event_file),
                **aws,
                ARTHUR_HOST=arthur.url,
                ARTHUR_MODEL_ID=MODEL_ID,
                ARTHUR_ACCESS_TOKEN=TOKEN,
                ARTHUR_CAPTURE_SINK="inferences",
                ARTHUR_CAPTURE_SCHEMA=str(SCHEMA),
                ARTHUR_CAPTURE_REJECTS_URI=f"s3://{bucket}/rejects/",
            )
            children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            stored = len(arthur.inferences)
    finally:
        server.stop()
    objects = (run.get("result") or {}).get("objects") or [{}]
    return {
        "zip_bytes": lambda_zip.stat().st_size,
        "zip_mb": round(lambda_zip.stat().st_size / 1e6, 2),
        "unzipped_mb": round(unzipped / 1e6, 2),
        "python": this_python,
        "cold_init_import_seconds_median": round(statistics.median(imports), 3),
        "cold_init_import_seconds_all": [round(s, 3) for s in imports],
        "cold_process_seconds_median": round(statistics.median(process_starts), 3),
        "capture_bytes": capture.stat().st_size,
        "handler_exit_status": run["exit_status"],
        "handler_error": run.get("error"),
        "handler_seconds": round(run.get("handler_seconds", 0.0), 2),
        "outcome": objects[0].get("outcome"),
        "records": (objects[0].get("ledger") or {}).get("records"),
        "stored_on_local_arthur": stored,
        "peak_rss_mb_child_reported": round(run["peak_rss_bytes"] / 2**20, 1),
        "peak_rss_mb_rusage_children": round(max(children_peak, before) / 1024, 1),
    }


if __name__ == "__main__":
    main()
