"""check-config and check-triggers: the library checks and the two commands."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from arthur_capture.aws.checks import (
    capture_config_shape,
    check_capture_config,
    check_triggers,
    load_document,
)
from arthur_capture.cli import build_parser, main
from arthur_capture.errors import CaptureError, ConfigError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "aws"


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _rules(doc: Any) -> list[str]:
    return [problem.rule for problem in check_capture_config(doc)]


def _trigger(
    id_: str, events: list[str], prefix: str | None = None, suffix: str | None = None
) -> dict[str, Any]:
    rules = [{"Name": "Prefix", "Value": prefix}] if prefix is not None else []
    rules += [{"Name": "Suffix", "Value": suffix}] if suffix is not None else []
    config: dict[str, Any] = {
        "Id": id_,
        "LambdaFunctionArn": f"arn:aws:lambda:us-east-1:111122223333:function:{id_}",
        "Events": events,
    }
    if rules:
        config["Filter"] = {"Key": {"FilterRules": rules}}
    return config


def _pairs(doc: Any) -> list[tuple[str, str]]:
    return [(o.first.id, o.second.id) for o in check_triggers(doc).overlaps]


# --- check_capture_config ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("create-endpoint-config.json", "CreateEndpointConfig"),
        ("describe-endpoint-config.json", "DescribeEndpointConfig"),
        ("sdk-data-capture-config.json", "sagemaker.DataCaptureConfig"),
    ],
)
def test_each_document_shape_that_meets_the_rules_has_no_problem(name: str, shape: str) -> None:
    doc = _load(name)
    assert capture_config_shape(doc) == shape
    assert check_capture_config(doc) == []


def test_the_api_data_capture_config_alone_is_read() -> None:
    doc = _load("describe-endpoint-config.json")["DataCaptureConfig"]
    assert capture_config_shape(doc) == "DataCaptureConfig"
    assert check_capture_config(doc) == []


def _api_breaks() -> list[tuple[str, Any]]:
    def disabled(c: dict[str, Any]) -> None:
        c["EnableCapture"] = False

    def input_only(c: dict[str, Any]) -> None:
        c["CaptureOptions"] = [{"CaptureMode": "Input"}]

    def sampled(c: dict[str, Any]) -> None:
        c["InitialSamplingPercentage"] = 20

    def no_content_types(c: dict[str, Any]) -> None:
        del c["CaptureContentTypeHeader"]

    def no_destination(c: dict[str, Any]) -> None:
        del c["DestinationS3Uri"]

    return [
        ("capture_enabled", disabled),
        ("capture_modes", input_only),
        ("sampling_percentage", sampled),
        ("content_types", no_content_types),
        ("destination", no_destination),
    ]


@pytest.mark.parametrize("name", ["create-endpoint-config.json", "describe-endpoint-config.json"])
@pytest.mark.parametrize(("rule", "breaking"), _api_breaks(), ids=[r for r, _ in _api_breaks()])
def test_each_api_rule_broken_alone_is_the_one_reported(
    rule: str, breaking: Any, name: str
) -> None:
    doc = copy.deepcopy(_load(name))
    breaking(doc["DataCaptureConfig"])
    (problem,) = check_capture_config(doc)
    assert problem.rule == rule
    assert problem.field.startswith("DataCaptureConfig.")
    assert problem.field in problem.message
    assert "\n" not in problem.message


@pytest.mark.parametrize(
    ("rule", "change"),
    [
        ("capture_enabled", {"enable_capture": False}),
        ("capture_modes", {"capture_options": ["REQUEST"]}),
        ("sampling_percentage", {"sampling_percentage": 50}),
        ("destination", {"destination_s3_uri": None}),
    ],
)
def test_each_sdk_rule_broken_alone_is_the_one_reported(rule: str, change: dict[str, Any]) -> None:
    doc = {**_load("sdk-data-capture-config.json"), **change}
    (problem,) = check_capture_config(doc)
    assert problem.rule == rule
    assert problem.field in problem.message


def test_the_sdk_defaults_apply_to_what_is_left_out() -> None:
    # The SDK samples 20 % by default; its content types and capture options default to
    # text/csv, application/json and REQUEST+RESPONSE (lower case is upper-cased, as it does).
    doc = {
        "enable_capture": True,
        "destination_s3_uri": "s3://b/p",
        "capture_options": ["request", "response"],
    }
    assert _rules(doc) == ["sampling_percentage"]
    assert "sampling_percentage is 20:" in check_capture_config(doc)[0].message


def test_the_base64_fixture_breaks_sampling_and_content_types() -> None:
    problems = check_capture_config(_load("describe-endpoint-config-base64.json"))
    assert [p.rule for p in problems] == ["sampling_percentage", "content_types"]
    assert "BASE64" in problems[1].message


def test_a_destination_that_is_not_an_s3_uri_is_reported() -> None:
    doc = copy.deepcopy(_load("create-endpoint-config.json"))
    doc["DataCaptureConfig"]["DestinationS3Uri"] = "capture-bucket/churn"
    assert _rules(doc) == ["destination"]


def test_an_endpoint_config_without_data_capture_is_one_problem() -> None:
    doc = _load("create-endpoint-config.json")
    del doc["DataCaptureConfig"]
    assert _rules(doc) == ["data_capture_config"]


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ([1, 2], "got a list"),
        ({"Foo": 1}, "not a capture configuration"),
        ({"EnableCapture": "yes"}, "EnableCapture must be true or false"),
        ({"DataCaptureConfig": {"InitialSamplingPercentage": True}}, "must be a number"),
        ({"DataCaptureConfig": {"CaptureOptions": ["Input"]}}, "CaptureOptions item"),
    ],
)
def test_a_document_of_another_shape_is_a_config_error(doc: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        check_capture_config(doc)
    assert isinstance(info.value, (CaptureError, ValueError))


def test_load_document_names_the_source() -> None:
    with pytest.raises(ConfigError, match=r"^x.json is not JSON: .* line 1 column"):
        load_document(b"{not json", "x.json")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_document(b"\xff\xfe", "x.json")


# --- check_triggers ------------------------------------------------------------------------------


def test_the_pages_example_overlaps_a_with_c_and_b_with_c_not_a_with_b() -> None:
    report = check_triggers(_load("notification-overlapping.json"))
    assert [(o.first.id, o.second.id) for o in report.overlaps] == [("A", "C"), ("B", "C")]
    assert not report.ok


def test_a_wildcard_event_overlaps_the_events_it_covers() -> None:
    doc = {
        "LambdaFunctionConfigurations": [_trigger("all", ["s3:ObjectCreated:*"], "data/")],
        "QueueConfigurations": [
            {"Id": "puts", "QueueArn": "arn:q", "Events": ["s3:ObjectCreated:Put"]},
        ],
    }
    (overlap,) = check_triggers(doc).overlaps
    assert (overlap.first.id, overlap.second.id, overlap.events) == (
        "all",
        "puts",
        ("s3:ObjectCreated:*",),
    )


def test_distinct_event_types_do_not_overlap() -> None:
    doc = {
        "LambdaFunctionConfigurations": [
            _trigger("created", ["s3:ObjectCreated:*"], "data/"),
            _trigger("removed", ["s3:ObjectRemoved:*"], "data/"),
            _trigger("put", ["s3:ObjectCreated:Put"], "other/"),
            _trigger("copy", ["s3:ObjectCreated:Copy"], "other/"),
        ]
    }
    assert _pairs(doc) == []


def test_disjoint_prefixes_or_suffixes_do_not_overlap_and_missing_ones_match_everything() -> None:
    events = ["s3:ObjectCreated:*"]
    disjoint = {
        "LambdaFunctionConfigurations": [
            _trigger("a", events, "modelA/"),
            _trigger("b", events, "modelB/"),
            _trigger("c", events, "modelC/", ".jsonl"),
            _trigger("d", events, "modelC/", ".csv"),
        ]
    }
    assert _pairs(disjoint) == []
    unfiltered = {
        "LambdaFunctionConfigurations": [_trigger("x", events), _trigger("y", events, suffix=".gz")]
    }
    assert _pairs(unfiltered) == [("x", "y")]


def test_suffixes_overlap_when_one_ends_the_other() -> None:
    events = ["s3:ObjectCreated:*"]
    doc = {
        "LambdaFunctionConfigurations": [
            _trigger("gz", events, "p/", ".gz"),
            _trigger("tgz", events, "p/", ".tar.gz"),
        ]
    }
    assert _pairs(doc) == [("gz", "tgz")]


def test_an_output_prefix_under_a_trigger_is_a_loop() -> None:
    doc = _load("notification-ok.json")
    report = check_triggers(
        doc,
        [
            "s3://capture-bucket/churn/datacapture/arthur-out/",
            "rejects/",
            "s3://other/churn/datacapture/x",
        ],
        bucket="capture-bucket",
    )
    assert [(loop.prefix, loop.trigger.id) for loop in report.loops] == [
        ("s3://capture-bucket/churn/datacapture/arthur-out/", "capture-to-arthur")
    ]
    # the ObjectRemoved queue under churn/ does not fire on writes
    assert report.overlaps == ()
    assert report.eventbridge


def test_an_ok_configuration_and_an_empty_one_report_nothing() -> None:
    assert check_triggers(_load("notification-ok.json"), ["rejects/"]).ok
    assert check_triggers({}).ok
    assert check_triggers({"NotificationConfiguration": {}, "Bucket": "b"}).ok


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ("text", "got a string"),
        ({"EnableCapture": True}, "unexpected EnableCapture"),
        ({"QueueConfigurations": [{"Id": "q"}]}, "no Events"),
        (
            {
                "LambdaFunctionConfigurations": [
                    _trigger("t", ["s3:ObjectCreated:*"])
                    | {"Filter": {"Key": {"FilterRules": [{"Name": "Middle", "Value": "x"}]}}}
                ]
            },
            "expected Prefix or Suffix",
        ),
    ],
)
def test_a_document_that_is_not_a_notification_configuration_is_a_config_error(
    doc: Any, match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        check_triggers(doc)


# --- the commands --------------------------------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


@pytest.mark.parametrize(
    "name",
    [
        "create-endpoint-config.json",
        "describe-endpoint-config.json",
        "sdk-data-capture-config.json",
    ],
)
def test_check_config_exits_0_when_every_rule_holds(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    status, out, err = _run(capsys, "check-config", str(FIXTURES / name))
    assert (status, err) == (0, "")
    assert len(out) == 1
    assert out[0].startswith("ok: ")


def test_check_config_prints_one_line_per_broken_rule_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = _run(
        capsys, "check-config", str(FIXTURES / "describe-endpoint-config-base64.json")
    )
    assert (status, err) == (1, "")
    assert [line.split(":")[0] for line in out] == ["sampling_percentage", "content_types"]


def test_check_config_reads_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = {"enable_capture": False, "sampling_percentage": 100, "destination_s3_uri": "s3://b/p"}
    stdin = io.TextIOWrapper(io.BytesIO(json.dumps(doc).encode()))
    monkeypatch.setattr("sys.stdin", stdin)
    status, out, _ = _run(capsys, "check-config", "-")
    assert status == 1
    assert out == ["capture_enabled: enable_capture is False: set it to True"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "is not JSON"),
        ("[1]", "expected a JSON object"),
        ('{"hello": 1}', "not a capture configuration"),
    ],
)
def test_check_config_bad_input_exits_2_with_one_sentence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "config.json"
    path.write_text(content, encoding="utf-8")
    status, out, err = _run(capsys, "check-config", str(path))
    assert (status, out) == (2, [])
    assert err.startswith("arthur-capture: ")
    assert expected in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_check_config_missing_file_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, err = _run(capsys, "check-config", str(tmp_path / "nope.json"))
    assert (status, out) == (2, [])
    assert err.startswith(f"arthur-capture: cannot read {tmp_path / 'nope.json'}")
    assert err.count("\n") == 1


def test_check_triggers_reports_the_pages_example_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = _run(
        capsys, "check-triggers", str(FIXTURES / "notification-overlapping.json")
    )
    assert (status, err) == (1, "")
    assert len(out) == 2
    assert out[0].startswith("overlap: A (prefix 'modelA/datacapture', suffix '.jsonl') and C ")
    assert out[1].startswith("overlap: B (prefix 'modelA', suffix '.tar.gz') and C ")


def test_check_triggers_exits_0_without_overlap_or_loop(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(
        capsys,
        "check-triggers",
        str(FIXTURES / "notification-ok.json"),
        "--rejects-prefix",
        "s3://capture-bucket/rejects/",
    )
    assert (status, err) == (0, "")
    assert out == ["ok: 2 trigger(s), no overlap, no loop"]


def test_check_triggers_warns_of_an_output_under_a_trigger(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = _run(
        capsys,
        "check-triggers",
        str(FIXTURES / "notification-ok.json"),
        "--output-prefix",
        "s3://capture-bucket/out/",
        "--rejects-prefix",
        "churn/datacapture/rejects/",
    )
    assert status == 1
    assert out == [
        (
            "loop: output prefix 'churn/datacapture/rejects/' lies under trigger capture-to-arthur "
            "(prefix 'churn/datacapture/', suffix '.jsonl'): objects written there can trigger "
            "the function again; write outside the trigger's prefix"
        )
    ]


@pytest.mark.parametrize(
    ("content", "expected"), [("", "is not JSON"), ('{"Foo": []}', "unexpected Foo")]
)
def test_check_triggers_bad_input_exits_2_with_one_sentence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "n.json"
    path.write_text(content, encoding="utf-8")
    status, out, err = _run(capsys, "check-triggers", str(path))
    assert (status, out) == (2, [])
    assert expected in err
    assert err.count("\n") == 1


def test_the_checks_take_no_capture_reading_options() -> None:
    parser = build_parser()
    with pytest.raises(Exception, match="unrecognized arguments: --sniff"):
        parser.parse_args(["check-config", "x.json", "--sniff"])
    args = parser.parse_args(["validate", "--schema", "m.json", "a.jsonl"])
    assert args.files == ["a.jsonl"]
