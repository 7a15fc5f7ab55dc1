"""Issue 9 items 7-9 on the command line: the summary's counters, exact digits, the options."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from arthur_capture.cli import main
from tests.conftest import FIXTURES

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

BIG = FIXTURES / "application_json" / "big_integers.jsonl"
NON_FINITE = FIXTURES / "application_json" / "non_finite.jsonl"
DEMO = FIXTURES / "demo" / "demo.jsonl"
NEW_KEYS = ("non_finite_values", "duplicate_partner_ids", "duplicate_examples")


def test_convert_writes_integers_beyond_64_bits_with_every_digit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.jsonl"
    assert main(["convert", str(BIG), "-o", str(out)]) == 0
    capsys.readouterr()
    written = out.read_bytes()
    for digits in (
        b'"account":123456789012345678901234567890',
        b'"output_0":-98765432109876543210987654321',
        b'"input_0":18446744073709551616',
        b'"output_0":340282366920938463463374607431768211456',
        b'"input_0":12345678901234567890123',
    ):
        assert digits in written
    assert b'"output_0":1.2345678901234568e+18' in written  # a float literal stays a float
    first = json.loads(written.splitlines()[0])
    assert first["inference_data"]["account"] == 123456789012345678901234567890


def test_summary_carries_the_non_finite_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "summary.json"
    assert (
        main(["convert", str(NON_FINITE), "-o", str(tmp_path / "o"), "--summary", str(summary)])
        == 0
    )
    capsys.readouterr()
    ledger = json.loads(summary.read_bytes())
    assert list(ledger)[-3:] == list(NEW_KEYS)
    assert ledger["non_finite_values"] == 4  # NaN, Infinity; -Infinity, 1e400 ("NaN" is text)
    assert ledger["rejected_lines"] == 0
    assert ledger["duplicate_partner_ids"] == 0
    assert ledger["duplicate_examples"] == []


def test_reject_non_finite_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, dead = tmp_path / "summary.json", tmp_path / "dead.jsonl"
    argv = ["convert", str(NON_FINITE), "-o", str(tmp_path / "o"), "--reject-non-finite"]
    assert main([*argv, "--rejects", str(dead), "--summary", str(summary)]) == 1
    capsys.readouterr()
    rejects = [json.loads(line) for line in dead.read_bytes().splitlines()]
    assert [(r["reason"], r["line"], r["index"]) for r in rejects] == [
        ("non_finite_number", 1, None),
        ("non_finite_number", 2, None),
    ]
    ledger = json.loads(summary.read_bytes())
    assert ledger["rejects_by_reason"] == {"non_finite_number": 2}
    assert ledger["non_finite_values"] == 0


def test_summary_counts_a_file_read_twice_as_duplicates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "summary.json"
    argv = ["convert", str(DEMO), str(DEMO), "-o", str(tmp_path / "o"), "--summary", str(summary)]
    assert main(argv) == 0
    capsys.readouterr()
    ledger = json.loads(summary.read_bytes())
    records = ledger["records"]
    assert records % 2 == 0
    assert ledger["duplicate_partner_ids"] == records // 2
    assert len(ledger["duplicate_examples"]) == min(10, records // 2)
    example = ledger["duplicate_examples"][0]
    assert example["first"] == f"{DEMO}:1 (source 1)"
    assert example["repeat"] == f"{DEMO}:1 (source 2)"


def test_reject_duplicates_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary, dead = tmp_path / "summary.json", tmp_path / "dead.jsonl"
    out = tmp_path / "out.jsonl"
    argv = ["convert", str(DEMO), str(DEMO), "-o", str(out), "--reject-duplicates"]
    assert main([*argv, "--rejects", str(dead), "--summary", str(summary)]) == 1
    capsys.readouterr()
    ledger = json.loads(summary.read_bytes())
    half = ledger["duplicate_partner_ids"]
    assert half > 0
    assert ledger["records"] == half
    assert ledger["rejected_inferences"] == half
    assert ledger["rejects_by_reason"] == {"duplicate_partner_id": half}
    rejects = [json.loads(line) for line in dead.read_bytes().splitlines()]
    assert len(rejects) == half
    assert {r["reason"] for r in rejects} == {"duplicate_partner_id"}
    assert all(isinstance(r["index"], int) for r in rejects)
    assert len(out.read_bytes().splitlines()) == half
