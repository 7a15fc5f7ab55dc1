"""Small builders shared by the tests."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from arthur_capture import CaptureSide, InferenceRecord
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

UPLOAD_TIME = datetime(2024, 1, 19, 19, 27, 57, tzinfo=UTC)
"""The inference time of :func:`upload_record`'s records."""


def captured_side(data: str, content_type: str | None, encoding: str = "BASE64") -> CaptureSide:
    """One captured side, as SageMaker writes it (BASE64 unless told otherwise)."""
    return CaptureSide.model_validate(
        {"observedContentType": content_type, "data": data, "encoding": encoding}
    )


def b64(raw: bytes) -> str:
    """Standard base64 of ``raw``, as text."""
    return base64.b64encode(raw).decode("ascii")


def upload_record(
    i: int,
    *,
    prefix: str = "evt-",
    inputs: dict[str, Any] | None = None,
    outputs: dict[str, Any] | None = None,
) -> InferenceRecord:
    """Record ``i`` of an upload: partner ID ``<prefix><i>``, line ``i + 1`` of capture.jsonl."""
    return InferenceRecord(
        partner_inference_id=f"{prefix}{i}",
        inference_timestamp=UPLOAD_TIME,
        inputs={"age": float(i)} if inputs is None else inputs,
        outputs={"score": 0.5} if outputs is None else outputs,
        event_id=f"{prefix}{i}",
        inference_id=None,
        index=0,
        batch_size=1,
        source="capture.jsonl",
        line_number=i + 1,
    )


_MEASURED_LAUNCHER = """
import json, os, subprocess, sys

with open(sys.argv[1], "wb") as out, open(sys.argv[2], "wb") as err:
    child = subprocess.Popen([sys.executable, "-m", "arthur_capture", *sys.argv[3:]], stdout=out,
                             stderr=err)
    _, status, usage = os.wait4(child.pid, 0)  # reap it ourselves, for its resource usage
print(json.dumps({"status": os.waitstatus_to_exitcode(status), "maxrss_kib": usage.ru_maxrss}))
"""


def run_cli_measured(folder: Path, *args: str) -> tuple[int, float, Path, str]:
    """Run the CLI in a child; its exit status, peak RSS in MiB, stdout file and stderr text.

    A small launcher process starts the CLI and reaps it with ``wait4``: Linux counts the RSS a
    process had before ``exec`` in ``ru_maxrss``, so a child of the large pytest process would
    report pytest's size.
    """
    out, err = folder / "stdout", folder / "stderr"
    launched = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", _MEASURED_LAUNCHER, str(out), str(err), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    child = json.loads(launched.stdout)
    return child["status"], child["maxrss_kib"] / 1024, out, err.read_text(encoding="utf-8")


def capture_line(
    request: str,
    response: str,
    *,
    content_type: str = "text/csv",
    encoding: str = "CSV",
    event_id: str = "e-1",
    inference_id: str | None = None,
    when: str = "2024-03-01T09:15:00Z",
) -> bytes:
    """One capture line (with its newline), both sides of one content type and encoding."""
    meta: dict[str, Any] = {"eventId": event_id, "inferenceTime": when}
    if inference_id is not None:
        meta["inferenceId"] = inference_id
    return (
        orjson.dumps(
            {
                "captureData": {
                    "endpointInput": {
                        "observedContentType": content_type,
                        "mode": "INPUT",
                        "data": request,
                        "encoding": encoding,
                    },
                    "endpointOutput": {
                        "observedContentType": content_type,
                        "mode": "OUTPUT",
                        "data": response,
                        "encoding": encoding,
                    },
                },
                "eventMetadata": meta,
                "eventVersion": "0",
            }
        )
        + b"\n"
    )
