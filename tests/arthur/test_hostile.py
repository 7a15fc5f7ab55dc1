"""The uploader against a hostile Arthur (``hostile.py``): nothing lost, no hidden duplicate.

For every mode of the hostile server, once through :class:`ArthurClient` and once through the
command line in a subprocess: the server's own record of what it stored is compared with the
client's account. *Lost*: the client says accepted, the server does not hold it. *Duplicated*:
stored twice, and not in ``possible_duplicates``. Both must be 0; no traceback may escape;
and no 8-character piece of the (long, random) token may appear in anything printed,
logged or returned. The huge-body and gzip-bomb modes also bound the CLI's peak RSS (slow).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from arthur_capture.arthur import ArthurClient, RetryPolicy, UploadResult
from arthur_capture.arthur.errors import ArthurAPIError, ArthurAuthError
from tests.arthur.hostile import MODES, HostileArthur, refused
from tests.helpers import upload_record

if TYPE_CHECKING:
    from collections.abc import Iterable

    from arthur_capture.records import InferenceRecord

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok_" + secrets.token_urlsafe(48)  # 68 random characters, new on every run
PIECES = frozenset(TOKEN[i : i + 8] for i in range(len(TOKEN) - 7))
MODEL = "m1"
N = 45
CHUNK = 10
IDS = [f"e-{i}" for i in range(N)]
FAST = RetryPolicy(attempts=4, initial=0.01, maximum=0.02, jitter=0.0)

UNREADABLE = ("bad_gzip", "gzip_bomb", "deep_json_207", "huge_body", "drip_body")
"""Modes whose 2xx answers cannot be read: every record possibly stored, nothing re-sent."""
RESENT = ("deep_json_500", "drip_headers", "reset_after_body")
"""Modes that store a chunk and lose the answer: every chunk re-sent and flagged."""
SLOW_CLIENT = frozenset({"drip_headers", "drip_body"})
"""Modes that take seconds through the client (a deadline per chunk): in the slow lane."""
SLOW_CLI = SLOW_CLIENT | frozenset(RESENT)
"""Modes that take seconds through the CLI (its retries wait 0.5 s and more)."""


def modes(slow: frozenset[str]) -> list[Any]:
    return [pytest.param(m, marks=pytest.mark.slow) if m in slow else m for m in sorted(MODES)]


def leaks(*texts: str) -> list[str]:
    """The 8-character pieces of the token found in ``texts``."""
    joined = "\n".join(texts)
    return sorted(piece for piece in PIECES if piece in joined)


def record(i: int) -> InferenceRecord:
    return upload_record(i, prefix="e-")


def accepted_ids(result: UploadResult, handed: Iterable[str]) -> set[str]:
    """The IDs the client claims were accepted: handed over, neither refused nor failed."""
    others = {r.partner_inference_id for r in result.refusals}
    others |= {f.partner_inference_id for f in result.failed}
    claimed = set(handed) - others
    assert len(claimed) == result.accepted
    return claimed


def expected_refusals(ids: Iterable[str]) -> int:
    return sum(1 for i in ids if refused(i))


# --------------------------------------------------------------------------- ArthurClient


def upload_to(
    mode: str, **server: Any
) -> tuple[HostileArthur, UploadResult, ArthurAPIError | None]:
    with HostileArthur(mode, TOKEN, model_id=MODEL, **server) as srv:
        client = ArthurClient(
            srv.url,
            TOKEN,
            MODEL,
            chunk_size=CHUNK,
            retry=FAST,
            request_deadline=1.0,
            max_response_bytes=1024 * 1024,
        )
        error: ArthurAPIError | None = None
        with client:
            try:
                result = client.upload(record(i) for i in range(N))
            except ArthurAPIError as exc:
                result, error = exc.result or UploadResult(), exc
    return srv, result, error


@pytest.mark.parametrize("mode", modes(SLOW_CLIENT))
def test_the_client_loses_nothing_and_hides_no_duplicate(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore too: headers, reason phrases
    srv, result, error = upload_to(mode, huge_bytes=64 * 1024 * 1024)
    handed = IDS[: result.total]
    accepted = accepted_ids(result, handed)
    assert srv.lost(accepted) == set()
    assert srv.duplicated(result.possible_duplicates) == set()
    assert result.balanced
    texts = [repr(result), str(result.summary()), caplog.text, str(error), repr(error)]
    texts += [r.getMessage() for r in caplog.records]
    assert leaks(*texts) == []
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # DEBUG was on
    everyone = {i for i in IDS if not refused(i)}
    if mode in ("ok", "wrong_counts"):
        assert (result.accepted, result.refused) == (len(everyone), N - len(everyone))
        assert result.requests == 5
        assert len(result.warnings) == (5 if mode == "wrong_counts" else 0)
    elif mode == "few_results":  # the last record of each chunk has no result
        assert len(result.possibly_stored) == 5
        assert all("no usable result" in f.error for f in result.failed)
    elif mode in UNREADABLE:
        assert (result.accepted, result.refused, len(result.possibly_stored)) == (0, 0, N)
        assert result.requests == 5  # a 2xx is never re-sent, even unreadable
        assert result.possible_duplicates == []
        assert len(result.warnings) == 5
    elif mode in RESENT:
        assert (result.accepted, result.requests) == (len(everyone), 10)
        assert result.possible_duplicates == IDS
        assert set(srv.stored) == everyone
        assert all(n == 2 for n in srv.stored.values())  # each stored twice, each flagged
    elif mode == "auth_midway":
        assert isinstance(error, ArthurAuthError)
        # chunks 0 and 1 accepted, chunk 2 refused whole, e-30 read to close it: not sent
        assert result.total == 31
        assert [f.partner_inference_id for f in result.not_stored] == IDS[20:30]
        assert [f.partner_inference_id for f in result.not_sent] == ["e-30"]
        assert result.stopped == error.message
    elif mode == "chunk_400":  # three chunks refused whole, then the upload stops sending
        assert (result.accepted, len(result.not_stored), len(result.not_sent)) == (0, 30, 15)
        assert result.aborted
        assert result.stopped == "3 chunk(s) in a row failed; the rest was not sent"
        assert srv.stored == {}
    elif mode == "echo_token":
        assert [f.partner_inference_id for f in result.not_stored] == IDS[20:30]  # the 400
        assert result.possible_duplicates == IDS[10:20]  # the 500, stored, then re-sent
        assert "***" in result.refusals[0].message
        assert result.refusals[0].message.startswith("x" * 488 + "***")
        assert "***" in result.chunk_failures[0].error
    if mode.startswith("drip"):
        deadline = [r for r in caplog.records if "request deadline" in r.getMessage()]
        assert deadline, "the drip must be cut by the request deadline"


@pytest.mark.parametrize("mode", ["drip_headers", "drip_body"])
def test_a_dripping_server_is_cut_at_the_request_deadline(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    # one byte every 50 ms: each read comes well within any read timeout, so without a
    # deadline for the whole attempt the answer would take half a minute per chunk
    with (
        HostileArthur(mode, TOKEN, model_id=MODEL, drip_interval=0.05) as srv,
        ArthurClient(srv.url, TOKEN, MODEL, retry=FAST, request_deadline=0.5) as client,
    ):
        result = client.upload(record(i) for i in range(5))
    first = srv.received[0]
    assert (first.first, first.stored) == (True, tuple(i for i in IDS[:5] if not refused(i)))
    if mode == "drip_headers":  # no status came: a lost answer, re-sent and flagged
        assert (result.requests, result.possible_duplicates) == (2, IDS[:5])
        assert any(
            "no answer within the request deadline of 0.5 s" in r.getMessage()
            for r in caplog.records
        )
        assert srv.duplicated(result.possible_duplicates) == set()
    else:  # a 207 came, its body did not: possibly stored, not re-sent
        assert (result.requests, result.accepted, len(result.possibly_stored)) == (1, 0, 5)
        assert result.failed[0].error == (
            "sent, but Arthur's answer could not be read: it did not arrive within the "
            "request deadline"
        )
    assert result.balanced


# --------------------------------------------------------------------------- the CLI


def capture_line(i: int) -> str:
    body = {"instances": [{"age": float(i)}]}
    data = {
        "endpointInput": {
            "observedContentType": "application/json",
            "mode": "INPUT",
            "data": json.dumps(body),
            "encoding": "JSON",
        },
        "endpointOutput": {
            "observedContentType": "application/json",
            "mode": "OUTPUT",
            "data": json.dumps({"predictions": [{"score": 0.5}]}),
            "encoding": "JSON",
        },
    }
    meta = {"eventId": f"e-{i}", "inferenceTime": "2024-01-19T19:27:57Z"}
    return json.dumps({"captureData": data, "eventMetadata": meta, "eventVersion": "0"})


def write_captures(path: Path, n: int) -> Path:
    path.write_text("".join(capture_line(i) + "\n" for i in range(n)))
    return path


def model_beside(captures: Path) -> str:
    """The model of :func:`capture_line`'s values, as a ``--schema`` file beside ``captures``.

    ``upload`` without ``--schema`` would fetch it first (a GET this server does not serve).
    """
    path = captures.with_name("model.json")
    attributes = [
        {"name": "age", "stage": "PIPELINE_INPUT", "value_type": "FLOAT", "position": 0},
        {"name": "score", "stage": "PREDICTED_VALUE", "value_type": "FLOAT", "position": 0},
    ]
    path.write_text(json.dumps({"id": MODEL, "attributes": attributes}))
    return str(path)


def cli(
    srv: HostileArthur,
    captures: Path,
    summary: Path,
    *extra: str,
    token: str = TOKEN,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "arthur_capture", "upload", str(captures)]
    argv += ["--host", srv.url, "--model-id", MODEL, "--chunk-size", str(CHUNK)]
    argv += ["--summary", str(summary), "--no-progress", "--attempts", "3", *extra]
    argv += ["--schema", model_beside(captures)]
    env = {**os.environ, "ARTHUR_ACCESS_TOKEN": token}
    return subprocess.run(  # noqa: S603 - our own interpreter and package
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def claimed_by(summary: dict[str, Any], n: int) -> set[str]:
    """The IDs the CLI's account says were accepted."""
    read = n
    for entry in summary["not_read"]:
        assert entry["after_line"] is not None
        read = entry["after_line"]
    others = {r["partner_inference_id"] for r in summary["refusals"]}
    others |= {f["partner_inference_id"] for f in summary["failed"]}
    claimed = {f"e-{i}" for i in range(read)} - others
    assert len(claimed) == summary["account"]["accepted"]
    return claimed


@pytest.mark.parametrize("mode", modes(SLOW_CLI))
def test_the_cli_loses_nothing_and_hides_no_duplicate(mode: str, tmp_path: Path) -> None:
    captures = write_captures(tmp_path / "capture.jsonl", N)
    summary_path = tmp_path / "summary.json"
    with HostileArthur(mode, TOKEN, model_id=MODEL, huge_bytes=64 * 1024 * 1024) as srv:
        done = cli(srv, captures, summary_path, "--timeout", "1")
    assert "Traceback" not in done.stderr, done.stderr
    assert leaks(done.stdout, done.stderr, summary_path.read_text()) == []
    summary = json.loads(summary_path.read_text())
    account = summary["account"]
    assert account["balanced"]
    assert account["read"] == summary["reading"]["records"]
    assert srv.lost(claimed_by(summary, N)) == set()
    assert srv.duplicated(summary["possible_duplicates"]) == set()
    assert summary["exit_status"] == done.returncode
    assert done.returncode == (2 if mode == "auth_midway" else 1)  # something in every mode
    lines = done.stdout.splitlines()
    read = 31 if mode == "auth_midway" else N  # the 401 stops the reading too
    assert lines[0] == (
        f"{read} lines: {read} events, 0 blank, 0 rejected; {read} records, 0 inferences rejected"
    )
    if mode in UNREADABLE:
        assert lines[1].startswith(
            f"{N} records to Arthur: 0 accepted, 0 refused, {N} possibly stored, "
        )
    if mode == "chunk_400":
        assert (summary["outcome"], summary["stopped"]) == (
            "stopped",
            "3 chunk(s) in a row failed; the rest was not sent",
        )
        assert (account["failed"], account["not_sent"], account["accepted"]) == (30, 15, 0)
        assert "warning: the upload stopped after chunks failed in a row" in lines
        assert summary["not_read"] == []  # every line was read; the rest was not sent
    if mode == "auth_midway":
        assert summary["outcome"] == "stopped"
        assert account == {
            "read": 31,
            "accepted": account["accepted"],
            "refused": account["refused"],
            "possibly_stored": 0,
            "failed": 10,
            "not_sent": 1,
            "balanced": True,
        }
        assert summary["not_read"] == [{"file": str(captures), "lines": 14, "after_line": 31}]
        assert f"not read: {captures}: 14 line(s) after line 31" in lines


# --------------------------------------------------------------------------- stopping early


def wait_for(condition: Any, seconds: float = 30.0) -> None:
    until = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < until, "timed out waiting"
        time.sleep(0.02)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_upload_prints_and_writes_the_whole_account(
    tmp_path: Path, signum: int, status: int
) -> None:
    captures = write_captures(tmp_path / "capture.jsonl", N)
    summary_path = tmp_path / "summary.json"
    env = {**os.environ, "ARTHUR_ACCESS_TOKEN": TOKEN}
    with HostileArthur(
        "drip_headers", TOKEN, model_id=MODEL, fault_from=2, drip_interval=0.5, drip_limit=60
    ) as srv:
        argv = [sys.executable, "-m", "arthur_capture", "upload", str(captures), "--host"]
        argv += [srv.url, "--model-id", MODEL, "--chunk-size", str(CHUNK), "--no-progress"]
        argv += ["--timeout", "60", "--summary", str(summary_path)]
        argv += ["--schema", model_beside(captures)]
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and package
            argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            wait_for(lambda: len(srv.received) >= 3)  # chunk 2 stored, its answer dripping
            child.send_signal(signum)
            out, err = child.communicate(timeout=60)
        finally:
            child.kill()
            child.wait()
    assert child.returncode == status, err
    assert "Traceback" not in err
    assert err.strip().endswith(f"interrupted by {signal.Signals(signum).name}")
    summary = json.loads(summary_path.read_text())
    assert summary["outcome"] == "interrupted"
    stored_once = {i for i in IDS[:30] if not refused(i)}
    assert set(srv.stored) == stored_once  # chunks 0, 1 and 2, once each
    account = summary["account"]
    accepted = {i for i in IDS[:20] if not refused(i)}
    assert account == {
        "read": 31,  # e-30 was read to close chunk 2
        "accepted": len(accepted),
        "refused": 20 - len(accepted),
        "possibly_stored": 10,  # chunk 2, in flight
        "failed": 0,
        "not_sent": 1,
        "balanced": True,
    }
    assert claimed_by(summary, N) == accepted
    assert srv.duplicated(summary["possible_duplicates"]) == set()
    possibly = [f["partner_inference_id"] for f in summary["failed"] if f["possibly_stored"]]
    assert possibly == IDS[20:30]
    assert summary["not_read"] == [{"file": str(captures), "lines": 14, "after_line": 31}]
    assert f"Arthur: {len(accepted)} accepted, {20 - len(accepted)} refused, 10 possibly " in out
    assert f"not read: {captures}: 14 line(s) after line 31" in out
    assert leaks(out, err, summary_path.read_text()) == []


def test_a_wrong_token_is_one_line_per_chunk_and_names_what_was_not_read(
    tmp_path: Path,
) -> None:
    captures = write_captures(tmp_path / "capture.jsonl", 20)
    summary_path = tmp_path / "summary.json"
    with HostileArthur("ok", TOKEN, model_id=MODEL) as srv:
        done = cli(srv, captures, summary_path, "--chunk-size", "1", token="wrong-" + TOKEN)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert srv.stored == {}
    why = "Arthur answered 401: the token is missing or wrong: the token is missing or wrong"
    assert done.stdout.splitlines() == [
        "2 lines: 2 events, 0 blank, 0 rejected; 2 records, 0 inferences rejected",
        (
            "2 records to Arthur: 0 accepted, 0 refused, 0 possibly stored, 1 failed, 1 not sent; "
            "1 chunk, 1 request, 0 retries, 1 failed chunk"
        ),
        f"failed e-0 status=401 {captures}:1: {why}",
        f"not sent e-1 {captures}:2: {why}",
        f"not read: {captures}: 18 line(s) after line 2",
    ]
    summary = json.loads(summary_path.read_text())
    assert summary["account"]["balanced"]
    assert summary["not_read"] == [{"file": str(captures), "lines": 18, "after_line": 2}]


def test_a_wrong_token_on_a_big_chunk_prints_one_line_not_one_per_record(
    tmp_path: Path,
) -> None:
    captures = write_captures(tmp_path / "capture.jsonl", 1000)
    with HostileArthur("ok", TOKEN, model_id=MODEL) as srv:
        done = cli(srv, captures, tmp_path / "s.json", "--chunk-size", "1000", token="bad-" + TOKEN)
    assert done.returncode == 2
    failed = [line for line in done.stdout.splitlines() if line.startswith("failed")]
    why = "Arthur answered 401: the token is missing or wrong: the token is missing or wrong"
    where = f"{captures}:1 to {captures}:1000 (e-0 to e-999)"
    assert failed == [f"failed 1000 records of chunk 0 status=401 {where}: {why}"]
    assert len(done.stdout.splitlines()) == 3


# --------------------------------------------------------------------------- memory


def peak_rss_of(argv: list[str], env: dict[str, str]) -> tuple[int, str, str, float]:
    """Run ``argv`` under a small launcher; its exit status, stdout, stderr, peak RSS (MiB).

    Linux counts the RSS a process had before ``exec`` in ``ru_maxrss``: a child of the
    (large) pytest process would report pytest's size, so the launcher is its parent.
    """
    launcher = """
import json, os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
out = child.stdout.read()
err = child.stderr.read()
_, status, usage = os.wait4(child.pid, 0)
print(json.dumps({"status": os.waitstatus_to_exitcode(status), "maxrss_kib": usage.ru_maxrss,
                  "out": out.decode(), "err": err.decode()}))
"""
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", launcher, *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    report = json.loads(done.stdout)
    return report["status"], report["out"], report["err"], report["maxrss_kib"] / 1024


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "size"), [("huge_body", 1 << 30), ("gzip_bomb", 4 << 30)], ids=["1GiB", "4GiB-bomb"]
)
def test_a_huge_answer_is_cut_at_the_cap_with_bounded_memory(
    tmp_path: Path, mode: str, size: int
) -> None:
    captures = write_captures(tmp_path / "capture.jsonl", N)
    summary_path = tmp_path / "summary.json"
    env = {**os.environ, "ARTHUR_ACCESS_TOKEN": TOKEN}
    with HostileArthur(mode, TOKEN, model_id=MODEL, huge_bytes=size) as srv:
        argv = [sys.executable, "-m", "arthur_capture", "upload", str(captures), "--host"]
        argv += [srv.url, "--model-id", MODEL, "--chunk-size", str(CHUNK), "--no-progress"]
        argv += ["--summary", str(summary_path), "--schema", model_beside(captures)]
        status, out, err, peak_mib = peak_rss_of(argv, env)
    assert status == 1, err
    assert "Traceback" not in err
    summary = json.loads(summary_path.read_text())
    assert summary["account"]["possibly_stored"] == N
    assert all("longer than 8388608 bytes" in f["error"] for f in summary["failed"])
    assert srv.lost(claimed_by(summary, N)) == set()
    assert leaks(out, err) == []
    # the answer is read up to 8 MiB (decoded), never the gigabytes the server offers
    assert peak_mib < 100, f"peak RSS {peak_mib:.0f} MiB with a {size >> 20} MiB answer"
    print(f"{mode}: peak RSS {peak_mib:.1f} MiB")
