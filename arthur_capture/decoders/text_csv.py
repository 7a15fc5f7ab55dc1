"""``text/csv``: RFC 4180 rows, one inference per row, values typed by the JSON number rule."""

from __future__ import annotations

import csv
import io
import re
from typing import TYPE_CHECKING, Any

import orjson

from arthur_capture.errors import InvalidPayloadError

if TYPE_CHECKING:
    from arthur_capture.decoders._registry import Inference, Payload

__all__ = ["CSVDecoder", "csv_value"]

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_INT64_MIN = -(2**63)
_UINT64_MAX = 2**64 - 1
_FIELD_LIMIT = 1 << 30


def csv_value(field: str) -> Any:
    """Type one CSV field without a schema.

    A valid JSON number literal becomes a number exactly as orjson reads it in a JSON
    payload: an ``int`` within 64-bit range, else a ``float``; a literal that overflows
    to infinity stays the string it was. An empty field becomes ``None``; anything
    else stays a string.
    """
    if not field:
        return None
    match = _NUMBER.fullmatch(field)
    if match is None:
        return field
    if match.group(1) is None and match.group(2) is None and len(field) <= 21:
        number = int(field)
        if _INT64_MIN <= number <= _UINT64_MAX:
            return number
    value = float(field)
    return value if value not in (float("inf"), float("-inf")) else field


_ONLY_NUMBER_CHARS = re.compile(r"[0-9.,eE+\n-]*")


def _numeric_rows(text: str) -> list[Inference] | None:
    """All rows at once, when every field is a JSON number literal; else ``None``.

    A fast path with no rules of its own: when the body holds only number characters,
    commas and LF row ends, wrapping each row in ``[...]`` makes a JSON document whose
    numbers orjson reads exactly as :func:`csv_value` does (its grammar *is* the JSON
    number grammar, and out-of-range integers become floats in both). Anything else
    (quotes, spaces, CR, empty fields or rows, ``1e400``, text) makes orjson refuse,
    and the caller takes the general path.
    """
    body = text.removesuffix("\n")
    if (
        not body
        or body[0] == "\n"
        or body[-1] == "\n"
        or "\n\n" in body
        or _ONLY_NUMBER_CHARS.fullmatch(body) is None
    ):
        return None
    try:
        rows: list[list[Any]] = orjson.loads("[[" + body.replace("\n", "],[") + "]]")
    except orjson.JSONDecodeError:
        return None
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        return None
    return rows  # type: ignore[return-value]


class CSVDecoder:
    """Decode ``text/csv`` bodies as RFC 4180.

    Quoted fields may hold commas, quotes and newlines; CRLF and LF both end a row;
    one trailing line ending is ignored. All rows must have the same number of fields.

    Args:
        header: Read the first row as column names; each later row becomes a name → value
            map. Off by default: SageMaker's built-in algorithms send no header, and row 0
            is never dropped unless asked.
        infer_types: Type fields by :func:`csv_value`. When false, every field stays the
            string it was (an empty field is ``""``).
    """

    media_types: tuple[str, ...] = ("text/csv", "application/csv", "text/x-csv")

    def __init__(self, *, header: bool = False, infer_types: bool = True) -> None:
        """Create the decoder."""
        self.header = header
        self.infer_types = infer_types

    def decode(self, payload: Payload) -> list[Inference]:
        """Parse every row into column-ordered values."""
        text = payload.text()
        if not text:
            raise InvalidPayloadError("the CSV body is empty: it holds no inference")
        if "\x00" in text:
            raise InvalidPayloadError("the CSV body holds a NUL character")
        if self.infer_types and not self.header:
            fast = _numeric_rows(text)
            if fast is not None:
                return fast
        if csv.field_size_limit() < _FIELD_LIMIT:
            csv.field_size_limit(_FIELD_LIMIT)
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        rows: list[Inference] = []
        width = -1
        names: list[str] | None = None
        typed = self.infer_types
        try:
            for row in reader:
                if names is None and self.header:
                    names = _header(row)
                    width = len(names)
                    continue
                if typed:
                    values = [csv_value(field) for field in row] if row else [None]
                else:
                    values = list(row) if row else [""]
                if width < 0:
                    width = len(values)
                elif len(values) != width:
                    msg = f"CSV row {reader.line_num} has {len(values)} fields; expected {width}"
                    raise InvalidPayloadError(msg)
                rows.append(dict(zip(names, values, strict=True)) if names is not None else values)
        except csv.Error as exc:
            raise InvalidPayloadError(
                f"CSV syntax error near row {reader.line_num}: {exc}"
            ) from exc
        if not rows:
            raise InvalidPayloadError("the CSV body has a header but no row: it holds no inference")
        return rows

    def __repr__(self) -> str:
        """Name the decoder and its options."""
        return f"CSVDecoder(header={self.header}, infer_types={self.infer_types})"


def _header(row: list[str]) -> list[str]:
    if not row or not all(row):
        raise InvalidPayloadError("the CSV header row has an empty column name")
    if len(set(row)) != len(row):
        duplicates = sorted({name for name in row if row.count(name) > 1})
        raise InvalidPayloadError(f"the CSV header repeats column name(s): {', '.join(duplicates)}")
    return row
