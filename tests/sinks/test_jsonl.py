"""JSON output: arthur_json and dumps_json."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import orjson
import pytest

from arthur_capture import InferenceRecord, dumps_json, read_records
from arthur_capture.sinks.jsonl import arthur_json

LINE = (
    b'{"captureData":{"endpointInput":{"observedContentType":"text/csv","data":"1,x",'
    b'"encoding":"CSV"},"endpointOutput":{"observedContentType":"application/json",'
    b'"data":"{\\"predictions\\": [{\\"score\\": 0.25}]}","encoding":"JSON"}},'
    b'"eventMetadata":{"eventId":"e-1","inferenceId":"inf-7",'
    b'"inferenceTime":"2024-01-19T19:27:57Z"},"eventVersion":"0"}\n'
)


def _record(**changes: object) -> InferenceRecord:
    base = {
        "partner_inference_id": "p",
        "inference_timestamp": datetime(2024, 1, 19, 19, 27, 57, tzinfo=UTC),
        "inputs": {"input_0": 1},
        "outputs": {"output_0": 0.5},
        "event_id": "e",
        "inference_id": None,
        "index": 0,
        "batch_size": 1,
        "source": "<memory>",
        "line_number": 1,
    }
    base.update(changes)
    return InferenceRecord(**base)  # type: ignore[arg-type]


def test_arthur_json_of_a_read_record() -> None:
    (record,) = read_records(LINE).records
    assert json.loads(arthur_json(record)) == {
        "partner_inference_id": "inf-7",
        "inference_timestamp": "2024-01-19T19:27:57+00:00",
        "inference_data": {"input_0": 1, "input_1": "x", "score": 0.25},
    }


def test_arthur_json_has_exactly_the_new_inference_keys_and_no_newline() -> None:
    text = arthur_json(_record())
    assert not text.endswith(b"\n")
    assert list(json.loads(text)) == [
        "partner_inference_id",
        "inference_timestamp",
        "inference_data",
    ]


def test_arthur_json_keeps_input_then_output_order() -> None:
    record = _record(inputs={"z": 1, "a": 2}, outputs={"m": 3})
    assert list(json.loads(arthur_json(record))["inference_data"]) == ["z", "a", "m"]


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2024, 1, 19, 19, 27, 57, tzinfo=UTC), "2024-01-19T19:27:57+00:00"),
        (
            datetime(2024, 1, 19, 19, 27, 57, 123000, tzinfo=UTC),
            "2024-01-19T19:27:57.123000+00:00",
        ),
        (
            datetime(2024, 1, 19, 21, 27, 57, tzinfo=timezone(timedelta(hours=2))),
            "2024-01-19T21:27:57+02:00",
        ),
        (
            datetime(2024, 1, 19, 14, 57, 57, tzinfo=timezone(timedelta(hours=-4, minutes=-30))),
            "2024-01-19T14:57:57-04:30",
        ),
    ],
)
def test_timestamps_are_iso_8601_with_an_offset(moment: datetime, expected: str) -> None:
    assert json.loads(dumps_json({"t": moment})) == {"t": expected}
    parsed = datetime.fromisoformat(
        json.loads(arthur_json(_record(inference_timestamp=moment)))["inference_timestamp"]
    )
    assert parsed == moment
    assert parsed.utcoffset() == moment.utcoffset()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_floats_become_null(value: float) -> None:
    assert dumps_json(value) == b"null"
    assert (
        dumps_json({"a": value, "b": [1.0, value, [value]]}) == b'{"a":null,"b":[1.0,null,[null]]}'
    )


def test_non_finite_values_in_a_record_become_null() -> None:
    record = _record(inputs={"x": float("nan")}, outputs={"y": [float("inf"), 1.5]})
    data = json.loads(arthur_json(record))["inference_data"]
    assert data == {"x": None, "y": [None, 1.5]}
    assert b"NaN" not in arthur_json(record)
    assert b"Infinity" not in arthur_json(record)


@pytest.mark.parametrize(
    "value",
    [2**63 - 1, -(2**63), 2**64 - 1, 0, -1],
)
def test_64_bit_integers_stay_exact(value: int) -> None:
    assert dumps_json(value) == str(value).encode()
    assert orjson.loads(dumps_json([value])) == [value]


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, 10**30, -(10**40), 10**400])
def test_integers_beyond_64_bits_are_written_exactly(value: int) -> None:
    # issue 9 item 8: all the digits, never a float (nor null past the float range)
    assert dumps_json(value) == str(value).encode()
    written = dumps_json({"deep": [[value]], "ok": 1, "flag": True, "t": (value,)})
    assert written == b'{"deep":[[%d]],"ok":1,"flag":true,"t":[%d]}' % (value, value)
    assert json.loads(written) == {"deep": [[value]], "ok": 1, "flag": True, "t": [value]}


def test_integers_past_pythons_digit_limit_are_written_exactly() -> None:
    value = 10**5000 + 7  # str() refuses it (sys.get_int_max_str_digits)
    written = dumps_json([value])
    assert written == b"[1" + b"0" * 4999 + b"7]"


def test_big_integers_in_a_record() -> None:
    record = _record(inputs={"id": 10**25, "small": 3}, outputs={"t": (1, 2**70)})
    written = arthur_json(record)
    assert b'"id":10000000000000000000000000' in written
    assert b"[1,%d]" % 2**70 in written
    data = json.loads(written)["inference_data"]
    assert data == {"id": 10**25, "small": 3, "t": [1, 2**70]}
    assert type(data["id"]) is int


def test_numpy_scalars_and_arrays() -> None:
    value = {
        "i64": np.int64(-3),
        "i32": np.int32(7),
        "u64": np.uint64(2**64 - 1),
        "f64": np.float64(1.25),
        "f32": np.float32(0.5),
        "f16": np.float16(1.5),
        "b": np.True_,
        "arr": np.array([1, 2, 3]),
        "nan64": np.float64("nan"),
        "nan32": np.float32("nan"),
        "inf32": np.float32("inf"),
    }
    assert json.loads(dumps_json(value)) == {
        "i64": -3,
        "i32": 7,
        "u64": 2**64 - 1,
        "f64": 1.25,
        "f32": 0.5,
        "f16": 1.5,
        "b": True,
        "arr": [1, 2, 3],
        "nan64": None,
        "nan32": None,
        "inf32": None,
    }


def test_sets_and_tuples_become_lists() -> None:
    assert json.loads(dumps_json({"t": (1, 2), "s": {3}, "f": frozenset({4})})) == {
        "t": [1, 2],
        "s": [3],
        "f": [4],
    }


def test_non_string_keys_are_stringified() -> None:
    assert dumps_json({1: "a", 2.5: "b"}) == b'{"1":"a","2.5":"b"}'


def test_unknown_types_are_a_type_error() -> None:
    with pytest.raises(TypeError):
        dumps_json(object())


def test_output_is_deterministic() -> None:
    (record,) = read_records(LINE).records
    assert arthur_json(record) == arthur_json(read_records(LINE).records[0])
