"""The function's zip is complete: the handler runs from it with only what the runtime has.

``deploy/build.py`` builds the zip for the Lambda runtime (CPython 3.12); this machine has
CPython 3.11 only, so these tests build it with ``--python-version 3.11`` (same packages, the
compiled wheels for 3.11). A fresh virtual environment without the project gets boto3 alone (what
the Lambda Python runtime provides), the zip is unzipped, and ``deploy/invoke.py`` runs the
handler in a subprocess with ``PYTHONPATH`` set to the unzipped folder, against moto S3 and a
local Arthur.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from arthur_capture import read_records
from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.testing import LocalArthur

if TYPE_CHECKING:
    from tests.s3_server import S3Bucket

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "deploy" / "build.py"
INVOKE = ROOT / "deploy" / "invoke.py"
SCHEMA = ROOT / "benchmarks" / "generated.model.json"
GENERATE = ROOT / "benchmarks" / "generate.py"
TOKEN = "zip-test-token"  # noqa: S105 - the local Arthur's token
MODEL_ID = "zip-test-model"
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "urllib3", "dateutil", "six"}
THIS_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture(scope="module")
def lambda_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zip") / "arthur-capture-lambda.zip"
    command = [sys.executable, str(BUILD), "--quiet", "--python-version", THIS_PYTHON]
    subprocess.run([*command, "--out", str(out)], check=True, cwd=ROOT)  # noqa: S603
    return out


@pytest.fixture(scope="module")
def unzipped(lambda_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("task")  # the runtime unzips to /var/task
    with zipfile.ZipFile(lambda_zip) as archive:
        archive.extractall(folder)
    return folder


@pytest.fixture(scope="module")
def runtime_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh interpreter with boto3 only, like the Lambda Python runtime."""
    where = tmp_path_factory.mktemp("runtime") / "venv"
    venv.create(where, with_pip=True, clear=True)
    python = where / "bin" / "python"
    subprocess.run(  # noqa: S603
        [str(python), "-m", "pip", "install", "--quiet", "boto3"], check=True, cwd=where
    )
    return python


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(extra)
    return env


def _invoke(python: Path, unzipped: Path, *args: str, **env: str) -> tuple[int, dict[str, Any]]:
    answer = subprocess.run(  # noqa: S603
        [str(python), str(INVOKE), *args],
        env=_clean_env(PYTHONPATH=str(unzipped), **env),
        cwd=unzipped.parent,  # not the repository: nothing may come from the working tree
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    lines = answer.stdout.strip().splitlines()
    assert lines, answer.stderr
    return answer.returncode, json.loads(lines[-1])


def test_the_zip_leaves_out_what_the_runtime_has(lambda_zip: Path) -> None:
    with zipfile.ZipFile(lambda_zip) as archive:
        names = archive.namelist()
    top = {name.partition("/")[0] for name in names}
    packages = {name for name in top if not name.endswith((".dist-info", ".py", ".pth"))}
    assert {"arthur_capture", "aws_lambda_powertools", "httpx", "pydantic_core"} <= packages
    assert "jmespath" in packages  # powertools needs it; kept, see deploy/build.py
    assert not packages & RUNTIME_PROVIDED
    assert not packages & {"rich", "pygments", "markdown_it", "mdurl"}  # the CLI's only
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert "pyarrow" not in packages  # only with --engine


def test_the_bare_runtime_has_no_project(runtime_python: Path, tmp_path: Path) -> None:
    answer = subprocess.run(  # noqa: S603
        [str(runtime_python), "-c", "import arthur_capture"],
        env=_clean_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert answer.returncode == 1
    assert "No module named 'arthur_capture'" in answer.stderr


def test_the_handler_imports_from_the_zip(runtime_python: Path, unzipped: Path) -> None:
    status, summary = _invoke(runtime_python, unzipped, "--import-only")
    assert status == 0, summary
    assert summary["import_seconds"] > 0
    assert not {"pyarrow", "pandas"} & set(summary["modules"])


def _capture_file(tmp_path: Path) -> Path:
    out = tmp_path / "capture.jsonl"
    subprocess.run(  # noqa: S603
        [sys.executable, str(GENERATE), str(out), "--size-mb", "0.05", "--seed", "3"],
        check=True,
        cwd=ROOT,
    )
    return out


def _s3_event(bucket: str, key: str, size: int) -> dict[str, Any]:
    from urllib.parse import quote_plus

    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": quote_plus(key), "size": size},
        },
    }
    return {"Records": [record]}


def test_the_handler_runs_from_the_zip(
    runtime_python: Path, unzipped: Path, s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    capture = _capture_file(tmp_path)
    key = "datacapture/my endpoint/AllTraffic/2026/11/30/00/capture-1.jsonl"
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key=key, Body=capture.read_bytes())
    event = tmp_path / "event.json"
    event.write_text(json.dumps(_s3_event(s3_bucket.name, key, capture.stat().st_size)))
    expected = read_records(capture, schema=SCHEMA)  # what the library makes of it here
    assert expected.records
    assert not expected.rejects
    schema = ModelSchema.from_json(SCHEMA.read_bytes())
    with LocalArthur(schema, model_id=MODEL_ID, token=TOKEN) as arthur:
        status, summary = _invoke(
            runtime_python,
            unzipped,
            str(event),
            ARTHUR_HOST=arthur.url,
            ARTHUR_MODEL_ID=MODEL_ID,
            ARTHUR_ACCESS_TOKEN=TOKEN,
            ARTHUR_CAPTURE_SINK="inferences",
            ARTHUR_CAPTURE_SCHEMA=str(SCHEMA),
            ARTHUR_CAPTURE_REJECTS_URI=f"{s3_bucket.uri}/rejects/",
        )
        stored = arthur.inferences
        duplicates = arthur.duplicates
    assert status == 0, summary
    (done,) = summary["result"]["objects"]
    assert done["object"] == f"{s3_bucket.uri}/{key}"
    assert done["outcome"] == "done"
    assert done["ledger"]["records"] == len(expected.records)
    assert done["rejects"] == 0
    # every inference stored once, under the partner ID the library gives it
    assert sorted(stored) == sorted(r.partner_inference_id for r in expected.records)
    assert not duplicates
