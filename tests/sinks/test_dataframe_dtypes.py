"""Frames typed right (issue 13, item 5): the dtype rules of to_dataframe's docstring."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from arthur_capture import read_records
from arthur_capture.arthur.contract import ValueType
from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.sinks import _dtypes
from arthur_capture.sinks.dataframe import records_to_dataframe, to_dataframe

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "arthur"
TYPED = FIXTURES / "typed_csv.jsonl"
TYPED_MODEL = FIXTURES / "typed_csv.model.json"
STRING = pd.StringDtype("python")
TIME = "datetime64[ns, UTC]"


def _line(event_id: str, request: object, response: object | None = None) -> bytes:
    def side(body: object) -> dict[str, str]:
        if isinstance(body, str):
            return {"observedContentType": "text/csv", "data": body, "encoding": "CSV"}
        return {
            "observedContentType": "application/json",
            "data": json.dumps(body),
            "encoding": "JSON",
        }

    capture = {"endpointInput": side(request)}
    if response is not None:
        capture["endpointOutput"] = side(response)
    doc = {
        "captureData": capture,
        "eventMetadata": {"eventId": event_id, "inferenceTime": "2024-01-19T19:27:57+02:00"},
        "eventVersion": "0",
    }
    return json.dumps(doc).encode() + b"\n"


def _frames(data: bytes, **kwargs: Any) -> list[pd.DataFrame]:
    """The frame by both paths (they must agree)."""
    fast = to_dataframe(data, **kwargs).frame
    schema = kwargs.get("schema")
    records = read_records(data, schema=schema).records
    slow = records_to_dataframe(records, **kwargs)
    pd.testing.assert_frame_equal(fast, slow)
    return [fast, slow]


ROWS = (
    _line("e1", {"n": 1, "f": 1.5, "m": 1, "b": True, "s": "x", "l": [1, 2], "d": {"k": 1}})
    + _line("e2", {"n": 2, "f": 2.5, "m": 2.5, "b": False, "s": "y", "l": [3], "d": {}})
    + _line("e3", {"f": None, "m": 3})
)


def test_integers_with_gaps_are_nullable_integers() -> None:
    for frame in _frames(ROWS):
        assert frame["n"].dtype == "Int64"
        assert frame["n"].tolist()[:2] == [1, 2]
        assert frame["n"].iloc[1] == 2
        assert str(frame["n"].iloc[1]) == "2"  # not 2.0
        assert frame["n"].iloc[2] is pd.NA


def test_integers_without_gaps_are_int64() -> None:
    data = _line("e1", {"n": 1}) + _line("e2", {"n": -(2**63)})
    for frame in _frames(data):
        assert frame["n"].dtype == "int64"
        assert frame["n"].tolist() == [1, -(2**63)]


def test_integers_past_64_bits_stay_objects() -> None:
    data = _line("e1", {"n": 1}) + _line("e2", {"n": 2**64})
    for frame in _frames(data):
        assert frame["n"].dtype == object
        assert frame["n"].tolist() == [1, 2**64]


def test_floats_and_mixed_numbers_are_float64() -> None:
    for frame in _frames(ROWS):
        assert frame["f"].dtype == "float64"
        assert frame["m"].dtype == "float64"
        assert frame["m"].tolist() == [1.0, 2.5, 3.0]
        assert np.isnan(frame["f"].iloc[2])


def test_booleans_with_and_without_gaps() -> None:
    for frame in _frames(ROWS):
        assert frame["b"].dtype == "boolean"
        assert frame["b"].tolist()[:2] == [True, False]
        assert frame["b"].iloc[2] is pd.NA
    for frame in _frames(_line("e1", {"b": True}) + _line("e2", {"b": False})):
        assert frame["b"].dtype == "bool"


def test_text_uses_pandas_string_dtype_with_python_storage() -> None:
    for frame in _frames(ROWS, provenance=True):
        for name in ("s", "partner_inference_id", "source", "event_id"):
            assert frame[name].dtype == STRING, name
        assert frame["s"].iloc[2] is pd.NA
        assert frame["s"].tolist()[:2] == ["x", "y"]


def test_lists_and_maps_and_mixed_kinds_stay_objects() -> None:
    data = ROWS + _line("e4", {"s": 5})
    for frame in _frames(data):
        assert frame["l"].dtype == object
        assert frame["l"].tolist()[:2] == [[1, 2], [3]]
        assert frame["d"].dtype == object
        assert frame["s"].dtype == object  # text and a number
        assert frame["s"].tolist() == ["x", "y", None, 5]


def test_a_column_with_no_value_stays_objects() -> None:
    for frame in _frames(_line("e1", {"a": 1, "z": None})):
        assert frame["z"].dtype == object


def test_non_finite_floats_are_values_not_gaps() -> None:
    values = np.array([1, float("nan"), None], dtype=object)
    column = _dtypes.typed(values)
    assert column.dtype == "float64"
    assert column.iloc[0] == 1.0
    assert column.isna().tolist() == [False, True, True]


def test_inference_timestamp_is_utc_nanoseconds_with_mixed_offsets() -> None:
    data = _line("e1", {"a": 1}) + _line("e2", {"a": 2}).replace(b"+02:00", b"-05:30")
    for frame in _frames(data):
        assert frame["inference_timestamp"].dtype == TIME
        assert frame["inference_timestamp"].tolist() == [
            pd.Timestamp("2024-01-19T17:27:57Z"),
            pd.Timestamp("2024-01-20T00:57:57Z"),
        ]


def test_iso_text_without_a_schema_stays_text() -> None:
    for frame in _frames(_line("e1", {"t": "2024-01-01T00:00:00Z"})):
        assert frame["t"].dtype == STRING


def test_timestamp_attribute_with_mixed_offsets_is_one_utc_column() -> None:
    for frame in _frames(TYPED.read_bytes(), schema=TYPED_MODEL):
        column = frame["signup_time"]
        assert column.dtype == TIME
        assert column.iloc[:3].tolist() == [
            pd.Timestamp("2024-03-01T09:30:00Z"),
            pd.Timestamp("2024-03-01T08:30:00Z"),
            pd.Timestamp("2024-03-01T04:59:59Z"),
        ]


def test_datetime_values_without_a_schema_become_utc_times() -> None:
    """Records mapped by a schema, framed without it: datetimes are recognised."""
    records = read_records(TYPED, schema=TYPED_MODEL).records
    frame = records_to_dataframe(records)
    assert frame["signup_time"].dtype == TIME
    typed = records_to_dataframe(records, schema=TYPED_MODEL)
    pd.testing.assert_series_equal(frame["signup_time"], typed["signup_time"])


def test_schema_types_every_attribute_column() -> None:
    for frame in _frames(TYPED.read_bytes(), schema=TYPED_MODEL):
        assert frame.dtypes.to_dict() == {
            "partner_inference_id": STRING,
            "inference_timestamp": TIME,
            "customer_code": STRING,
            "is_member": "boolean",
            "signup_time": TIME,
            "visits": "Int64",
            "spend": "float64",
            "buy_probability": "float64",
        }
        assert frame["customer_code"].iloc[:3].tolist() == ["007", "A,B", "0042"]
        assert frame["visits"].iloc[:3].tolist() == [12, 3, 0]


def test_empty_frame_with_a_schema_is_typed_like_a_full_one() -> None:
    full = to_dataframe(TYPED, schema=TYPED_MODEL, provenance=True).frame
    assert len(full) > 0
    empties = [
        to_dataframe(b"", schema=TYPED_MODEL, provenance=True).frame,
        to_dataframe(schema=TYPED_MODEL, provenance=True).frame,
        records_to_dataframe([], schema=TYPED_MODEL, provenance=True),
        records_to_dataframe([], schema=ModelSchema.load(TYPED_MODEL), provenance=True),
    ]
    for empty in empties:
        assert len(empty) == 0
        pd.testing.assert_series_equal(empty.dtypes, full.dtypes)
        pd.testing.assert_frame_equal(empty, full.iloc[:0])


def test_schema_columns_exist_in_schema_order_when_no_row_has_them() -> None:
    schema = ModelSchema.from_json(
        [
            {"name": "b", "stage": "PIPELINE_INPUT", "value_type": "INTEGER", "position": 1},
            {"name": "a", "stage": "PIPELINE_INPUT", "value_type": "FLOAT", "position": 0},
            {"name": "score", "stage": "PREDICTED_VALUE", "value_type": "FLOAT", "position": 0},
            {
                "name": "neg",
                "stage": "PREDICTED_VALUE",
                "value_type": "FLOAT",
                "position": 1,
                "implicit": True,
            },
            {"name": "when", "stage": "NON_INPUT_DATA", "value_type": "TIMESTAMP"},
            {"name": "ok", "stage": "PREDICTED_VALUE", "value_type": "BOOLEAN", "position": 2},
            {"name": "label", "stage": "GROUND_TRUTH", "value_type": "INTEGER", "position": 0},
        ]
    )
    data = _line("e1", "0.5,3") + _line("e2", "1.5,4")  # inputs only: no output is present
    for frame in _frames(data, schema=schema):
        assert list(frame.columns) == [
            "partner_inference_id",
            "inference_timestamp",
            "a",
            "b",
            "when",
            "score",
            "ok",
        ]
        assert frame["b"].dtype == "Int64"  # always nullable with a schema
        assert frame["b"].tolist() == [3, 4]
        assert frame["score"].dtype == "float64"
        assert frame["score"].isna().all()
        assert frame["ok"].dtype == "boolean"
        assert frame["when"].dtype == TIME


def test_strings_do_not_need_pyarrow() -> None:
    """The string dtype is the same with the pandas extra alone."""
    assert _dtypes.STRING.storage == "python"
    column = _dtypes.typed(np.array(["a", None], dtype=object))
    assert column.dtype == STRING
    assert column.array.__class__.__name__ == "StringArray"


def test_timestamps_typed_from_datetime_objects_of_any_offset() -> None:
    values = np.array(
        [
            datetime(2024, 1, 1, 12, tzinfo=UTC),
            None,
            datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=-3))),
        ],
        dtype=object,
    )
    column = _dtypes.typed(values)
    assert column.dtype == TIME
    assert column.iloc[2] == pd.Timestamp("2024-01-01T15:00:00Z")
    assert column.iloc[1] is pd.NaT


_WITHOUT_PYARROW = """
import sys
sys.modules["pyarrow"] = None  # as if not installed: pandas then runs without it
import arthur_capture as ac
frame = ac.to_dataframe(sys.argv[1], schema=sys.argv[2], provenance=True).frame
assert "pyarrow" not in {m.split(".")[0] for m in sys.modules if sys.modules[m] is not None}
print(frame.dtypes.astype(str).to_dict())
print(len(frame))
"""


def test_the_pandas_extra_alone_gives_the_same_frame() -> None:
    """Without pyarrow, the frame and its dtypes are the same (strings: Python storage)."""
    done = subprocess.run(  # noqa: S603 - our interpreter, our script
        [sys.executable, "-c", _WITHOUT_PYARROW, str(TYPED), str(TYPED_MODEL)],
        capture_output=True,
        text=True,
        check=True,
    )
    dtypes, rows = done.stdout.splitlines()
    frame = to_dataframe(TYPED, schema=TYPED_MODEL, provenance=True).frame
    assert dtypes == str(frame.dtypes.astype(str).to_dict())
    assert int(rows) == len(frame)


@pytest.mark.parametrize(
    "values",
    [
        [1, 2, None, 3],
        [1, 2, 3, 4],
        [1, 2.5, None, 4],
        [1, float("nan"), 2, 3],
        [True, False, None, True],
        [True, False, True, False],
        [1, 2, "a", 3],
        [1, True, 2, 3],
        [1, 2**64, 3, 4],
        [None, None, None, None],
        [None, None, 1.5, None],
        ["a", None, "b", "c"],
        [[1], None, {"a": 1}, 2],
    ],
    ids=repr,
)
@pytest.mark.parametrize("value_type", [None, *ValueType], ids=str)
def test_columns_typed_in_chunks_equal_columns_typed_at_once(
    values: list[Any], value_type: ValueType | None
) -> None:
    whole = np.array(values, dtype=object)
    expected = _dtypes.typed(whole.copy(), value_type)
    for cut in range(len(values) + 1):
        parts = [_dtypes.compact(whole[:cut].copy()), _dtypes.compact(whole[cut:].copy())]
        pd.testing.assert_series_equal(_dtypes.combine(parts, value_type), expected)
        for part, given in zip(parts, (whole[:cut], whole[cut:]), strict=True):
            objects = _dtypes.objects(part)
            assert [type(v) for v in objects] == [type(v) for v in given]
