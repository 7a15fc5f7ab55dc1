"""The local Arthur server speaks the documented v3 contract (real HTTP over loopback)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arthur_capture.arthur.contract import Stage, ValueType
from arthur_capture.arthur.schema import Attribute, ModelSchema
from arthur_capture.testing.local_arthur import LocalArthur

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

TOKEN = "local-test-token-7f3c"  # noqa: S105 - a test token
MODEL = "model-1"
TS = "2024-01-19T19:27:57Z"


def make_schema(*, is_batch: bool = False) -> ModelSchema:
    return ModelSchema.from_attributes(
        [
            Attribute(
                name="age", stage=Stage.PIPELINE_INPUT, value_type=ValueType.FLOAT, position=0
            ),
            Attribute(
                name="city", stage=Stage.PIPELINE_INPUT, value_type=ValueType.STRING, position=1
            ),
            Attribute(name="segment", stage=Stage.NON_INPUT_DATA, value_type=ValueType.INTEGER),
            Attribute(
                name="score", stage=Stage.PREDICTED_VALUE, value_type=ValueType.FLOAT, position=0
            ),
            Attribute(name="label", stage=Stage.GROUND_TRUTH, value_type=ValueType.INTEGER),
        ],
        is_batch=is_batch,
    )


def inference(pid: str, **changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "partner_inference_id": pid,
        "inference_timestamp": TS,
        "inference_data": {"age": 31.0, "city": "Paris", "score": 0.25},
    }
    obj.update(changes)
    return obj


@pytest.fixture
def arthur() -> Iterator[LocalArthur]:
    with LocalArthur(make_schema(), model_id=MODEL, token=TOKEN, organization_id="org-1") as srv:
        yield srv


@pytest.fixture
def http(arthur: LocalArthur) -> Iterator[httpx.Client]:
    headers = {"Authorization": TOKEN, "Accept": "application/json"}
    with httpx.Client(base_url=arthur.url + "/api/v3", headers=headers, timeout=5) as client:
        yield client


def post(http: httpx.Client, body: Any, model: str = MODEL, **kw: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    return http.post(f"/models/{model}/inferences", content=content, headers=headers, **kw)


def test_valid_records_get_207_with_one_result_each_and_are_stored(
    arthur: LocalArthur, http: httpx.Client
) -> None:
    response = post(http, [inference("a"), inference("b")])
    assert response.status_code == 207
    assert response.json() == {
        "counts": {"success": 2, "failure": 0, "total": 2},
        "results": [{"status": 200, "message": "success"}] * 2,
    }
    assert set(arthur.inferences) == {"a", "b"}
    assert arthur.arrivals == {"a": 1, "b": 1}
    assert arthur.duplicates == {}


def test_results_are_in_request_order_and_counts_add_up(
    arthur: LocalArthur, http: httpx.Client
) -> None:
    body = [inference("ok1"), inference("bad", inference_data={"age": 1.0}), inference("ok2")]
    answer = post(http, body).json()
    assert [r["status"] for r in answer["results"]] == [200, 400, 200]
    assert answer["counts"] == {"success": 2, "failure": 1, "total": 3}
    assert "lacks required attribute" in answer["results"][1]["message"]
    assert set(arthur.inferences) == {"ok1", "ok2"}


def test_resent_records_are_counted_as_duplicates(arthur: LocalArthur, http: httpx.Client) -> None:
    post(http, [inference("a"), inference("b")])
    post(http, [inference("a")])
    assert arthur.duplicates == {"a": 2}
    assert len(arthur.inferences) == 2


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Authorization": ""}, 401),
        ({"Authorization": "wrong-token"}, 401),
        ({"Authorization": f"Bearer {TOKEN}"}, 401),
        ({"Arthur-Organization-ID": "another-org"}, 403),
        ({"Arthur-Organization-ID": "org-1"}, 207),
    ],
)
def test_authorization_is_the_raw_token(
    http: httpx.Client, headers: dict[str, str], status: int
) -> None:
    response = post(http, [inference("a")], headers=headers)
    assert response.status_code == status
    assert TOKEN not in response.text


def test_unknown_model_is_404_after_auth(arthur: LocalArthur, http: httpx.Client) -> None:
    assert post(http, [inference("a")], model="other").status_code == 404
    assert (
        post(http, [inference("a")], model="other", headers={"Authorization": "x"}).status_code
        == 401
    )
    assert arthur.inferences == {}


@pytest.mark.parametrize(
    "body", [b"{not json", b'{"partner_inference_id": "a"}', b'"text"', b"[1, 2"]
)
def test_a_body_that_is_not_a_json_array_is_400(http: httpx.Client, body: bytes) -> None:
    response = post(http, body)
    assert response.status_code == 400
    assert response.json()["message"]


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        ({"inference_timestamp": TS, "inference_data": {}}, "partner_inference_id"),
        (inference("x" * 256), "255"),
        (inference("a", inference_timestamp="2024-01-19T19:27:57"), "timezone-aware"),
        (inference("a", inference_timestamp="yesterday"), "timezone-aware"),
        ({"partner_inference_id": "a", "inference_data": {}}, "inference_timestamp is required"),
        (inference("a", inference_data=[1, 2]), "inference_data"),
        (inference("a", extra=1), "unknown field"),
        (inference("a", inference_data={"age": 1.0, "city": "x", "score": 1, "zz": 1}), "'zz'"),
        (inference("a", inference_data={"age": 1.0, "city": "x", "score": 1, "label": 1}), "label"),
        (inference("a", inference_data={"age": "old", "city": "x", "score": 1}), "FLOAT"),
        (inference("a", inference_data={"age": True, "city": "x", "score": 1}), "FLOAT"),
        (inference("a", inference_data={"age": 1, "city": 5, "score": 1}), "STRING"),
        (
            inference("a", inference_data={"age": 1, "city": "x", "score": 1, "segment": 1.5}),
            "INTEGER",
        ),
        (inference("a", inference_data={"city": "x", "score": 1}), "age"),
        (inference("a", inference_data={"age": 1, "city": "x"}), "score"),
        (inference("a", batch_id=7), "batch_id"),
        (inference("a", ground_truth_data={"label": 1}), "ground_truth_timestamp"),
        ("not an object", "JSON object"),
    ],
)
def test_each_invalid_record_is_refused_on_its_own(
    arthur: LocalArthur, http: httpx.Client, record: Any, fragment: str
) -> None:
    answer = post(http, [record, inference("good")]).json()
    assert answer["counts"] == {"success": 1, "failure": 1, "total": 2}
    assert answer["results"][0]["status"] == 400
    assert fragment in answer["results"][0]["message"]
    assert list(arthur.inferences) == ["good"]


def test_null_values_and_whole_floats_for_integers_are_accepted(http: httpx.Client) -> None:
    data = {"age": None, "city": None, "score": 1, "segment": 3.0}
    answer = post(http, [inference("a", inference_data=data)]).json()
    assert answer["counts"]["success"] == 1


def test_lenient_mode_uses_coerce() -> None:
    with LocalArthur(make_schema(), model_id=MODEL, token=TOKEN, strict_types=False) as srv:
        headers = {"Authorization": TOKEN}
        data = {"age": "31.5", "city": "x", "score": "0.5"}
        body = json.dumps(
            [
                inference("a", inference_data=data),
                inference("b", inference_data={**data, "age": "old"}),
            ]
        )
        response = httpx.post(
            f"{srv.url}/api/v3/models/{MODEL}/inferences", content=body, headers=headers
        )
        assert [r["status"] for r in response.json()["results"]] == [200, 400]


def test_batch_models_need_a_batch_id_and_batches_are_tracked() -> None:
    with LocalArthur(make_schema(is_batch=True), model_id=MODEL, token=TOKEN) as srv:
        url = f"{srv.url}/api/v3/models/{MODEL}"
        headers = {"Authorization": TOKEN}
        body = json.dumps([inference("a"), inference("b", batch_id="b1")])
        answer = httpx.post(url + "/inferences", content=body, headers=headers).json()
        assert [r["status"] for r in answer["results"]] == [400, 200]
        closed = httpx.patch(
            url + "/batches/b1",
            content=json.dumps({"status": "uploaded", "total_record_count": 1}),
            headers=headers,
        )
        assert closed.status_code == 200
        assert srv.batches == {"b1": {"received": 1, "status": "uploaded", "total_record_count": 1}}
        bad = httpx.patch(url + "/batches/b1", content=b'{"status": "open"}', headers=headers)
        assert bad.status_code == 400


def test_ground_truth_patch(arthur: LocalArthur, http: httpx.Client) -> None:
    post(http, [inference("a")])
    updates = [
        {
            "partner_inference_id": "a",
            "ground_truth_timestamp": TS,
            "ground_truth_data": {"label": 1},
        },
        {
            "partner_inference_id": "zz",
            "ground_truth_timestamp": TS,
            "ground_truth_data": {"label": 1},
        },
        {
            "partner_inference_id": "a",
            "ground_truth_timestamp": TS,
            "ground_truth_data": {"age": 1},
        },
        {"partner_inference_id": "a", "ground_truth_data": {"label": 1}},
    ]
    for path in ("/inferences", "/ground_truth"):
        response = http.patch(f"/models/{MODEL}{path}", content=json.dumps(updates))
        assert response.status_code == 207
        answer = response.json()
        assert [r["status"] for r in answer["results"]] == [200, 400, 400, 400]
        assert answer["counts"] == {"success": 1, "failure": 3, "total": 4}
    assert arthur.ground_truth["a"]["ground_truth_data"] == {"label": 1}


def parquet_bytes(rows: list[dict[str, Any]]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue()


def test_file_upload_reads_flat_parquet_with_a_batch_id(
    arthur: LocalArthur, http: httpx.Client
) -> None:
    from datetime import UTC, datetime

    when = datetime(2024, 1, 19, 19, 27, 57, tzinfo=UTC)
    rows = [
        {
            "partner_inference_id": "p1",
            "inference_timestamp": when,
            "age": 1.0,
            "city": "a",
            "score": 0.1,
        },
        {
            "partner_inference_id": "p2",
            "inference_timestamp": when,
            "age": 2.0,
            "city": "b",
            "score": 0.2,
        },
        {
            "partner_inference_id": "p3",
            "inference_timestamp": when,
            "age": 3.0,
            "city": "c",
            "score": None,
        },
    ]
    files = {"inference_data": ("part.parquet", parquet_bytes(rows), "application/octet-stream")}
    response = http.post(f"/models/{MODEL}/inferences/file", files=files, data={"batch_id": "b9"})
    assert response.status_code == 207
    assert response.json() == {"counts": {"success": 3, "failure": 0, "total": 3}, "failures": []}
    assert arthur.inferences["p1"]["inference_data"] == {"age": 1.0, "city": "a", "score": 0.1}
    assert arthur.inferences["p1"]["batch_id"] == "b9"
    assert arthur.files[0]["rows"] == 3
    assert arthur.files[0]["batch_id"] == "b9"


def test_file_upload_reports_failures_by_row(arthur: LocalArthur, http: httpx.Client) -> None:
    body = json.dumps([inference("j1"), inference("j2", inference_timestamp="2024-01-01")])
    files = {"inference_data": ("part.json", body.encode(), "application/json")}
    answer = http.post(f"/models/{MODEL}/inferences/file", files=files).json()
    assert answer["counts"] == {"success": 1, "failure": 1, "total": 2}
    assert answer["failures"][0]["index"] == 1
    assert set(arthur.inferences) == {"j1"}


def test_file_upload_needs_multipart_and_a_readable_file(http: httpx.Client) -> None:
    path = f"/models/{MODEL}/inferences/file"
    assert (
        http.post(path, content=b"[]", headers={"Content-Type": "application/json"}).status_code
        == 415
    )
    assert http.post(path, files={"other": ("x", b"[]", "application/json")}).status_code == 400
    bad = {"inference_data": ("x.parquet", b"PAR1 this is not parquet", "application/octet-stream")}
    response = http.post(path, files=bad)
    assert response.status_code == 400
    assert "Parquet" in response.json()["message"]


def test_get_model_returns_the_schema(http: httpx.Client) -> None:
    answer = http.get(f"/models/{MODEL}", params={"expand": "attributes"}).json()
    assert answer["id"] == MODEL
    assert [a["name"] for a in answer["attributes"]] == ["age", "city", "segment", "score", "label"]
    assert (
        ModelSchema.from_json(json.dumps(answer)).by_name().keys() == make_schema().by_name().keys()
    )


MODEL_FIELDS = [
    "id",
    "partner_model_id",
    "input_type",
    "output_type",
    "display_name",
    "description",
    "is_batch",
    "version_sequence_num",
    "status",
    "created_at",
    "updated_at",
]
"""The fields of Arthur's model answer, before ``attributes``."""


def test_get_model_answers_as_arthur_does(http: httpx.Client) -> None:
    """``?expand=attributes``: the model's fields, then every attribute with all its fields."""
    answer = http.get(f"/models/{MODEL}", params={"expand": "attributes"}).json()
    assert list(answer) == [*MODEL_FIELDS, "attributes"]
    assert (answer["input_type"], answer["output_type"], answer["is_batch"]) == (
        "TABULAR",
        "MULTICLASS",  # an INTEGER label
        False,
    )
    first = answer["attributes"][0]
    assert list(first) == [
        "id",
        "name",
        "label",
        "value_type",
        "stage",
        "position",
        "categorical",
        "min_range",
        "max_range",
        "monitor_for_bias",
        "categories",
        "bins",
        "is_unique",
        "is_positive_predicted_attribute",
        "attribute_link",
        "gt_class_link",
        "implicit",
    ]
    assert first["id"] != answer["attributes"][1]["id"]
    assert (first["name"], first["stage"], first["value_type"], first["position"]) == (
        "age",
        "PIPELINE_INPUT",
        "FLOAT",
        0,
    )
    assert (first["categorical"], first["label"], first["categories"]) == (False, None, None)
    loaded = ModelSchema.from_json(answer)
    assert [a.name for a in loaded.attributes] == [a.name for a in make_schema().attributes]
    # without expand=attributes, Arthur answers the model's fields only
    assert list(http.get(f"/models/{MODEL}").json()) == MODEL_FIELDS


def test_get_model_refuses_an_unknown_model_and_a_wrong_token(
    arthur: LocalArthur, http: httpx.Client
) -> None:
    unknown = http.get("/models/other", params={"expand": "attributes"})
    assert unknown.status_code == 404
    assert "other" in unknown.json()["message"]
    wrong = http.get(
        f"/models/{MODEL}", params={"expand": "attributes"}, headers={"Authorization": "nope"}
    )
    assert wrong.status_code == 401
    assert arthur.request_count("GET") == 2


def test_get_model_answers_the_model_fields_it_was_given() -> None:
    document = {"display_name": "Churn", "partner_model_id": "churn-1", "id": "ignored"}
    with LocalArthur(
        make_schema(is_batch=True), model_id=MODEL, token=TOKEN, model=document
    ) as srv:
        url = f"{srv.url}/api/v3/models/{MODEL}?expand=attributes"
        answer = httpx.get(url, headers={"Authorization": TOKEN}).json()
    assert answer == srv.model_document()
    assert (answer["id"], answer["display_name"], answer["partner_model_id"]) == (
        MODEL,
        "Churn",
        "churn-1",
    )
    assert answer["is_batch"] is True
    assert ModelSchema.from_json(answer).is_batch


def test_unknown_routes_and_methods(http: httpx.Client) -> None:
    assert http.get("/nothing").status_code == 404
    assert http.put(f"/models/{MODEL}/inferences", content=b"[]").status_code == 405
    assert http.post(f"/models/{MODEL}/elsewhere", content=b"[]").status_code == 404


def test_limits_are_enforced() -> None:
    with LocalArthur(
        make_schema(), token=TOKEN, model_id=MODEL, max_body_bytes=2000, max_records=2
    ) as srv:
        url = f"{srv.url}/api/v3/models/{MODEL}/inferences"
        headers = {"Authorization": TOKEN}
        three = json.dumps([inference("a"), inference("b"), inference("c")])
        assert httpx.post(url, content=three, headers=headers).status_code == 413
        big = json.dumps([inference("a" * 200)] * 20)
        assert httpx.post(url, content=big, headers=headers).status_code == 413
        assert srv.inferences == {}


def test_injected_5xx_and_429_answer_without_storing(
    arthur: LocalArthur, http: httpx.Client
) -> None:
    arthur.faults.fail(1, status=502)
    arthur.faults.throttle(1, retry_after="3")
    first = post(http, [inference("a")])
    second = post(http, [inference("a")])
    third = post(http, [inference("a")])
    assert first.status_code == 502
    assert (second.status_code, second.headers["Retry-After"]) == (429, "3")
    assert third.status_code == 207
    assert arthur.arrivals == {"a": 1}
    assert [r.fault for r in arthur.requests] == ["fail", "fail", None]
    assert arthur.faults.pending() == 0


def test_dropped_connections_store_nothing_unless_after_processing(
    arthur: LocalArthur, http: httpx.Client
) -> None:
    arthur.faults.drop(1)
    with pytest.raises(httpx.RemoteProtocolError):
        post(http, [inference("a")])
    assert arthur.inferences == {}
    arthur.faults.drop(1, after_processing=True)
    with pytest.raises(httpx.RemoteProtocolError):
        post(http, [inference("a")])
    assert arthur.arrivals == {"a": 1}
    assert [r.status for r in arthur.requests] == [0, 0]


def test_delay_stores_then_answers_late(arthur: LocalArthur, http: httpx.Client) -> None:
    arthur.faults.delay(1, seconds=0.6)
    with pytest.raises(httpx.ReadTimeout):
        post(http, [inference("a")], timeout=0.15)
    assert arthur.arrivals == {"a": 1}
    assert post(http, [inference("b")]).status_code == 207


def test_miscount_and_truncate_faults(arthur: LocalArthur, http: httpx.Client) -> None:
    arthur.faults.miscount(1)
    arthur.faults.truncate_results(1)
    first = post(http, [inference("a"), inference("b")]).json()
    assert first["counts"]["success"] == 3
    second = post(http, [inference("c"), inference("d")]).json()
    assert len(second["results"]) == 1
    assert second["counts"]["total"] == 2


def test_fault_arguments_are_bounded(arthur: LocalArthur) -> None:
    with pytest.raises(ValueError, match="seconds"):
        arthur.faults.delay(1, seconds=3600)
    with pytest.raises(ValueError, match="n must be"):
        arthur.faults.fail(10**6)


def test_binds_loopback_only_and_hides_the_token(arthur: LocalArthur) -> None:
    assert arthur.url.startswith("http://127.0.0.1:")
    assert arthur.port > 0
    assert TOKEN not in repr(arthur)
    assert "***" in repr(arthur)


def test_reset_and_request_counts(arthur: LocalArthur, http: httpx.Client) -> None:
    post(http, [inference("a")])
    http.patch(f"/models/{MODEL}/inferences", content=b"[]")
    assert arthur.request_count() == 2
    assert arthur.request_count("POST", "/inferences") == 1
    arthur.reset()
    assert arthur.request_count() == 0
    assert arthur.inferences == {}


def test_stop_closes_the_port() -> None:
    srv = LocalArthur(make_schema(), token=TOKEN).start()
    url = srv.url
    srv.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/api/v3/models/local-model", timeout=2)
    with pytest.raises(RuntimeError):
        _ = srv.url


def test_runs_as_a_module_for_demos(tmp_path: Path) -> None:
    schema_file = tmp_path / "model.json"
    attributes = [a.model_dump(mode="json", exclude_none=True) for a in make_schema().attributes]
    schema_file.write_text(json.dumps({"id": MODEL, "attributes": attributes}))
    env = {**os.environ, "ARTHUR_ACCESS_TOKEN": TOKEN}
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "arthur_capture.testing", "--schema", str(schema_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        response = httpx.post(
            f"{url}/api/v3/models/{MODEL}/inferences",
            content=json.dumps([inference("demo")]),
            headers={"Authorization": TOKEN},
        )
        assert response.json()["counts"]["success"] == 1
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "1 inference(s) stored" in err
    assert TOKEN not in err


def test_module_refuses_a_missing_schema(tmp_path: Path) -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "arthur_capture.testing",
            "--schema",
            str(tmp_path / "none.json"),
            "--token",
            "t",
            "--model-id",
            "m",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode == 2
    assert "cannot read" in done.stderr
