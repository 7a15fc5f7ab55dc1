"""Seed corpora for the fuzz targets, built from this repository's own ``fixtures/``.

Each seed is a fixture (a whole file, one line, one side's body, or one record's values)
wrapped in the option bytes its target reads first (see :mod:`fuzz.targets`), so the fuzzer
starts from every shape the fixtures hold. Nothing is copied from outside the repository.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from arthur_capture import InferenceRecord, read_records
from arthur_capture.decoders import parse_media_type
from fuzz.targets import CHARSETS, MEDIA_TYPES, TARGETS, encode_value

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["FIXTURES", "seeds", "write_seeds"]

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
"""The fixtures the seeds come from."""

_NO_CHARSET = 255
_DEPTH_32 = 3  # index of 32 in the decoder targets' depth choices
_DEPTH_MAX = 4  # index of MAX_DEPTH_LIMIT there
_TYPED_ROW = [7, 0.25, "text", True, "2024-01-19T19:27:57Z", "free text", "img.png"]
_TYPED_ROW += [[[0, 0, 1, 1]], ["a", "b"], [0.1, 0.9], [["a", 1]], ["x", "y"], []]
_DEEP = b"[" * 150 + b"1" + b"]" * 150


def _files() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*.jsonl*") if p.is_file())


def _plain(path: Path) -> bytes | None:
    """A fixture's bytes, decompressed when gzip (``None`` for a cut or corrupt stream)."""
    raw = path.read_bytes()
    if not raw.startswith(b"\x1f\x8b"):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error):
        return None


def _lines() -> Iterator[tuple[str, bytes]]:
    for path in _files():
        body = _plain(path)
        if body is not None:
            for line in body.split(b"\n"):
                if line.strip():
                    yield path.parent.name, line.removesuffix(b"\r")


def _sides() -> Iterator[tuple[str, str | None, bytes]]:
    """``(encoding, content type, body bytes)`` of every side of every fixture line."""
    for _, line in _lines():
        try:
            event = orjson.loads(line)
            capture = event["captureData"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue
        if not isinstance(capture, dict):
            continue
        for key in ("endpointInput", "endpointOutput"):
            part = capture.get(key)
            if not isinstance(part, dict) or not isinstance(part.get("data"), str):
                continue
            encoding = part.get("encoding")
            content_type = part.get("observedContentType")
            data: str = part["data"]
            if encoding == "BASE64":
                try:
                    body = base64.b64decode(data, validate=True)
                except ValueError:
                    continue
            else:
                body = data.encode("utf-8")
            yield str(encoding), content_type if isinstance(content_type, str) else None, body


def _reader_line() -> Iterator[bytes]:
    for group, line in _lines():
        yield b"\x00" + line
        yield b"\x01" + line
        yield b"\x20" + line[: len(line) // 2]
        if group == "arthur":
            yield b"\x02" + line
    deep = (
        b'{"captureData":{"endpointInput":{"observedContentType":"application/json",'
        b'"mode":"INPUT","data":"' + _DEEP + b'","encoding":"JSON"}},"eventMetadata":'
        b'{"eventId":"deep","inferenceTime":"2024-01-19T19:27:57Z"},"eventVersion":"0"}'
    )
    yield b"\x08" + deep
    yield b"\x00" + deep


def _reader_stream() -> Iterator[bytes]:
    for path in _files():
        raw = path.read_bytes()
        yield b"\x00\x00" + raw
        yield b"\x06\x00" + raw  # read one byte at a time
        body = _plain(path)
        if body is None or body is raw:
            yield b"\x06\x03" + raw
        if body is not None:
            yield b"\x01\x00" + body
            yield b"\x02\x80" + body
            yield b"\x04\x3f" + body
            yield b"\x05\x1f" + body
            yield b"\x08\x00" + body  # max_line_bytes 8: most lines too large


def _decoder(media: str) -> Iterator[bytes]:
    for _, content_type, body in _sides():
        media_type = parse_media_type(content_type)[0]
        if media == "csv":
            yield b"\x00\x01\x00" + body
            if media_type == "text/csv":
                yield b"\x02\x01\x00" + body  # header
                yield b"\x01\x00\x00" + body  # untyped, as text
        else:
            yield bytes([_DEPTH_32, 1, 0]) + body
    if media != "csv":
        yield bytes([_DEPTH_MAX, 1, 0]) + _DEEP


def _side_settings(encoding: str, content_type: str | None) -> bytes:
    media_type, params = parse_media_type(content_type)
    kind = {"CSV": 0, "JSON": 1, "BASE64": 2}.get(encoding, 1)
    bare = [m if m is None else parse_media_type(m)[0] for m in MEDIA_TYPES]
    media = bare.index(media_type) if content_type is not None and media_type in bare else 0
    charset = params.get("charset")
    chosen = CHARSETS.index(charset) if charset in CHARSETS else _NO_CHARSET
    return bytes([kind, media, chosen])


def _side() -> Iterator[bytes]:
    found = list(_sides())
    for (enc_in, type_in, body_in), (enc_out, type_out, body_out) in zip(
        found[::2], found[1::2], strict=False
    ):
        head = _side_settings(enc_in, type_in) + _side_settings(enc_out, type_out)
        cut = len(body_in).to_bytes(2, "little")
        for decoder in (b"\x00", b"\x01"):
            yield decoder + head + cut + body_in + body_out


def _records() -> Iterator[InferenceRecord]:
    for path in _files():
        yield from read_records(path).records


def _values(values: dict[str, Any], prefix: str) -> tuple[bool, bytes]:
    named = any(not name.startswith(prefix) for name in values)
    out = bytearray()
    for name, item in list(values.items())[:14]:
        if named:
            raw = name.encode("utf-8")[:15]
            out += bytes([0, len(raw)]) + raw
        out += encode_value(item)
    return named, bytes(out)


def _mapping() -> Iterator[bytes]:
    for record in _records():
        named_in, inputs = _values(dict(record.inputs), "input_")
        named_out, outputs = _values(dict(record.outputs), "output_")
        flags = 0x01 | 0x02 | (0x04 if record.inputs else 0) | (0x08 if record.outputs else 0)
        flags |= (0x10 if named_in else 0) | (0x20 if named_out else 0)
        counts = bytes([flags, min(len(record.inputs), 14), min(len(record.outputs), 4)])
        yield counts + inputs + outputs
    typed = b"".join(encode_value(v) for v in _TYPED_ROW)
    outputs = b"".join(encode_value(v) for v in (0.9, 1, "2024-01-19T19:27:57+00:00"))
    yield bytes([0x0F, len(_TYPED_ROW), 3]) + typed + outputs
    yield bytes([0x4F, len(_TYPED_ROW), 1]) + typed + encode_value(0.9)
    yield bytes([0x8F, len(_TYPED_ROW), 3]) + typed + outputs + b"\x09"  # a 259-character ID


def _coerce() -> Iterator[bytes]:
    for record in _records():
        for item in (*record.inputs.values(), *record.outputs.values()):
            yield encode_value(item)
    for item in _TYPED_ROW:
        yield encode_value(item)
    for tag in range(12):
        yield bytes([tag, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49])


_BUILDERS = {
    "reader_line": _reader_line,
    "reader_stream": _reader_stream,
    "decoder_csv": lambda: _decoder("csv"),
    "decoder_json": lambda: _decoder("json"),
    "decoder_jsonlines": lambda: _decoder("jsonlines"),
    "side": _side,
    "mapping": _mapping,
    "coerce": _coerce,
}


def seeds(target: str) -> list[bytes]:
    """The seed inputs of one target, without duplicates, in a stable order."""
    if target not in TARGETS:
        raise KeyError(target)
    return list(dict.fromkeys(_BUILDERS[target]()))


def write_seeds(target: str, folder: Path) -> int:
    """Write a target's seeds into ``folder`` (one file each, named by content); how many."""
    folder.mkdir(parents=True, exist_ok=True)
    found = seeds(target)
    for seed in found:
        (folder / hashlib.sha1(seed, usedforsecurity=False).hexdigest()).write_bytes(seed)
    return len(found)
