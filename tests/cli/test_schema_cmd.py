"""``arthur-capture schema``: a model's attributes fetched from (the local) Arthur, written as
the file ``--schema`` reads; and what it says when it cannot fetch them."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from arthur_capture.arthur.schema import ModelSchema
from arthur_capture.cli import main
from arthur_capture.testing import LocalArthur

if TYPE_CHECKING:
    from collections.abc import Iterator

ARTHUR = Path(__file__).resolve().parents[2] / "fixtures" / "arthur"
CHURN = ARTHUR / "churn_binary.jsonl"
CHURN_MODEL = ARTHUR / "churn_binary.model.json"
BATCH_MODEL = ARTHUR / "batch_demand.model.json"
TOKEN = "tok-schema-" + "Qw7e9Rt2Yu4i" * 3
MODEL = "6a1f0c3e-2b7d-4c55-9e0a-8d4b2f1c7e90"
FAKE_HOST = "arthur-plain.test"
"""A host name that is not loopback; the tests resolve it to 127.0.0.1."""


@pytest.fixture
def arthur() -> Iterator[LocalArthur]:
    document = json.loads(CHURN_MODEL.read_text())
    schema = ModelSchema.from_json(document)
    with LocalArthur(
        schema, model_id=MODEL, token=TOKEN, organization_id="org-1", model=document
    ) as srv:
        yield srv


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARTHUR_ACCESS_TOKEN", TOKEN)
    for name in ("ARTHUR_HOST", "ARTHUR_MODEL_ID", "ARTHUR_ORGANIZATION_ID"):
        monkeypatch.delenv(name, raising=False)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def schema(arthur: LocalArthur, *extra: str, model: str = MODEL) -> list[str]:
    return ["schema", "--host", arthur.url, "--model-id", model, *extra]


def one_line(err: str) -> str:
    assert err.endswith("\n")
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert TOKEN not in err
    return err.removeprefix("arthur-capture: ").rstrip("\n")


def resolve_to_loopback(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """``name`` resolves to 127.0.0.1 in this process (a host that is not loopback by name)."""
    real = socket.getaddrinfo

    def fake(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == name else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    for proxy in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)


# --- what it writes ---------------------------------------------------------------------------


def test_schema_prints_arthurs_answer_model_fields_and_attributes(
    arthur: LocalArthur, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(schema(arthur), capsys)
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document == arthur.model_document()
    fixture = json.loads(CHURN_MODEL.read_text())
    assert document == fixture  # the model's fields and every attribute field, as Arthur has them
    assert document["display_name"] == "Telco churn (XGBoost)"
    assert document["attributes"][1]["categories"] == [
        {"value": "no", "label": None},
        {"value": "yes", "label": None},
    ]
    requests = [(r.method, r.path) for r in arthur.requests]
    assert requests == [("GET", f"/api/v3/models/{MODEL}")]


def test_schema_o_writes_the_file_every_command_reads(
    arthur: LocalArthur, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "model.json"
    code, out, err = run(schema(arthur, "-o", str(target)), capsys)
    assert code == 0
    assert out == ""
    assert one_line(err) == f"wrote {target}: model {MODEL!r}, 7 attribute(s)"
    assert json.loads(target.read_text()) == arthur.model_document()
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]  # no temporary file left

    # convert and validate read it as they read the fixture it came from
    for command in (["convert"], ["validate"]):
        fetched = run([*command, str(CHURN), "--schema", str(target)], capsys)
        original = run([*command, str(CHURN), "--schema", str(CHURN_MODEL)], capsys)
        assert fetched == original
        assert fetched[0] == 1  # the fixture holds rejects
    # and upload sends with it, without fetching again
    arthur.reset()
    argv = ["upload", str(CHURN), "--host", arthur.url, "--model-id", MODEL]
    code, out, err = run([*argv, "--schema", str(target), "--no-progress"], capsys)
    assert code == 1  # the fixture's rejects
    assert arthur.request_count("GET") == 0
    sent = arthur.inferences
    assert len(sent) == 6
    names = {a.name for a in arthur.schema.attributes}
    assert all(set(r["inference_data"]) <= names for r in sent.values())


def test_schema_o_replaces_a_file_whole_and_keeps_it_when_the_fetch_fails(
    arthur: LocalArthur, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "model.json"
    target.write_text("old")
    code, _, err = run(schema(arthur, "-o", str(target), model="no-such-model"), capsys)
    assert code == 2
    assert "not found" in one_line(err)
    assert target.read_text() == "old"
    assert run(schema(arthur, "-o", str(target)), capsys)[0] == 0
    assert ModelSchema.load(target).model_id == MODEL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json"]


def test_schema_o_into_a_missing_directory_is_one_sentence(
    arthur: LocalArthur, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "nowhere" / "model.json"
    code, out, err = run(schema(arthur, "-o", str(target)), capsys)
    assert (code, out) == (2, "")
    assert one_line(err).startswith(f"cannot write {target}: ")


def test_a_schema_file_of_arthurs_answer_with_nulls_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Arthur may answer ``"categorical": null``; the model's other fields are ignored."""
    document = json.loads(CHURN_MODEL.read_text())
    for attribute in document["attributes"]:
        if not attribute["categorical"]:
            attribute["categorical"] = None
    document["tags"] = [{"name": "churn"}]
    path = tmp_path / "model.json"
    path.write_text(json.dumps(document))
    assert run(["validate", str(CHURN), "--schema", str(path)], capsys) == run(
        ["validate", str(CHURN), "--schema", str(CHURN_MODEL)], capsys
    )


# --- when it cannot ---------------------------------------------------------------------------


def test_an_unknown_model_is_one_sentence(
    arthur: LocalArthur, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(schema(arthur, model="m-404"), capsys)
    assert (code, out) == (2, "")
    assert one_line(err) == (
        f"model 'm-404' not found at {arthur.url} (Arthur answered 404: no model with id "
        "'m-404'); check --model-id"
    )


@pytest.mark.parametrize(
    ("token", "org", "status", "fragment"),
    [
        ("wrong-token", "org-1", 401, "the token in ARTHUR_ACCESS_TOKEN is missing, wrong or"),
        (TOKEN, "org-2", 403, "the token in ARTHUR_ACCESS_TOKEN may not read this model"),
    ],
)
def test_401_and_403_are_one_sentence_and_never_retried(
    arthur: LocalArthur,
    token: str,
    org: str,
    status: int,
    fragment: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ARTHUR_ACCESS_TOKEN", token)
    code, out, err = run(schema(arthur, "--org-id", org), capsys)
    assert (code, out) == (2, "")
    line = one_line(err)
    assert line.startswith(f"Arthur answered {status} for model {MODEL!r}: ")
    assert fragment in line
    assert arthur.request_count() == 1


def test_arthur_not_reachable_is_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    argv = ["schema", "--host", f"http://127.0.0.1:{port}", "--model-id", "m", "--attempts", "1"]
    code, out, err = run(argv, capsys)
    assert (code, out) == (2, "")
    assert one_line(err).startswith(
        f"cannot reach Arthur at http://127.0.0.1:{port} for model 'm': "
    )


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"ARTHUR_ACCESS_TOKEN": ""}, "set ARTHUR_ACCESS_TOKEN to an Arthur API token"),
        ({}, "give --host and --model-id"),
    ],
)
def test_missing_token_host_or_model_is_one_sentence(
    env: dict[str, str],
    fragment: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    argv = ["schema", "--host", "https://arthur.example"]
    argv += ["--model-id", "m"] if env else []
    code, out, err = run(argv, capsys)
    assert (code, out) == (2, "")
    assert fragment in one_line(err)


# --- plain http -------------------------------------------------------------------------------


def test_plain_http_to_a_host_that_is_not_loopback_names_the_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["schema", "--host", "http://arthur.example", "--model-id", "m"]
    code, out, err = run(argv, capsys)
    assert (code, out) == (2, "")
    assert one_line(err) == (
        "refusing to send the token over plain http to arthur.example; use https, or pass "
        "--allow-insecure to send it unencrypted"
    )
    assert "allow_insecure=True" not in err


def test_allow_insecure_sends_over_plain_http_with_a_warning(
    arthur: LocalArthur, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    resolve_to_loopback(monkeypatch, FAKE_HOST)
    host = f"http://{FAKE_HOST}:{arthur.port}"
    code, out, err = run(
        ["schema", "--host", host, "--model-id", MODEL, "--allow-insecure"], capsys
    )
    assert code == 0
    assert json.loads(out) == arthur.model_document()
    assert one_line(err) == (
        f"warning: --allow-insecure: the token goes to {FAKE_HOST} over plain http, unencrypted"
    )


def test_allow_insecure_says_nothing_for_https_or_loopback(
    arthur: LocalArthur, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(schema(arthur, "--allow-insecure"), capsys)
    assert (code, err) == (0, "")
    assert json.loads(out)["id"] == MODEL


def test_schema_is_a_command_of_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["schema", "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    for option in ("--host", "--model-id", "--org-id", "-o", "--allow-insecure", "--timeout"):
        assert option in out
    assert "expand=attributes" in out


def test_schema_without_httpx_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)  # import httpx now fails
    code, out, err = run(["schema", "--host", "https://arthur.example", "--model-id", "m"], capsys)
    assert (code, out) == (2, "")
    assert one_line(err) == 'schema needs httpx: pip install "arthur-capture[arthur]"'
