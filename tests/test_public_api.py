"""The public surface: ``__all__``, docstrings, import cost, the error tree, reason codes."""

from __future__ import annotations

import ast
import enum
import inspect
import itertools
import json
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

import arthur_capture
from arthur_capture import (
    CaptureError,
    CountMismatchError,
    DecoderRegistryError,
    ExpansionError,
    InvalidBase64Error,
    InvalidEventError,
    InvalidJSONError,
    InvalidPayloadError,
    LineError,
    NameConflictError,
    PayloadError,
    Reason,
    RejectedError,
    SourceError,
    UnknownContentTypeError,
)

PACKAGE_DIR = Path(arthur_capture.__file__).parent

HEAVY_MODULES = (
    "pandas",
    "numpy",
    "pyarrow",
    "boto3",
    "botocore",
    "requests",
    "httpx",
    "urllib3",
)

# Names a module namespace holds that are not part of the API.
NOT_API = {"annotations", "TYPE_CHECKING", "Any"}


def _run(code: str) -> dict[str, object]:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- __all__ ---------------------------------------------------------------------------------


def test_all_is_exactly_the_public_names() -> None:
    exported = arthur_capture.__all__
    assert len(exported) == len(set(exported)), "duplicates in __all__"
    namespace = {
        name
        for name, value in vars(arthur_capture).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    # to_dataframe is loaded lazily by the module __getattr__, so it is not in the namespace yet
    # (or is, if a test already used it); __version__ is public by convention.
    assert set(exported) == (namespace - NOT_API) | {"to_dataframe", "__version__"}


def test_every_exported_name_is_importable() -> None:
    for name in arthur_capture.__all__:
        assert getattr(arthur_capture, name) is not None, name
    code = f"from arthur_capture import {', '.join(arthur_capture.__all__)}"
    exec(compile(code, "<star>", "exec"), {})  # noqa: S102


def test_star_import_gives_all() -> None:
    namespace: dict[str, object] = {}
    exec("from arthur_capture import *", namespace)  # noqa: S102
    assert set(namespace) - {"__builtins__"} == set(arthur_capture.__all__)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = arthur_capture.nope


def _attribute_docstrings() -> dict[str, str]:
    """``NAME = value`` followed by a string literal, in modules and class bodies."""
    docs: dict[str, str] = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bodies = [tree.body] + [n.body for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
        for body in bodies:
            for node, following in itertools.pairwise(body):
                targets: list[ast.expr] = []
                if isinstance(node, ast.Assign):
                    targets = list(node.targets)
                elif isinstance(node, ast.AnnAssign):
                    targets = [node.target]
                if (
                    isinstance(following, ast.Expr)
                    and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)
                ):
                    docs.update(
                        (target.id, following.value.value)
                        for target in targets
                        if isinstance(target, ast.Name)
                    )
    return docs


def test_every_public_name_has_a_docstring() -> None:
    attribute_docs = _attribute_docstrings()
    missing = []
    for name in arthur_capture.__all__:
        if name == "__version__":
            continue
        value = getattr(arthur_capture, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            own = value.__dict__.get("__doc__") if inspect.isclass(value) else value.__doc__
            if not (own and own.strip()):
                missing.append(name)
        elif not attribute_docs.get(name, "").strip():
            missing.append(name)
    assert missing == []
    assert arthur_capture.__doc__


def test_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+(\S*)", arthur_capture.__version__)


def test_public_classes_and_functions_live_in_the_package() -> None:
    for name in arthur_capture.__all__:
        value = getattr(arthur_capture, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__module__.startswith("arthur_capture"), name


def test_py_typed_marker_ships() -> None:
    assert (PACKAGE_DIR / "py.typed").is_file()


# --- import cost -----------------------------------------------------------------------------


def test_import_loads_no_heavy_module() -> None:
    result = _run(
        f"""
        import json, sys
        import arthur_capture
        heavy = [m for m in {HEAVY_MODULES!r} if m in sys.modules]
        print(json.dumps({{"heavy": heavy, "frames": "arthur_capture.frames" in sys.modules}}))
        """
    )
    assert result == {"heavy": [], "frames": False}


def test_reading_a_line_loads_no_heavy_module() -> None:
    result = _run(
        f"""
        import json, sys
        import arthur_capture
        line = (b'{{"captureData":{{"endpointInput":{{"observedContentType":"text/csv",'
                b'"data":"1,2","encoding":"CSV"}}}},"eventMetadata":{{"eventId":"e",'
                b'"inferenceTime":"2024-01-19T19:27:57Z"}},"eventVersion":"0"}}')
        result = arthur_capture.read_records(line)
        arthur_capture.arthur_json(result.records[0])
        heavy = [m for m in {HEAVY_MODULES!r} if m in sys.modules]
        print(json.dumps({{"heavy": heavy, "records": len(result.records)}}))
        """
    )
    assert result == {"heavy": [], "records": 1}


def test_to_dataframe_loads_lazily() -> None:
    result = _run(
        """
        import json, sys
        import arthur_capture
        steps = {"import": "arthur_capture.frames" in sys.modules}
        function = arthur_capture.to_dataframe
        steps["attribute"] = "arthur_capture.frames" in sys.modules
        steps["pandas_after_attribute"] = "pandas" in sys.modules
        steps["same"] = function is sys.modules["arthur_capture.frames"].to_dataframe
        function([])
        steps["pandas_after_call"] = "pandas" in sys.modules
        print(json.dumps(steps))
        """
    )
    assert result == {
        "import": False,
        "attribute": True,
        "pandas_after_attribute": False,
        "same": True,
        "pandas_after_call": True,
    }


# --- the error tree --------------------------------------------------------------------------

DOCUMENTED_BASES: dict[type[Exception], tuple[type[Exception], ...]] = {
    LineError: (ValueError,),
    InvalidJSONError: (LineError, ValueError),
    LineTooLargeError: (LineError, ValueError),
    InvalidEventError: (LineError, ValueError),
    PayloadError: (ValueError,),
    InvalidBase64Error: (PayloadError, ValueError),
    UnknownContentTypeError: (PayloadError, ValueError, LookupError),
    InvalidPayloadError: (PayloadError, ValueError),
    ExpansionError: (ValueError,),
    CountMismatchError: (ExpansionError, ValueError),
    NameConflictError: (ExpansionError, ValueError),
    RejectedError: (ValueError,),
    DecoderRegistryError: (ValueError,),
    SourceError: (OSError,),
}


@pytest.mark.parametrize("error", list(DOCUMENTED_BASES), ids=lambda e: e.__name__)
def test_error_has_its_documented_bases(error: type[Exception]) -> None:
    assert issubclass(error, CaptureError)
    for base in DOCUMENTED_BASES[error]:
        assert issubclass(error, base), base


def test_source_error_is_not_a_value_error() -> None:
    assert not issubclass(SourceError, ValueError)


def test_every_exported_error_is_a_capture_error_with_a_built_in_base() -> None:
    errors = [
        getattr(arthur_capture, name)
        for name in arthur_capture.__all__
        if inspect.isclass(getattr(arthur_capture, name))
        and issubclass(getattr(arthur_capture, name), BaseException)
    ]
    assert CaptureError in errors
    assert set(DOCUMENTED_BASES) <= set(errors)
    for error in errors:
        assert issubclass(error, CaptureError), error
        if error is not CaptureError:
            assert issubclass(error, (ValueError, LookupError, OSError)), error


def test_capture_error_carries_message_and_reason() -> None:
    error = CaptureError("boom")
    assert (str(error), error.message, error.reason) == ("boom", "boom", None)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (InvalidJSONError("m"), Reason.INVALID_JSON),
        (InvalidJSONError("m", Reason.TRUNCATED_LINE), Reason.TRUNCATED_LINE),
        (LineTooLargeError("m"), Reason.LINE_TOO_LARGE),
        (InvalidEventError("m"), Reason.INVALID_EVENT),
        (
            InvalidEventError("m", Reason.UNSUPPORTED_EVENT_VERSION),
            Reason.UNSUPPORTED_EVENT_VERSION,
        ),
        (PayloadError("m"), Reason.INVALID_PAYLOAD),
        (InvalidBase64Error("m"), Reason.INVALID_BASE64),
        (UnknownContentTypeError("m"), Reason.UNKNOWN_CONTENT_TYPE),
        (InvalidPayloadError("m"), Reason.INVALID_PAYLOAD),
        (InvalidPayloadError("m", Reason.NESTING_TOO_DEEP), Reason.NESTING_TOO_DEEP),
        (CountMismatchError("m"), Reason.COUNT_MISMATCH),
        (NameConflictError("m"), Reason.NAME_CONFLICT),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_data_errors_carry_their_reason(error: CaptureError, reason: Reason) -> None:
    assert error.reason is reason
    assert error.message == "m"


def test_environment_errors_carry_no_reason() -> None:
    assert SourceError("m").reason is None
    assert DecoderRegistryError("m").reason is None


def test_rejected_error_holds_its_reject() -> None:
    marker = object()
    error = RejectedError(marker, "msg")
    assert error.reject is marker
    assert str(error) == "msg"


# --- reason codes ----------------------------------------------------------------------------


@pytest.mark.parametrize("reason", list(Reason), ids=lambda r: r.name)
def test_reason_values_are_lower_snake_strings(reason: Reason) -> None:
    assert isinstance(reason, str)
    assert isinstance(reason.value, str)
    assert re.fullmatch(r"[a-z]+(?:_[a-z0-9]+)*", reason.value)
    assert reason.value == reason.name.lower()
    assert str(reason) == reason.value
    assert f"{reason}" == reason.value
    assert Reason(reason.value) is reason


def test_reasons_are_a_closed_unique_str_enum() -> None:
    assert issubclass(Reason, enum.StrEnum)
    values = [r.value for r in Reason]
    assert len(values) == len(set(values))
    assert {
        "invalid_json",
        "invalid_utf8",
        "truncated_line",
        "line_too_large",
        "invalid_compression",
        "nesting_too_deep",
        "invalid_event",
        "unsupported_event_version",
        "unknown_content_type",
        "invalid_base64",
        "invalid_payload",
        "count_mismatch",
        "name_conflict",
    } <= set(values)
    with pytest.raises(ValueError, match="not a valid Reason"):
        Reason("no_such_reason")


def test_every_reason_is_documented() -> None:
    docs = _attribute_docstrings()
    assert [r.name for r in Reason if not docs.get(r.name, "").strip()] == []
