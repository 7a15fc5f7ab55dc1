"""Every capture fixture, read by the library, gives exactly its hand-written expectation.

Each ``fixtures/<group>/<NAME>.jsonl`` (or ``.jsonl.gz``) has a ``<NAME>.expected.json``
beside it: ``records`` (Arthur inference objects as ``arthur-capture convert`` writes them),
``rejects`` (reason, line, event_id, index), ``summary`` (the ledger) and, when the fixture
needs reader options, ``options``. The expectations were worked out from the documented rules
(docs/decoders.md, docs/arthur.md), not dumped from the program.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import pytest

from arthur_capture import (
    CaptureResult,
    Reason,
    Reject,
    default_registry,
    iter_records,
    read_records,
)
from arthur_capture.decoders.text_csv import CSVDecoder
from arthur_capture.sinks.jsonl import arthur_json
from tests.conftest import FIXTURES

if TYPE_CHECKING:
    from pathlib import Path


EXPECTED_SUFFIX = ".expected.json"
GROUPS = ("text_csv", "application_json", "application_jsonlines", "mixed", "invalid", "demo")
OPTION_KEYS = {
    "sniff",
    "content_types",
    "csv_header",
    "max_line_bytes",
    "max_inferences_per_call",
    "reject_non_finite",
    "reject_duplicates",
}


def expected_files() -> list[Path]:
    """Every ``*.expected.json`` under fixtures/, sorted."""
    return sorted(FIXTURES.rglob(f"*{EXPECTED_SUFFIX}"))


def fixture_source(expected: Path) -> Path:
    """The capture file an expectation describes: ``NAME.jsonl`` or ``NAME.jsonl.gz``."""
    stem = expected.name.removesuffix(EXPECTED_SUFFIX)
    found = [expected.with_name(stem + ext) for ext in (".jsonl", ".jsonl.gz")]
    existing = [path for path in found if path.is_file()]
    assert len(existing) == 1, f"{expected}: expected exactly one of {found}"
    return existing[0]


def reader_options(options: dict[str, Any]) -> dict[str, Any]:
    """Turn an expectation's ``options`` into keyword arguments for ``read_records``."""
    unknown = set(options) - OPTION_KEYS
    assert not unknown, f"unknown fixture option(s): {sorted(unknown)}"
    kwargs = {k: v for k, v in options.items() if k != "csv_header"}
    if options.get("csv_header"):
        registry = default_registry()
        registry.register(CSVDecoder(header=True), replace=True)
        kwargs["registry"] = registry
    return kwargs


def case_id(expected: Path) -> str:
    """``group/NAME`` for test IDs."""
    return f"{expected.parent.name}/{expected.name.removesuffix(EXPECTED_SUFFIX)}"


def typed(value: Any) -> str:
    """A rendering that tells ``1`` from ``1.0`` and ``True`` from ``1`` and keeps key order."""
    return json.dumps(value, ensure_ascii=False)


def reject_key(reject: Reject) -> dict[str, Any]:
    """The coordinates an expectation pins down for a reject."""
    return {
        "reason": str(reject.reason),
        "line": reject.line_number,
        "event_id": reject.event_id,
        "index": reject.index,
    }


def load(expected: Path) -> tuple[dict[str, Any], CaptureResult]:
    """The expectation and what the library reads from its fixture."""
    spec: dict[str, Any] = json.loads(expected.read_text(encoding="utf-8"))
    result = read_records(fixture_source(expected), **reader_options(spec.get("options", {})))
    return spec, result


CASES = [pytest.param(path, id=case_id(path)) for path in expected_files()]


def test_every_group_has_fixtures() -> None:
    groups = {path.parent.name for path in expected_files()}
    assert set(GROUPS) <= groups
    assert len(CASES) >= 50


def test_every_fixture_has_an_expectation() -> None:
    sources = [
        p
        for group in GROUPS
        for p in sorted((FIXTURES / group).iterdir())
        if p.name.endswith((".jsonl", ".jsonl.gz"))
    ]
    missing = [
        str(p)
        for p in sources
        if not p.with_name(p.name.split(".jsonl")[0] + EXPECTED_SUFFIX).is_file()
    ]
    assert sources
    assert not missing


def test_every_file_level_reason_has_a_fixture() -> None:
    """Each reason a capture file alone can produce shows up in some expectation."""
    needs_a_schema = {
        Reason.UNKNOWN_ATTRIBUTE,
        Reason.MISSING_ATTRIBUTE,
        Reason.RESERVED_NAME,
        Reason.INVALID_VALUE,
    }
    # duplicate_partner_id: a fixture's summary would name the repeat's source by its path,
    # which differs between checkouts; tests/reading/test_duplicates.py reads it from files.
    needs_a_schema.add(Reason.DUPLICATE_PARTNER_ID)
    # unsupported_encoding: only forwarding (sinks.forward) gives it, never the reader.
    needs_a_schema.add(Reason.UNSUPPORTED_ENCODING)
    seen: set[str] = set()
    for path in expected_files():
        spec = json.loads(path.read_text(encoding="utf-8"))
        seen.update(r["reason"] for r in spec["rejects"])
    assert {str(r) for r in Reason} - {str(r) for r in needs_a_schema} <= seen
    assert seen <= {str(r) for r in Reason}


@pytest.mark.parametrize("expected", CASES)
def test_records(expected: Path) -> None:
    spec, result = load(expected)
    records = [json.loads(arthur_json(record)) for record in result.records]
    assert records == spec["records"]
    assert typed(records) == typed(spec["records"])  # same types and key order, too


@pytest.mark.parametrize("expected", CASES)
def test_rejects(expected: Path) -> None:
    spec, result = load(expected)
    assert [reject_key(r) for r in result.rejects] == spec["rejects"]
    source = str(fixture_source(expected))
    for reject in result.rejects:
        assert reject.source == source
        assert reject.message
        assert "Traceback" not in reject.message


@pytest.mark.parametrize("expected", CASES)
def test_ledger(expected: Path) -> None:
    spec, result = load(expected)
    ledger = result.ledger
    assert ledger.to_dict() == spec["summary"]
    assert ledger.balanced
    assert ledger.lines == ledger.blank_lines + ledger.events + ledger.rejected_lines
    assert ledger.records == len(result.records)
    assert ledger.rejected_lines + ledger.rejected_inferences == len(result.rejects)
    assert sum(ledger.rejects_by_reason.values()) == len(result.rejects)


@pytest.mark.parametrize("expected", CASES)
def test_same_result_from_bytes_stream_and_lines(expected: Path) -> None:
    """A path, the file's bytes, a binary stream and streaming iteration agree exactly."""
    spec, from_path = load(expected)
    options = reader_options(spec.get("options", {}))
    data = fixture_source(expected).read_bytes()
    baseline = [arthur_json(r) for r in from_path.records]
    from_bytes = read_records(data, **options)
    from_stream = read_records(io.BytesIO(data), **options)
    streamed = list(iter_records(data, **options))
    for other in (from_bytes, from_stream):
        assert [arthur_json(r) for r in other.records] == baseline
        assert [reject_key(r) for r in other.rejects] == spec["rejects"]
        assert other.ledger.to_dict() == spec["summary"]
    assert [arthur_json(r) for r in streamed if not isinstance(r, Reject)] == baseline
    assert [reject_key(r) for r in streamed if isinstance(r, Reject)] == spec["rejects"]


@pytest.mark.parametrize("expected", CASES)
def test_reading_twice_is_byte_identical(expected: Path) -> None:
    _, first = load(expected)
    _, second = load(expected)
    assert [arthur_json(r) for r in first.records] == [arthur_json(r) for r in second.records]
    assert [r.to_dict() for r in first.rejects] == [r.to_dict() for r in second.rejects]


@pytest.mark.parametrize("expected", CASES)
def test_records_keep_their_coordinates(expected: Path) -> None:
    """Each record knows its line, event and place in the call; IDs follow Arthur's rule."""
    _, result = load(expected)
    for record in result.records:
        assert record.source == str(fixture_source(expected))
        assert record.line_number >= 1
        assert 0 <= record.index < record.batch_size
        base = record.inference_id or record.event_id
        suffix = "" if record.batch_size == 1 else f"_{record.index}"
        assert record.partner_inference_id == base + suffix
        assert record.inference_timestamp.utcoffset() is not None
