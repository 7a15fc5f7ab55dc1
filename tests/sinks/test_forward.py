"""prepare_capture_file: capture lines validated, BASE64 sides re-encoded, bad lines held back."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from arthur_capture.arthur.contract import Stage, ValueType
from arthur_capture.arthur.mapping import SchemaMapper
from arthur_capture.arthur.schema import Attribute, ModelSchema
from arthur_capture.errors import Reason, RejectedError
from arthur_capture.events import Encoding
from arthur_capture.reading import CaptureReader, Named
from arthur_capture.sinks.forward import PreparedCapture, prepare_capture_file, text_encoding

TIME = "2024-01-19T19:27:57Z"


def b64(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return base64.b64encode(data).decode("ascii")


def side(content_type: str, data: str, encoding: str, mode: str) -> dict[str, str]:
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


def line(event_id: str, request: dict[str, str] | None, response: dict[str, str] | None) -> bytes:
    capture: dict[str, Any] = {}
    if request is not None:
        capture["endpointInput"] = request
    if response is not None:
        capture["endpointOutput"] = response
    obj = {
        "captureData": capture,
        "eventMetadata": {"eventId": event_id, "inferenceTime": TIME},
        "eventVersion": "0",
    }
    return json.dumps(obj, separators=(",", ":")).encode()


def test_base64_csv_is_re_encoded_as_csv_text_byte_exact() -> None:
    raw = line(
        "e-1",
        side("text/csv", b64("1,2\n3,4"), "BASE64", "INPUT"),
        side("text/csv; charset=utf-8", "0.1\n0.2", "CSV", "OUTPUT"),
    )
    prepared = prepare_capture_file(raw + b"\n")
    assert prepared.body == (
        b'{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT",'
        b'"data":"1,2\\n3,4","encoding":"CSV"},"endpointOutput":{"observedContentType":'
        b'"text/csv; charset=utf-8","mode":"OUTPUT","data":"0.1\\n0.2","encoding":"CSV"}},'
        b'"eventMetadata":{"eventId":"e-1","inferenceTime":"2024-01-19T19:27:57Z"},'
        b'"eventVersion":"0"}\n'
    )
    assert prepared.lines == 1
    assert prepared.rejects == []


def test_base64_json_and_jsonlines_are_re_encoded_as_json_text_byte_exact() -> None:
    raw = line(
        "e-2",
        side("application/json", b64('{"instances": [[1, 2]]}'), "BASE64", "INPUT"),
        side("application/jsonlines", b64('{"score": 0.5}\n'), "BASE64", "OUTPUT"),
    )
    prepared = prepare_capture_file(raw)
    assert prepared.body == (
        b'{"captureData":{"endpointInput":{"observedContentType":"application/json",'
        b'"mode":"INPUT","data":"{\\"instances\\": [[1, 2]]}","encoding":"JSON"},'
        b'"endpointOutput":{"observedContentType":"application/jsonlines","mode":"OUTPUT",'
        b'"data":"{\\"score\\": 0.5}\\n","encoding":"JSON"}},"eventMetadata":{"eventId":"e-2",'
        b'"inferenceTime":"2024-01-19T19:27:57Z"},"eventVersion":"0"}\n'
    )


def test_the_charset_is_honoured_and_unknown_keys_are_kept() -> None:
    obj = json.loads(
        line(
            "e-3",
            side("text/csv; charset=latin-1", b64("caf\xe9,1".encode("latin-1")), "BASE64", "I"),
            side("text/csv", "0.5", "CSV", "OUTPUT"),
        )
    )
    obj["eventMetadata"]["inferenceId"] = "inf-9"
    obj["extra"] = {"kept": [1, 2]}
    prepared = prepare_capture_file(json.dumps(obj).encode())
    sent = json.loads(prepared.body)
    assert sent["captureData"]["endpointInput"]["data"] == "café,1"
    assert sent["captureData"]["endpointInput"]["encoding"] == "CSV"
    assert sent["eventMetadata"] == {
        "eventId": "e-3",
        "inferenceTime": TIME,
        "inferenceId": "inf-9",
    }
    assert sent["extra"] == {"kept": [1, 2]}


def test_the_re_encoded_line_reads_back_to_the_same_records() -> None:
    raw = line(
        "e-4",
        side("text/csv", b64("1,2\n3,4"), "BASE64", "INPUT"),
        side("application/json", b64("[0.1, 0.2]"), "BASE64", "OUTPUT"),
    )
    before = CaptureReader().read(raw).records
    after = CaptureReader().read(prepare_capture_file(raw).body).records
    assert [(r.partner_inference_id, r.inputs, r.outputs) for r in after] == [
        (r.partner_inference_id, r.inputs, r.outputs) for r in before
    ]
    assert [r.partner_inference_id for r in after] == ["e-4_0", "e-4_1"]


def test_lines_without_base64_go_out_byte_for_byte() -> None:
    raw = b'{"captureData": {"endpointInput": {"observedContentType": "text/csv", "mode": '
    raw += b'"INPUT", "data": "1,2", "encoding": "CSV"}}, "eventMetadata": {"eventId": "e", '
    raw += b'"inferenceTime": "2024-01-19T19:27:57Z"}, "eventVersion": "0"}'
    assert prepare_capture_file(raw + b"\r\n").body == raw + b"\n"


def test_a_base64_side_neither_csv_nor_json_is_held_back_unsupported_encoding() -> None:
    raw = line(
        "e-npy",
        side("application/x-npy", b64(b"7"), "BASE64", "INPUT"),
        side("text/csv", "0.5", "CSV", "OUTPUT"),
    )
    # decoded as CSV by the reader (content_types), it still cannot be sent as CSV text
    prepared = prepare_capture_file(raw, content_types={"application/x-npy": "text/csv"})
    assert prepared.body == b""
    assert prepared.lines == 0
    [reject] = prepared.rejects
    assert reject.reason is Reason.UNSUPPORTED_ENCODING
    assert reject.event_id == "e-npy"
    assert reject.raw == raw
    assert "application/x-npy" in reject.message
    assert prepared.ledger.rejects_by_reason == {"unsupported_encoding": 1}
    assert prepared.ledger.rejected_lines == 1
    assert prepared.ledger.events == 0
    assert prepared.ledger.records == 0
    assert prepared.ledger.balanced


def test_without_a_decoder_the_base64_side_is_the_readers_reject() -> None:
    raw = line("e-npy", side("application/x-npy", b64(b"x"), "BASE64", "INPUT"), None)
    prepared = prepare_capture_file(raw)
    assert [r.reason for r in prepared.rejects] == [Reason.UNKNOWN_CONTENT_TYPE]
    assert prepared.body == b""


def make_schema() -> ModelSchema:
    return ModelSchema.from_attributes(
        [
            Attribute(name="a", stage=Stage.PIPELINE_INPUT, value_type=ValueType.FLOAT, position=0),
            Attribute(
                name="s", stage=Stage.PREDICTED_VALUE, value_type=ValueType.FLOAT, position=0
            ),
        ]
    )


def mixed_file() -> tuple[bytes, list[bytes]]:
    """A file of kept lines and held-back lines, and the kept lines as they must go out."""
    good = line("g-1", side("text/csv", "1", "CSV", "INPUT"), side("text/csv", "0.5", "CSV", "O"))
    base64_good = line(
        "g-2",
        side("text/csv", b64("2\n3"), "BASE64", "INPUT"),
        side("text/csv", "1\n0", "CSV", "O"),
    )
    # one of two inferences does not fit the model: the whole line is held back
    one_bad = line(
        "b-1", side("text/csv", "4\nx", "CSV", "INPUT"), side("text/csv", "1\n0", "CSV", "O")
    )
    mismatch = line(
        "b-2", side("text/csv", "1\n2", "CSV", "INPUT"), side("text/csv", "1\n2\n3", "CSV", "O")
    )
    npy = line("b-3", side("application/x-npy", b64("x"), "BASE64", "I"), None)
    lines = [
        good,
        b"",
        b"{not json",
        base64_good,
        one_bad,
        mismatch,
        npy,
        good.replace(b"g-1", b"g-3"),
    ]
    expected = [
        good,
        (
            b'{"captureData":{"endpointInput":{"observedContentType":"text/csv","mode":"INPUT",'
            b'"data":"2\\n3","encoding":"CSV"},"endpointOutput":{"observedContentType":"text/csv",'
            b'"mode":"O","data":"1\\n0","encoding":"CSV"}},"eventMetadata":{"eventId":"g-2",'
            b'"inferenceTime":"2024-01-19T19:27:57Z"},"eventVersion":"0"}'
        ),
        good.replace(b"g-1", b"g-3"),
    ]
    return b"\n".join(lines) + b"\n", expected


def test_rejected_lines_are_held_back_whole_with_their_rejects() -> None:
    data, expected = mixed_file()
    mapper = SchemaMapper(make_schema())
    prepared = prepare_capture_file(Named(data, "s3://bucket/cap.jsonl"), mapper=mapper)
    assert prepared.body == b"".join(x + b"\n" for x in expected)
    assert prepared.lines == 3
    assert [(r.reason, r.line_number, r.event_id, r.index) for r in prepared.rejects] == [
        (Reason.INVALID_JSON, 3, None, None),
        (Reason.INVALID_VALUE, 5, "b-1", 1),
        (Reason.COUNT_MISMATCH, 6, "b-2", None),
        (Reason.UNKNOWN_CONTENT_TYPE, 7, "b-3", None),
    ]
    assert {r.source for r in prepared.rejects} == {"s3://bucket/cap.jsonl"}


def test_the_ledger_balances_every_line_kept_or_held_back() -> None:
    data, _ = mixed_file()
    prepared = prepare_capture_file(data, reader=CaptureReader(mapper=SchemaMapper(make_schema())))
    ledger = prepared.ledger
    assert ledger.lines == 8
    assert ledger.blank_lines == 1
    assert ledger.events == prepared.lines == 3
    assert ledger.rejected_lines == prepared.held_back == 4
    assert ledger.balanced
    assert ledger.lines == ledger.blank_lines + prepared.lines + prepared.held_back
    assert ledger.records == 4  # g-1, g-2 (two), g-3
    assert ledger.rejected_inferences == 0
    assert sum(ledger.rejects_by_reason.values()) == len(prepared.rejects)


def test_with_no_schema_only_the_readers_rejects_hold_lines_back() -> None:
    data, _ = mixed_file()
    prepared = prepare_capture_file(data)
    assert prepared.lines == 4  # b-1 reads without a schema
    assert [r.reason for r in prepared.rejects] == [
        Reason.INVALID_JSON,
        Reason.COUNT_MISMATCH,
        Reason.UNKNOWN_CONTENT_TYPE,
    ]
    assert prepared.ledger.balanced


def test_a_partner_id_over_the_limit_holds_its_line_back() -> None:
    raw = line("e" * 300, side("text/csv", "1", "CSV", "INPUT"), None)
    prepared = prepare_capture_file(raw)
    assert [r.reason for r in prepared.rejects] == [Reason.ID_TOO_LONG]
    assert prepared.ledger.balanced
    assert prepared.ledger.records == 0


def test_gzip_sources_give_their_decompressed_lines() -> None:
    raw = line("e-z", side("text/csv", b64("5"), "BASE64", "INPUT"), None)
    prepared = prepare_capture_file(gzip.compress(raw + b"\n"))
    assert json.loads(prepared.body)["captureData"]["endpointInput"] == {
        "observedContentType": "text/csv",
        "mode": "INPUT",
        "data": "5",
        "encoding": "CSV",
    }


def test_strict_raises_at_its_own_reject_too() -> None:
    raw = line("e-npy", side("application/x-npy", b64("1"), "BASE64", "INPUT"), None)
    with pytest.raises(RejectedError) as caught:
        prepare_capture_file(raw, strict=True, content_types={"application/x-npy": "text/csv"})
    assert caught.value.reject.reason is Reason.UNSUPPORTED_ENCODING  # type: ignore[attr-defined]


def test_reader_and_reader_options_do_not_mix() -> None:
    with pytest.raises(ValueError, match="not both"):
        prepare_capture_file(b"", reader=CaptureReader(), strict=True)


def test_an_empty_source_prepares_an_empty_body() -> None:
    prepared = prepare_capture_file(b"")
    assert prepared == PreparedCapture(body=b"", lines=0, rejects=[], ledger=prepared.ledger)
    assert prepared.ledger.lines == 0


@pytest.mark.parametrize(
    ("content_type", "encoding"),
    [
        ("text/csv", Encoding.CSV),
        ("Text/CSV; charset=utf-8", Encoding.CSV),
        ("application/csv", Encoding.CSV),
        ("application/json", Encoding.JSON),
        ("application/jsonlines", Encoding.JSON),
        ("application/x-ndjson", Encoding.JSON),
        ("application/vnd.api+json", Encoding.JSON),
        ("application/x-npy", None),
        ("image/jpeg", None),
        ("", None),
        (None, None),
    ],
)
def test_text_encoding_of_content_types(
    content_type: str | None, encoding: Encoding | None
) -> None:
    assert text_encoding(content_type) is encoding
