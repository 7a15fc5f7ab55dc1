"""``convert --jobs N`` (issue 12, item 2): the output of several processes is one process's.

Every output (``-o``, stdout, ``--rejects``, ``--summary``, the stderr line) is compared byte
for byte between ``--jobs 1`` and ``--jobs 2``/``3``, with small files cut into many ranges
(:data:`~arthur_capture.cli._jobs.SPLIT_BYTES_VARIABLE`), on every fixture, on generated
files and on crafted files cut at every line.
"""

from __future__ import annotations

import gzip
import mmap
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path  # noqa: TC003 - pytest resolves the annotations
from typing import TYPE_CHECKING, Any

import pytest

from arthur_capture.cli import _jobs, main
from tests.conftest import FIXTURES, ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator
    from multiprocessing.pool import Pool

FIXTURE_FILES = sorted(
    p for p in FIXTURES.rglob("*") if p.name.endswith((".jsonl", ".jsonl.gz", ".gz"))
)
DEMO = FIXTURES / "demo" / "demo.jsonl"
GENERATE = ROOT / "benchmarks" / "generate.py"


class _SharedPool:
    """One pool of spawn workers for the whole module (starting one per run is slow)."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def imap(self, func: Any, tasks: Any) -> Any:
        return self._pool.imap(func, tasks)

    def terminate(self) -> None:
        """Kept for the next run."""

    def join(self) -> None:
        """Kept for the next run."""


@pytest.fixture(scope="module")
def shared_pool() -> Iterator[_SharedPool]:
    pool = multiprocessing.get_context("spawn").Pool(2, initializer=_jobs._init_worker)
    try:
        yield _SharedPool(pool)
    finally:
        pool.terminate()
        pool.join()


@pytest.fixture
def splits(monkeypatch: pytest.MonkeyPatch, shared_pool: _SharedPool) -> list[int]:
    """Small files split into many ranges; the list gets the number of ranges of each split run."""
    monkeypatch.setenv(_jobs.SPLIT_BYTES_VARIABLE, "1")
    monkeypatch.setattr(_jobs, "_start", lambda processes: shared_pool)
    counted: list[int] = []
    convert = _jobs.Parallel.convert

    def spy(self: _jobs.Parallel, *args: Any, **kwargs: Any) -> Any:
        counted.append(len(self.ranges))
        return convert(self, *args, **kwargs)

    monkeypatch.setattr(_jobs.Parallel, "convert", spy)
    return counted


def run(
    capsysbinary: pytest.CaptureFixture[bytes], directory: Path, *argv: str | Path
) -> dict[str, bytes]:
    """``convert ARGV`` with ``-o``, ``--rejects`` and ``--summary`` in ``directory`` (or not)."""
    directory.mkdir(parents=True, exist_ok=True)
    names = ("out", "rejects.jsonl", "summary.json")
    words = [str(directory / a) if a in names else str(a) for a in argv]
    status = main(["convert", *words])
    captured = capsysbinary.readouterr()
    result = {"status": str(status).encode(), "stdout": captured.out, "stderr": captured.err}
    for name in names:
        path = directory / name
        if path.exists():
            result[name] = path.read_bytes()
    assert not [p for p in directory.iterdir() if p.name.startswith(".")]  # no part, no temp
    return result


ALL_OUTPUTS = ("-o", "out", "--rejects", "rejects.jsonl", "--summary", "summary.json")
OPTION_SETS = {
    "jsonl": ALL_OUTPUTS,
    "json_stdout": ("--format", "json", "--sniff", "--csv-header"),
    "limits": (
        "--max-line-bytes",
        "200",
        "--max-depth",
        "3",
        "--max-blank-lines",
        "1",
        *ALL_OUTPUTS,
    ),
    "stdout_rejects_file": ("--rejects", "rejects.jsonl", "--summary", "summary.json"),
}


def same_with_jobs(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path, *argv: str | Path
) -> dict[str, bytes]:
    """The outputs of ``--jobs 1``, asserted equal to those of ``--jobs 2`` and ``--jobs 3``."""
    one = run(capsysbinary, tmp_path / "1", "--jobs", "1", *argv)
    for jobs in ("2", "3"):
        assert run(capsysbinary, tmp_path / jobs, "--jobs", jobs, *argv) == one, jobs
    return one


@pytest.mark.parametrize("options", OPTION_SETS.values(), ids=list(OPTION_SETS))
def test_every_fixture_converts_the_same_in_several_processes(
    options: tuple[str, ...],
    splits: list[int],
    capsysbinary: pytest.CaptureFixture[bytes],
    tmp_path: Path,
) -> None:
    for index, path in enumerate(FIXTURE_FILES):
        same_with_jobs(capsysbinary, tmp_path / str(index), path, *options)
    assert len(splits) >= len(FIXTURE_FILES)  # most fixtures were cut, twice each
    assert max(splits) >= 8


def test_schema_mapping_converts_the_same(
    splits: list[int], capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    models = sorted((FIXTURES / "arthur").glob("*.model.json"))
    assert models
    for index, model in enumerate(models):
        capture = model.with_name(model.name.replace(".model.json", ".jsonl"))
        same_with_jobs(
            capsysbinary,
            tmp_path / str(index),
            capture,
            "--schema",
            model,
            "--batch-id",
            "b1",
            *ALL_OUTPUTS,
        )
    assert splits


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few MB from the benchmark generator, written twice (every partner ID repeats)."""
    directory = tmp_path_factory.mktemp("generated")
    once = directory / "once.jsonl"
    subprocess.run(  # noqa: S603 - our own generator
        [sys.executable, str(GENERATE), str(once), "--size-mb", "2", "--mixed-text"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    twice = directory / "twice.jsonl"
    twice.write_bytes(once.read_bytes() * 2)
    return twice


def test_a_generated_file_converts_the_same(
    generated: Path,
    splits: list[int],
    capsysbinary: pytest.CaptureFixture[bytes],
    tmp_path: Path,
) -> None:
    one = same_with_jobs(capsysbinary, tmp_path / "jsonl", generated, *ALL_OUTPUTS)
    assert b'"duplicate_partner_ids":0' not in one["summary.json"]  # repeats span ranges
    same_with_jobs(capsysbinary, tmp_path / "json", generated, "--format", "json", "-o", "out")
    model = ROOT / "benchmarks" / "generated-mixed.model.json"
    same_with_jobs(capsysbinary, tmp_path / "schema", generated, "--schema", model, *ALL_OUTPUTS)
    assert len(splits) == 6
    assert min(splits) >= 8


def _line(event_id: str, body: str = "1,2") -> bytes:
    return (
        b'{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT",'
        b'"data":"' + body.encode() + b'","encoding":"CSV"},"endpointOutput":{'
        b'"observedContentType":"text/csv","mode":"OUTPUT","data":"0.5","encoding":"CSV"}},'
        b'"eventMetadata":{"eventId":"' + event_id.encode() + b'",'
        b'"inferenceTime":"2024-05-01T12:00:00Z"},"eventVersion":"0"}'
    )


CRAFTED = {
    "mixed": b"\xef\xbb\xbf"
    + _line("a")
    + b"\r\n"
    + _line("b")
    + b"\r\n\r\n  \t\n\n"
    + _line("c", "9" * 400)
    + b"\n"
    + _line("d")
    + b"\n"
    + b"\xef\xbb\xbf"
    + _line("e")
    + b"\n"
    + _line("f\xff")
    + b"\n"
    + b"\x1f\x8b not gzip\n"
    + _line("a")
    + b"\n\n\n"
    + _line("g")
    + b"\r\n"
    + _line("h")[:-5],
    "blank_start": b"\n\n\n" + _line("a") + b"\n \n" + _line("b") + b"\n\n\n\n" + _line("b"),
    "long_lines": (_line("x", "1" * 300) + b"\n") * 3
    + b"  \r\n"
    + (_line("y", "2" * 300) + b"\n") * 2,
}


@pytest.mark.parametrize("name", list(CRAFTED))
@pytest.mark.parametrize(
    "options",
    [(), ("--max-line-bytes", "400"), ("--max-blank-lines", "1"), ("--max-blank-lines", "0")],
    ids=["defaults", "long", "blank1", "blank0"],
)
def test_a_crafted_file_cut_at_every_line_converts_the_same(
    name: str,
    options: tuple[str, ...],
    splits: list[int],
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
    tmp_path: Path,
) -> None:
    data = CRAFTED[name]
    path = tmp_path / f"{name}.jsonl"
    path.write_bytes(data)
    argv: tuple[str | Path, ...] = (path, *options, *ALL_OUTPUTS)
    one = run(capsysbinary, tmp_path / "one", "--jobs", "1", *argv)
    max_line_bytes = int(options[1]) if options[:1] == ("--max-line-bytes",) else 64 << 20
    starts: set[int] = set()
    for at in range(1, len(data)):
        with (
            path.open("rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped,
        ):
            start = _jobs._line_start(mapped, at, len(data), max_line_bytes)
        if start is not None:
            assert data[start - 1 : start] == b"\n"
            starts.add(start)
    assert len(starts) >= 2
    for start in sorted(starts):
        ranges = [(0, start, 0), (start, len(data), data[:start].count(b"\n"))]
        monkeypatch.setattr(_jobs, "ranges_of", lambda *args, ranges=ranges: ranges)
        assert run(capsysbinary, tmp_path / str(start), "--jobs", "2", *argv) == one, start
    assert len(splits) == len(starts)


def test_a_range_never_starts_where_one_source_could_not(tmp_path: Path) -> None:
    data = CRAFTED["mixed"]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(data)
    ranges = _jobs.ranges_of(str(path), len(data), 100, 1, 64 << 20)
    assert len(ranges) > 4
    lines = data.split(b"\n")
    for start, end, before in ranges[1:]:
        assert data[start - 1 : start] == b"\n"
        assert before == data[:start].count(b"\n")
        assert data[start] not in (0xEF, 0x1F)  # a BOM or gzip's magic would start a source
        previous = lines[before - 1]
        assert previous.strip(b" \t\r")  # never inside a run of blank lines
        assert end > start


def test_gzip_stdin_and_several_files_run_in_one_process(
    splits: list[int], capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    packed = tmp_path / "demo.jsonl.gz"
    packed.write_bytes(gzip.compress(DEMO.read_bytes()))
    same_with_jobs(capsysbinary, tmp_path / "gz", packed, *ALL_OUTPUTS)
    same_with_jobs(capsysbinary, tmp_path / "two", DEMO, DEMO, *ALL_OUTPUTS)
    same_with_jobs(capsysbinary, tmp_path / "strict", DEMO, "--strict", *ALL_OUTPUTS)
    same_with_jobs(capsysbinary, tmp_path / "dups", DEMO, "--reject-duplicates", *ALL_OUTPUTS)
    parquet = run(
        capsysbinary, tmp_path / "pq", DEMO, "--jobs", "2", "--format", "parquet", "-o", "out"
    )
    assert parquet["status"] == b"0"
    assert splits == []


def test_the_default_splits_a_large_file_on_every_core(
    splits: list[int],
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(_jobs, "available_cores", lambda: 2)
    run(capsysbinary, tmp_path / "large", DEMO, "-o", "out")
    assert splits == [8]  # 2 cores, 4 ranges each
    monkeypatch.delenv(_jobs.SPLIT_BYTES_VARIABLE)
    run(capsysbinary, tmp_path / "small", DEMO, "-o", "out")  # under 32 MiB: one process
    assert splits == [8]


def test_without_process_synchronisation_jobs_fall_back_to_one(
    monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    monkeypatch.setenv(_jobs.SPLIT_BYTES_VARIABLE, "1")

    class NoSemaphores:
        def Pool(self, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - multiprocessing's name
            raise OSError(38, "Function not implemented")  # AWS Lambda: no /dev/shm

    monkeypatch.setattr(multiprocessing, "get_context", lambda method: NoSemaphores())
    one = run(capsysbinary, tmp_path / "1", DEMO, "--jobs", "1", *ALL_OUTPUTS)
    assert run(capsysbinary, tmp_path / "2", DEMO, "--jobs", "2", *ALL_OUTPUTS) == one


def test_jobs_must_be_positive(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["convert", str(DEMO), "--jobs", "0"]) == 2
    assert b"--jobs must be positive" in capsysbinary.readouterr().err


@pytest.mark.slow
def test_a_signal_leaves_nothing_behind(tmp_path: Path) -> None:
    source = tmp_path / "source.jsonl"
    subprocess.run(  # noqa: S603 - our own generator
        [sys.executable, str(GENERATE), str(source), "--size-mb", "40"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    out = tmp_path / "out" / "out.jsonl"
    out.parent.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), _jobs.SPLIT_BYTES_VARIABLE: "1000000"}
    proc = subprocess.Popen(  # noqa: S603 - our own module
        [
            sys.executable,
            "-m",
            "arthur_capture",
            "convert",
            str(source),
            "--jobs",
            "2",
            "-o",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            parts = [p for d in out.parent.glob(".arthur-capture-parts.*") for p in d.iterdir()]
            if any(p.stat().st_size > 0 for p in parts if p.exists()):
                break
            assert proc.poll() is None
            time.sleep(0.02)
        else:
            pytest.fail("no part file appeared")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert err.decode().startswith("arthur-capture: interrupted by SIGTERM"), err
    assert "Traceback" not in err.decode()
    assert list(out.parent.iterdir()) == []
