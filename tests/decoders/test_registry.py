"""Media-type parsing, the decoder registry and its entry-point plug-ins."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING, Any

import pytest

from arthur_capture import (
    CaptureReader,
    Decoder,
    DecoderRegistry,
    DecoderRegistryError,
    InvalidPayloadError,
    Payload,
    Reason,
    UnknownContentTypeError,
    default_registry,
    parse_media_type,
)
from arthur_capture.decoders import ENTRY_POINT_GROUP
from arthur_capture.decoders._registry import _charset_codec
from arthur_capture.decoders.application_json import JSONDecoder
from arthur_capture.decoders.application_jsonlines import JSONLinesDecoder
from arthur_capture.decoders.text_csv import CSVDecoder

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from arthur_capture.decoders import Inference


class TextLinesDecoder:
    """A third-party decoder: one inference per line of ``text/plain``."""

    media_types: tuple[str, ...] = ("text/plain", "text/x-lines")

    def decode(self, payload: Payload) -> list[Inference]:
        return [{"text": line} for line in payload.text().splitlines()]


class NoTypesDecoder:
    media_types: tuple[str, ...] = ()

    def decode(self, payload: Payload) -> list[Inference]:
        return []


# --- parse_media_type --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text/csv", ("text/csv", {})),
        ("Text/CSV", ("text/csv", {})),
        ("  APPLICATION/JSON  ", ("application/json", {})),
        ("text/csv; charset=utf-8", ("text/csv", {"charset": "utf-8"})),
        ("text/csv;charset=UTF-8", ("text/csv", {"charset": "UTF-8"})),
        ("text/CSV; label_size=0", ("text/csv", {"label_size": "0"})),
        ('text/html; Charset="ISO-8859-1"', ("text/html", {"charset": "ISO-8859-1"})),
        ("a/b; x=1; Y=Two", ("a/b", {"x": "1", "y": "Two"})),
        ("a/b; novalue; x=1", ("a/b", {"x": "1"})),
        ("a/b;", ("a/b", {})),
        ("", ("", {})),
        (None, ("", {})),
    ],
)
def test_parse_media_type(value: str | None, expected: tuple[str, dict[str, str]]) -> None:
    assert parse_media_type(value) == expected


def test_parse_media_type_value_keeps_case_but_name_is_lowered() -> None:
    media_type, params = parse_media_type("TEXT/CSV; CHARSET=Latin-1")
    assert media_type == "text/csv"
    assert params == {"charset": "Latin-1"}


# --- register / replace / unregister --------------------------------------------------------


def test_register_under_every_media_type_of_the_decoder() -> None:
    registry = DecoderRegistry()
    decoder = TextLinesDecoder()
    registry.register(decoder)
    assert dict(registry.decoders) == {"text/plain": decoder, "text/x-lines": decoder}
    assert "text/plain" in registry
    assert "TEXT/PLAIN; charset=utf-8" in registry
    assert "text/csv" not in registry
    assert 5 not in registry


def test_register_with_explicit_media_types_normalises_them() -> None:
    registry = DecoderRegistry()
    decoder = TextLinesDecoder()
    registry.register(decoder, media_types=["Text/Markdown; charset=utf-8"])
    assert list(registry.decoders) == ["text/markdown"]
    assert registry.get("text/markdown") is decoder


def test_register_clash_needs_replace() -> None:
    registry = DecoderRegistry(CSVDecoder())
    first = registry.get("text/csv")
    other = CSVDecoder(header=True)
    with pytest.raises(DecoderRegistryError, match=r"text/csv.*replace=True"):
        registry.register(other)
    assert registry.get("text/csv") is first
    registry.register(other, replace=True)
    assert registry.get("text/csv") is other
    assert registry.get("application/csv") is other


def test_re_registering_the_same_decoder_is_not_a_clash() -> None:
    decoder = CSVDecoder()
    registry = DecoderRegistry(decoder)
    registry.register(decoder)
    assert registry.get("text/csv") is decoder


def test_clash_on_one_type_registers_none_of_them() -> None:
    registry = DecoderRegistry()
    registry.register(JSONDecoder(), media_types=["text/x-lines"])
    with pytest.raises(DecoderRegistryError):
        registry.register(TextLinesDecoder())
    assert "text/plain" not in registry


def test_constructor_clash_is_an_error() -> None:
    with pytest.raises(DecoderRegistryError):
        DecoderRegistry(CSVDecoder(), CSVDecoder())


def test_decoder_without_media_type_is_refused() -> None:
    registry = DecoderRegistry()
    with pytest.raises(DecoderRegistryError, match="names no media type"):
        registry.register(NoTypesDecoder())
    with pytest.raises(DecoderRegistryError, match="names no media type"):
        registry.register(TextLinesDecoder(), media_types=["", "text/plain"])


def test_unregister() -> None:
    registry = DecoderRegistry(CSVDecoder())
    registry.unregister("Text/CSV; charset=utf-8")
    assert "text/csv" not in registry
    assert "application/csv" in registry
    with pytest.raises(DecoderRegistryError, match="text/csv"):
        registry.unregister("text/csv")


def test_registry_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no decoder is registered"):
        DecoderRegistry().unregister("x/y")


# --- get ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/csv", "TEXT/CSV", "text/csv; charset=utf-8", 'Text/Csv; charset="UTF-8"; header=absent'],
)
def test_get_ignores_parameters_and_case(content_type: str) -> None:
    decoder = CSVDecoder()
    assert DecoderRegistry(decoder).get(content_type) is decoder


def test_unknown_content_type_lists_the_known_types() -> None:
    registry = DecoderRegistry(CSVDecoder(), JSONDecoder())
    with pytest.raises(UnknownContentTypeError) as info:
        registry.get("application/x-npy; foo=bar")
    message = str(info.value)
    assert "application/x-npy" in message
    assert "foo" not in message
    assert "known types: application/csv, application/json, text/csv, text/json, text/x-csv" in (
        message
    )
    assert info.value.reason is Reason.UNKNOWN_CONTENT_TYPE
    assert isinstance(info.value, LookupError)


def test_missing_content_type_is_named_in_the_error() -> None:
    with pytest.raises(UnknownContentTypeError, match=r"\(no content type\)"):
        DecoderRegistry(CSVDecoder()).get(None)


def test_decoders_view_is_read_only_and_live() -> None:
    registry = DecoderRegistry(CSVDecoder())
    view = registry.decoders
    with pytest.raises(TypeError):
        view["text/plain"] = TextLinesDecoder()  # type: ignore[index]
    assert "text/plain" not in registry
    registry.register(TextLinesDecoder())
    assert "text/plain" in registry.decoders


def test_default_registry_holds_the_built_ins_and_is_new_each_time() -> None:
    registry = default_registry()
    assert isinstance(registry.get("text/csv"), CSVDecoder)
    assert isinstance(registry.get("application/json"), JSONDecoder)
    assert isinstance(registry.get("application/jsonlines"), JSONLinesDecoder)
    assert isinstance(registry.get("application/x-ndjson"), JSONLinesDecoder)
    other = default_registry()
    other.unregister("text/csv")
    assert "text/csv" in registry
    assert "text/csv" not in other


def test_built_ins_satisfy_the_protocol() -> None:
    for decoder in (CSVDecoder(), JSONDecoder(), JSONLinesDecoder(), TextLinesDecoder()):
        assert isinstance(decoder, Decoder)
    assert not isinstance(object(), Decoder)


def test_repr_lists_the_types() -> None:
    assert (
        repr(DecoderRegistry(TextLinesDecoder()))
        == "DecoderRegistry(['text/plain', 'text/x-lines'])"
    )


# --- a third-party decoder in code, end to end ---------------------------------------------


def _line(data: str, encoding: str, content_type: str) -> bytes:
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": content_type,
                    "mode": "INPUT",
                    "data": data,
                    "encoding": encoding,
                },
                "endpointOutput": {
                    "observedContentType": "text/csv",
                    "mode": "OUTPUT",
                    "data": "0.9\n0.1\n",
                    "encoding": "CSV",
                },
            },
            "eventMetadata": {"eventId": "evt", "inferenceTime": "2024-01-19T19:27:57Z"},
            "eventVersion": "0",
        }
    ).encode()


def test_third_party_decoder_through_the_reader() -> None:
    registry = default_registry()
    registry.register(TextLinesDecoder())
    body = base64.b64encode("héllo\nwörld".encode("latin-1")).decode()
    line = _line(body, "BASE64", "Text/Plain; charset=latin-1")
    result = CaptureReader(registry=registry).read(line + b"\n")
    assert result.rejects == []
    assert [(r.partner_inference_id, dict(r.inputs), dict(r.outputs)) for r in result.records] == [
        ("evt_0", {"text": "héllo"}, {"output_0": 0.9}),
        ("evt_1", {"text": "wörld"}, {"output_0": 0.1}),
    ]


def test_without_the_decoder_the_same_line_is_rejected() -> None:
    body = base64.b64encode(b"a\nb").decode()
    result = CaptureReader(registry=DecoderRegistry(CSVDecoder())).read(
        _line(body, "BASE64", "text/plain") + b"\n"
    )
    assert result.records == []
    assert [r.reason for r in result.rejects] == [Reason.UNKNOWN_CONTENT_TYPE]
    assert "text/plain" in result.rejects[0].message


# --- entry points ---------------------------------------------------------------------------

_DECODER_MODULE = """
from arthur_capture.decoders import Payload

LOADED = True


class XDecoder:
    media_types = ("application/x-test-{tag}",)

    def decode(self, payload: Payload) -> list:
        return [[payload.text().upper()]]
"""


def _distribution(root: Path, module: str, entry_points: str, source: str) -> None:
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry_points}\n")


@pytest.fixture
def forget_modules() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        sys.modules.pop(name, None)


def test_entry_point_decoder_loads_lazily_on_first_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forget_modules: list[str]
) -> None:
    module = "x_decoder_lazy"
    forget_modules.append(module)
    _distribution(tmp_path, module, f"lazy = {module}:XDecoder", _DECODER_MODULE.format(tag="lazy"))
    monkeypatch.syspath_prepend(str(tmp_path))

    registry = default_registry()
    assert module not in sys.modules
    registry.get("text/csv")  # a hit: entry points are not read
    assert module not in sys.modules
    assert "application/x-test-lazy" not in registry

    decoder = registry.get("application/x-test-lazy; charset=utf-8")
    assert module in sys.modules
    assert type(decoder).__name__ == "XDecoder"  # a class entry point is instantiated
    assert decoder.decode(Payload("abc", "application/x-test-lazy")) == [["ABC"]]
    assert "application/x-test-lazy" in registry.decoders


def test_entry_point_decoder_used_by_the_default_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forget_modules: list[str]
) -> None:
    module = "x_decoder_reader"
    forget_modules.append(module)
    _distribution(
        tmp_path, module, f"reader = {module}:XDecoder", _DECODER_MODULE.format(tag="reader")
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    line = _line(base64.b64encode(b"x").decode(), "BASE64", "application/x-test-reader")
    result = CaptureReader().read(line.replace(b'"0.9\\n0.1\\n"', b'"0.9"') + b"\n")
    assert result.rejects == []
    assert [dict(r.inputs) for r in result.records] == [{"input_0": "X"}]


def test_registry_without_entry_points_never_loads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forget_modules: list[str]
) -> None:
    module = "x_decoder_off"
    forget_modules.append(module)
    _distribution(tmp_path, module, f"off = {module}:XDecoder", _DECODER_MODULE.format(tag="off"))
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = DecoderRegistry(CSVDecoder())
    with pytest.raises(UnknownContentTypeError):
        registry.get("application/x-test-off")
    assert module not in sys.modules


def test_code_registration_wins_over_an_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forget_modules: list[str]
) -> None:
    module = "x_decoder_clash"
    forget_modules.append(module)
    _distribution(
        tmp_path,
        module,
        f"clash = {module}:XDecoder",
        _DECODER_MODULE.format(tag="clash").replace(
            '("application/x-test-clash",)', '("application/x-test-clash", "text/plain")'
        ),
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = default_registry()
    mine = TextLinesDecoder()
    registry.register(mine)
    registry.load_entry_points()
    assert registry.get("text/plain") is mine
    assert type(registry.get("application/x-test-clash")).__name__ == "XDecoder"


def test_import_does_not_load_entry_points(tmp_path: Path) -> None:
    module = "x_decoder_import"
    _distribution(
        tmp_path, module, f"imp = {module}:XDecoder", _DECODER_MODULE.format(tag="import")
    )
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import arthur_capture
        registry = arthur_capture.default_registry()
        registry.get("text/csv")
        assert {module!r} not in sys.modules, "loaded too early"
        registry.get("application/x-test-import")
        assert {module!r} in sys.modules, "not loaded on the miss"
        print("ok")
        """
    )
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.parametrize(
    ("tag", "target", "source", "match"),
    [
        ("missing", "{m}:Missing", "X = 1\n", "cannot load decoder entry point"),
        ("import", "{m}:X", "raise RuntimeError('boom at import')\n", "boom at import"),
        (
            "factory",
            "{m}:make",
            "def make():\n    raise ValueError('factory failed')\n",
            "factory failed",
        ),
        ("int", "{m}:thing", "thing = 42\n", "cannot load decoder entry point"),
        ("notdecoder", "{m}:Thing", "class Thing:\n    pass\n", "is not a decoder"),
        ("nomodule", "x_no_such_module_anywhere:X", "", "cannot load decoder entry point"),
    ],
)
def test_broken_entry_point_is_a_registry_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    forget_modules: list[str],
    tag: str,
    target: str,
    source: str,
    match: str,
) -> None:
    module = f"x_broken_{tag}"
    forget_modules.append(module)
    _distribution(tmp_path, module, f"broken = {target.format(m=module)}", source)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = default_registry()
    with pytest.raises(DecoderRegistryError, match=match) as info:
        registry.get("application/x-not-registered")
    assert "broken" in str(info.value)
    assert not isinstance(info.value, UnknownContentTypeError)


def test_entry_point_instance_and_factory_forms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forget_modules: list[str]
) -> None:
    module = "x_decoder_forms"
    forget_modules.append(module)
    source = _DECODER_MODULE.format(tag="forms") + textwrap.dedent(
        """
        class Other(XDecoder):
            media_types = ("application/x-test-factory",)

        instance = XDecoder()

        def factory():
            return Other()
        """
    )
    _distribution(tmp_path, module, f"inst = {module}:instance\nfact = {module}:factory", source)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = default_registry()
    imported: Any = sys.modules.get(module)
    assert imported is None
    instance = registry.get("application/x-test-forms")
    assert instance is sys.modules[module].instance
    assert type(registry.get("application/x-test-factory")).__name__ == "Other"


# --- mutation testing (docs/reliability.md) --------------------------------------------------


def test_a_codec_that_is_not_a_charset_is_a_lookup_error_naming_it() -> None:
    assert _charset_codec("Latin_1") == "iso8859-1"
    with pytest.raises(LookupError) as info:
        _charset_codec("unicode_escape")
    assert info.value.args == ("unicode_escape",)


def test_payload_keeps_its_media_type_params_and_charset() -> None:
    payload = Payload(b"1", "text/csv", {"charset": "latin-1"})
    assert payload.media_type == "text/csv"
    assert dict(payload.params) == {"charset": "latin-1"}
    assert payload.charset == "latin-1"
    assert Payload("1", "application/json").charset == "utf-8"


@pytest.mark.parametrize(
    ("body", "charset", "message"),
    [
        (b"+2D0-", "utf-7", "body decodes (utf-7) to an unpaired surrogate at 0"),
        (b"x", "nope", "unknown charset 'nope'"),
        (b"a\xffb", "utf-8", "body is not valid utf-8 at byte 1: invalid start byte"),
    ],
)
def test_payload_text_error_messages(body: bytes, charset: str, message: str) -> None:
    with pytest.raises(InvalidPayloadError) as info:
        Payload(body, "text/csv", {"charset": charset}).text()
    assert info.value.message == message


def test_payload_text_error_for_a_charset_name_python_cannot_look_up() -> None:
    with pytest.raises(InvalidPayloadError) as info:
        Payload(b"x", "text/csv", {"charset": "utf\x00"}).text()
    assert info.value.message.startswith("cannot decode the body as 'utf\\x00': ")


def test_payload_bytes_of_text_with_a_lone_surrogate() -> None:
    assert Payload("é", "text/csv").bytes() == "é".encode()
    with pytest.raises(InvalidPayloadError) as info:
        Payload("a\ud800", "text/csv").bytes()
    assert info.value.message == "body holds an unpaired surrogate: surrogates not allowed"


def test_register_clash_message_lists_every_clashing_type() -> None:
    registry = default_registry()
    with pytest.raises(DecoderRegistryError) as info:
        registry.register(CSVDecoder())
    assert str(info.value) == (
        "a decoder is already registered for text/csv, application/csv, text/x-csv; "
        "pass replace=True to replace it"
    )


def test_missing_content_type_message_in_full() -> None:
    with pytest.raises(UnknownContentTypeError) as info:
        DecoderRegistry(CSVDecoder()).get(None)
    assert str(info.value) == (
        "no decoder for (no content type); known types: application/csv, text/csv, text/x-csv"
    )


def test_entry_points_are_read_once_even_when_one_is_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forget_modules: list[str]
) -> None:
    module = "x_broken_once"
    forget_modules.append(module)
    _distribution(tmp_path, module, f"broken = {module}:Missing", "X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = default_registry()
    with pytest.raises(DecoderRegistryError, match="cannot load decoder entry point"):
        registry.get("application/x-not-registered")
    with pytest.raises(UnknownContentTypeError):  # the group is not read a second time
        registry.get("application/x-not-registered")
    registry.load_entry_points()  # nor here
