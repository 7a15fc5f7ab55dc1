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
    ArthurAPIError,
    ArthurAuthError,
    ArthurError,
    ArthurUnavailableError,
    CaptureError,
    CoercionError,
    ConfigError,
    CountMismatchError,
    DecoderRegistryError,
    ExpansionError,
    ExportError,
    GroundTruthError,
    InvalidBase64Error,
    InvalidEventError,
    InvalidJSONError,
    InvalidPayloadError,
    InvalidSourceError,
    LineError,
    MappingError,
    MissingDependencyError,
    NameConflictError,
    ParquetError,
    PartnerIdTooLongError,
    PayloadError,
    Reason,
    RejectedError,
    SchemaError,
    SourceError,
    StorageError,
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

# Names the package loads from the layers above the core only when first used.
LAZY = {
    "to_dataframe",
    "records_to_dataframe",
    "CaptureFrame",
    "ModelSchema",
    "SchemaMapper",
    "ArthurError",
    "ArthurAPIError",
    "ArthurAuthError",
    "ArthurUnavailableError",
}

# The layers above the core: reading capture files never needs them.
UPPER_LAYERS = (
    "arthur_capture.storage",
    "arthur_capture.arthur",
    "arthur_capture.sinks",
    "arthur_capture.spark",
    "arthur_capture.cli",
    "arthur_capture.testing",
)

EXPECTED_ALL = {
    # reading
    "DEFAULT_MAX_LINE_BYTES",
    "CaptureReader",
    "CaptureResult",
    "CaptureStream",
    "Ledger",
    "Lines",
    "Named",
    "ReaderOptions",
    "RecordMapper",
    "Source",
    "iter_calls",
    "iter_records",
    "read_records",
    # events
    "CaptureData",
    "CaptureEvent",
    "CaptureSide",
    "Encoding",
    "EventMetadata",
    # decoders
    "CSVDecoder",
    "Decoder",
    "DecoderRegistry",
    "Inference",
    "JSONDecoder",
    "JSONLinesDecoder",
    "Payload",
    "default_registry",
    "parse_media_type",
    # records
    "MAX_PARTNER_ID_LENGTH",
    "Call",
    "InferenceRecord",
    "Reject",
    "expand",
    "partner_inference_id",
    "dumps_json",
    # errors
    "ArthurAPIError",
    "ArthurAuthError",
    "ArthurError",
    "ArthurUnavailableError",
    "CaptureError",
    "CoercionError",
    "ConfigError",
    "CountMismatchError",
    "DecoderRegistryError",
    "ExpansionError",
    "ExportError",
    "GroundTruthError",
    "InvalidBase64Error",
    "InvalidEventError",
    "InvalidJSONError",
    "InvalidPayloadError",
    "InvalidSourceError",
    "LineError",
    "MappingError",
    "MissingDependencyError",
    "NameConflictError",
    "ParquetError",
    "PartnerIdTooLongError",
    "PayloadError",
    "Reason",
    "RejectedError",
    "SchemaError",
    "SourceError",
    "StorageError",
    "UnknownContentTypeError",
    # loaded lazily from the layers above
    *LAZY,
    "__version__",
}


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
    # The names of the layers above are loaded lazily by the module __getattr__, so they are
    # not in the namespace yet (or are, if a test already used them); __version__ is public
    # by convention.
    assert set(exported) == (namespace - NOT_API) | LAZY | {"__version__"}


def test_all_is_the_documented_api() -> None:
    assert set(arthur_capture.__all__) == EXPECTED_ALL
    for gone in ("LineTooLargeError", "arthur_json", "SourceLine", "Expansion", "records_of"):
        assert not hasattr(arthur_capture, gone), gone


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
        upper = sorted(m for m in sys.modules if m.startswith({UPPER_LAYERS!r}))
        print(json.dumps({{"heavy": heavy, "upper": upper}}))
        """
    )
    assert result == {"heavy": [], "upper": []}


def test_reading_a_line_loads_no_heavy_module() -> None:
    result = _run(
        f"""
        import json, sys
        import arthur_capture
        line = (b'{{"captureData":{{"endpointInput":{{"observedContentType":"text/csv",'
                b'"data":"1,2","encoding":"CSV"}}}},"eventMetadata":{{"eventId":"e",'
                b'"inferenceTime":"2024-01-19T19:27:57Z"}},"eventVersion":"0"}}')
        result = arthur_capture.read_records(line)
        from arthur_capture.sinks.jsonl import arthur_json
        arthur_json(result.records[0])
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
        steps = {"import": "arthur_capture.sinks.dataframe" in sys.modules}
        function = arthur_capture.to_dataframe
        steps["attribute"] = "arthur_capture.sinks.dataframe" in sys.modules
        steps["pandas_after_attribute"] = "pandas" in sys.modules
        steps["same"] = function is sys.modules["arthur_capture.sinks.dataframe"].to_dataframe
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


_CAPTURE_LINE = (
    b'{"captureData":{"endpointInput":{"observedContentType":"text/csv",'
    b'"data":"1,2","encoding":"CSV"}},"eventMetadata":{"eventId":"e",'
    b'"inferenceTime":"2024-01-19T19:27:57Z"},"eventVersion":"0"}'
)


def test_reading_a_capture_file_without_a_schema_loads_no_layer_above_the_core(
    tmp_path: Path,
) -> None:
    path = tmp_path / "capture.jsonl"
    path.write_bytes(_CAPTURE_LINE + b"\n{\n")  # one record, one reject
    result = _run(
        f"""
        import json, sys
        import arthur_capture

        def upper():
            return sorted(
                m for m in sys.modules
                if any(m == layer or m.startswith(layer + ".") for layer in {UPPER_LAYERS!r})
            )

        path = {str(path)!r}
        read = arthur_capture.read_records(path)
        counts = [len(read.records), len(read.rejects)]
        counts.append(sum(1 for _ in arthur_capture.iter_records(path)))
        counts.append(sum(1 for _ in arthur_capture.iter_calls(path)))
        reader = arthur_capture.CaptureReader()
        counts.append(len(reader.read(arthur_capture.Named(path, "x"), [path]).records))
        counts.append(sum(1 for _ in reader.iter_calls(arthur_capture.Lines([b"{{"]))))
        after_reading = upper()
        arthur_capture.SchemaMapper  # the check sees a layer above once it is loaded
        print(json.dumps({{
            "counts": counts,
            "upper": after_reading,
            "mapping_seen": "arthur_capture.arthur.mapping" in upper(),
        }}))
        """
    )
    assert result == {"counts": [1, 1, 2, 2, 2, 1], "upper": [], "mapping_seen": True}


# The core: it imports pydantic, orjson and the standard library, and nothing above it.
CORE = (
    "arthur_capture.errors",
    "arthur_capture.events",
    "arthur_capture._json",
    "arthur_capture.records",
    "arthur_capture.decoders",
    "arthur_capture.reading",
)


def _in_core(module: str) -> bool:
    return any(module == core or module.startswith(core + ".") for core in CORE)


def _core_files() -> list[Path]:
    files = [PACKAGE_DIR / f"{name}.py" for name in ("errors", "events", "_json", "records")]
    for package in ("decoders", "reading"):
        files += sorted((PACKAGE_DIR / package).rglob("*.py"))
    return files


def _module_of(path: Path) -> tuple[str, bool]:
    """The dotted name of a module file, and whether it is a package's ``__init__``."""
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_of(source: str, module: str, *, is_package: bool = False) -> list[tuple[str, bool]]:
    """Every module ``source`` imports (relative imports resolved, ``import_module("...")``
    calls included), each with whether it is imported only for type checking."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, typing_only: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.body:
                visit(statement, True)
            for statement in node.orelse:
                visit(statement, typing_only)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, typing_only) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.append((base, typing_only))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.args[0].value, typing_only))
        for child in ast.iter_child_nodes(node):
            visit(child, typing_only)

    visit(ast.parse(source), False)
    return found


def test_the_import_finder_sees_every_kind_of_import() -> None:
    source = textwrap.dedent(
        """
        import os
        from . import _framing
        from ..records import Call
        from arthur_capture.sinks import jsonl
        if TYPE_CHECKING:
            from arthur_capture.arthur.schema import ModelSchema
        def f():
            import arthur_capture.cli
            return importlib.import_module("arthur_capture.spark")
        """
    )
    assert _imports_of(source, "arthur_capture.reading._reader") == [
        ("os", False),
        ("arthur_capture.reading", False),
        ("arthur_capture.records", False),
        ("arthur_capture.sinks", False),
        ("arthur_capture.arthur.schema", True),
        ("arthur_capture.cli", False),
        ("arthur_capture.spark", False),
    ]
    assert _imports_of("from . import x", "arthur_capture.reading", is_package=True) == [
        ("arthur_capture.reading", False)
    ]


def _upward_imports(*, typing_only: bool) -> dict[str, list[str]]:
    upward: dict[str, list[str]] = {}
    for path in _core_files():
        module, is_package = _module_of(path)
        assert _in_core(module), module
        imports = _imports_of(path.read_text(encoding="utf-8"), module, is_package=is_package)
        bad = [
            name
            for name, only_for_types in imports
            if (name == "arthur_capture" or name.startswith("arthur_capture."))
            and not _in_core(name)
            and only_for_types == typing_only
        ]
        if bad:
            upward[module] = bad
    return upward


def test_the_core_imports_nothing_above_it() -> None:
    files = _core_files()
    assert len(files) >= 14, files  # errors, events, _json, records, decoders/*, reading/*
    assert _upward_imports(typing_only=False) == {}


def test_the_core_imports_nothing_above_it_even_for_type_checking() -> None:
    assert _upward_imports(typing_only=True) == {}


# What each layer above the core may import (besides itself): arrows point down only.
LAYER_IMPORTS = {
    "storage": {"core", "dependencies"},
    "arthur": {"core", "dependencies"},
    "sinks": {"core", "dependencies", "storage", "arthur"},
    "spark": {"core", "dependencies", "storage", "arthur", "sinks"},
    "testing": {"core", "dependencies", "arthur"},
    "aws": {"core", "dependencies", "storage", "arthur", "sinks"},
    "report": {"core", "dependencies", "storage", "arthur", "sinks"},
    "cli": {"core", "dependencies", "storage", "arthur", "sinks", "aws", "report"},
    "dependencies": {"core"},
}


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) < 2:
        return "facade"
    if parts[1] in LAYER_IMPORTS:
        return parts[1]
    return "facade" if parts[1] in {"_api", "__main__"} else "core"


def test_every_layer_imports_only_the_layers_below_it() -> None:
    upward: dict[str, list[str]] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        module, is_package = _module_of(path)
        layer = _layer(module)
        if layer not in LAYER_IMPORTS:
            continue
        imports = _imports_of(path.read_text(encoding="utf-8"), module, is_package=is_package)
        bad = [
            name
            for name, _ in imports
            if name.startswith("arthur_capture.")
            and _layer(name) != layer
            and _layer(name) not in LAYER_IMPORTS[layer]
        ]
        if bad:
            upward[module] = bad
    assert upward == {}


# --- the error tree --------------------------------------------------------------------------

DOCUMENTED_BASES: dict[type[Exception], tuple[type[Exception], ...]] = {
    LineError: (ValueError,),
    InvalidJSONError: (LineError, ValueError),
    InvalidEventError: (LineError, ValueError),
    PayloadError: (ValueError,),
    InvalidBase64Error: (PayloadError, ValueError),
    UnknownContentTypeError: (PayloadError, ValueError, LookupError),
    InvalidPayloadError: (PayloadError, ValueError),
    ExpansionError: (ValueError,),
    CountMismatchError: (ExpansionError, ValueError),
    NameConflictError: (ExpansionError, ValueError),
    PartnerIdTooLongError: (ExpansionError, ValueError),
    RejectedError: (ValueError,),
    DecoderRegistryError: (ValueError,),
    SourceError: (OSError,),
    InvalidSourceError: (TypeError,),
    SchemaError: (ValueError,),
    MappingError: (ValueError,),
    CoercionError: (ValueError,),
    GroundTruthError: (ValueError,),
    ParquetError: (ValueError,),
    ExportError: (ValueError,),
    ConfigError: (ValueError,),
    StorageError: (OSError,),
    MissingDependencyError: (ImportError,),
    ArthurError: (),
    ArthurAPIError: (ArthurError,),
    ArthurAuthError: (ArthurAPIError, ArthurError),
    ArthurUnavailableError: (ArthurError, ConnectionError),
}

# Errors with no built-in base besides Exception: talking to Arthur is not a value error.
NO_BUILT_IN_BASE = {CaptureError, ArthurError, ArthurAPIError, ArthurAuthError}


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
    assert set(DOCUMENTED_BASES) == set(errors) - {CaptureError}
    for error in errors:
        assert issubclass(error, CaptureError), error
        if error not in NO_BUILT_IN_BASE:
            assert issubclass(error, (ValueError, LookupError, OSError, TypeError, ImportError)), (
                error
            )


def test_line_too_large_error_is_gone_but_its_reason_stays() -> None:
    # It was never raised: an over-long line is a line_too_large reject.
    assert not hasattr(arthur_capture, "LineTooLargeError")
    assert not hasattr(arthur_capture.errors, "LineTooLargeError")
    (reject,) = arthur_capture.read_records(_CAPTURE_LINE, max_line_bytes=10).rejects
    assert reject.reason is Reason.LINE_TOO_LARGE


def test_invalid_source_error_is_a_type_error() -> None:
    with pytest.raises(InvalidSourceError) as info:
        arthur_capture.read_records(iter([_CAPTURE_LINE]))  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)
    assert info.value.reason is None


def test_capture_error_carries_message_and_reason() -> None:
    error = CaptureError("boom")
    assert (str(error), error.message, error.reason) == ("boom", "boom", None)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (InvalidJSONError("m"), Reason.INVALID_JSON),
        (InvalidJSONError("m", Reason.TRUNCATED_LINE), Reason.TRUNCATED_LINE),
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
        (PartnerIdTooLongError("m"), Reason.ID_TOO_LONG),
        (CoercionError("m"), Reason.INVALID_VALUE),
        (MappingError("m", Reason.UNKNOWN_ATTRIBUTE), Reason.UNKNOWN_ATTRIBUTE),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_data_errors_carry_their_reason(error: CaptureError, reason: Reason) -> None:
    assert error.reason is reason
    assert error.message == "m"


def test_environment_errors_carry_no_reason() -> None:
    assert SourceError("m").reason is None
    assert DecoderRegistryError("m").reason is None
    assert InvalidSourceError("m").reason is None
    assert SchemaError("m").reason is None
    assert MissingDependencyError("m").reason is None
    assert ArthurError("m").reason is None


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
