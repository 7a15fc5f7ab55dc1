"""``text/csv``: RFC 4180 rows, one inference per row, values typed by the JSON number rule."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, overload

import orjson

from arthur_capture.errors import InvalidPayloadError, Reason

if TYPE_CHECKING:
    from collections.abc import Iterator

    from arthur_capture.decoders._registry import Inference, Payload

__all__ = ["CSVDecoder", "Rows", "csv_value", "rows_of", "too_many_inferences"]

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_LONG_DIGITS = re.compile(r"[0-9]{19}")
"""A run of 19 digits: where an integer beyond 64 bits may be (orjson reads those as floats)."""
_FIELD_LIMIT = 1 << 30


def csv_value(field: str) -> Any:
    """Type one CSV field without a schema.

    A valid JSON number literal becomes a number exactly as the JSON decoders read it: an
    integer literal an exact ``int`` (of any size), else a ``float``; a literal that
    overflows to infinity, or an integer of more digits than Python converts
    (``sys.get_int_max_str_digits()``, 4300), stays the string it was. An empty field
    becomes ``None``; anything else stays a string.
    """
    if not field:
        return None
    match = _NUMBER.fullmatch(field)
    if match is None:
        return field
    if match.group(1) is None and match.group(2) is None:
        try:
            return int(field)
        except ValueError:  # past sys.get_int_max_str_digits(): kept whole, as text
            return field
    value = float(field)
    return value if value not in (float("inf"), float("-inf")) else field


_ONLY_NUMBER_CHARS = re.compile(r"[0-9.,eE+\n-]*")
_PIECE_CHARS = 1 << 20
"""About how much of a wide all-numeric body the fast path parses at a time."""
_COMPACT_ROWS = 1024
"""Bodies of more rows are kept as one :class:`Rows`; fewer, as a list of lists (faster)."""


def rows_of(values: list[Any], width: int) -> Sequence[list[Any]]:
    """``values`` cut into rows of ``width``: one :class:`Rows` when there are many."""
    if len(values) > _COMPACT_ROWS * width:
        return Rows(values, width)
    return [values[start : start + width] for start in range(0, len(values), width)]


class Rows(Sequence[list[Any]]):
    """Rows of equal width kept as one flat list of values: a CSV body decoded compactly.

    Behaves as the list of rows it stands for (``len``, indexing, iteration, ``==`` with a
    list of lists); each row is made when it is asked for, so two million one-value rows
    cost two million values, not two million lists.
    """

    __slots__ = ("_count", "_values", "_width")

    def __init__(self, values: list[Any], width: int) -> None:
        """Wrap ``values``, ``width`` to a row (``len(values)`` is a multiple of ``width``)."""
        self._values = values
        self._width = width
        self._count = len(values) // width

    @property
    def width(self) -> int:
        """Values per row."""
        return self._width

    @property
    def flat(self) -> list[Any]:
        """Every value, row after row (shared: do not change it)."""
        return self._values

    def __len__(self) -> int:
        """How many rows."""
        return self._count

    @overload
    def __getitem__(self, index: int) -> list[Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[list[Any]]: ...
    def __getitem__(self, index: int | slice) -> list[Any] | list[list[Any]]:
        """One row (a new list), or a list of rows for a slice."""
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("row index out of range")
        start = index * self._width
        return self._values[start : start + self._width]

    def __iter__(self) -> Iterator[list[Any]]:
        """Each row, as a new list."""
        values, width = self._values, self._width
        if width == 1:
            for value in values:
                yield [value]
        else:
            for start in range(0, len(values), width):
                yield values[start : start + width]

    def __eq__(self, other: object) -> bool:
        """Equal to a sequence of the same rows (a list of lists, another :class:`Rows`)."""
        if isinstance(other, Rows):
            return self._width == other._width and self._values == other._values
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes, bytearray)):
            return len(other) == self._count and all(a == b for a, b in zip(self, other))  # noqa: B905
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        """The first rows, as a list of lists shows them."""
        shown = ", ".join(repr(row) for row in self[:3])
        more = f", … {self._count - 3} more" if self._count > 3 else ""
        return f"Rows([{shown}{more}])"


def _numeric_table(
    text: str, *, max_rows: int | None = None, piece_chars: int | None = None
) -> Sequence[list[Any]] | None:
    """All rows when every field is a JSON number literal (compactly when many); else ``None``.

    A fast path with no rules of its own: when the body holds only number characters,
    commas and LF row ends, wrapping each row in ``[...]`` makes a JSON document whose
    numbers orjson reads exactly as :func:`csv_value` does (its grammar *is* the JSON
    number grammar). Anything else (quotes, spaces, CR, empty fields or rows, ``1e400``,
    text) makes orjson refuse, and the caller takes the general path; so does a run of 19
    digits, which may be an integer beyond 64 bits (orjson makes those floats,
    :func:`csv_value` keeps them exact). A body of up to :data:`_COMPACT_ROWS` rows is one
    JSON document of lists. A longer one becomes :class:`Rows`: one value a row is read as
    one flat JSON array; wider rows a piece of whole rows at a time (about ``piece_chars``,
    by default :data:`_PIECE_CHARS`), which reads exactly as the whole document would, with
    little memory in passing.

    Raises:
        InvalidPayloadError: The body holds only number characters and more than
            ``max_rows`` rows (counted before anything is parsed; the general path would
            find as many).
    """
    end = len(text) - 1 if text.endswith("\n") else len(text)  # one trailing LF is ignored
    if not end or _ONLY_NUMBER_CHARS.fullmatch(text, 0, end) is None:
        return None
    count = text.count("\n", 0, end) + 1  # no quotes, so LF ends every row
    if max_rows is not None and count > max_rows:  # before anything is copied or parsed
        raise too_many_inferences(count, max_rows)
    body = text[:end] if end < len(text) else text
    if body[0] == "\n" or body[-1] == "\n" or "\n\n" in body:
        return None
    if _long_digits(body):  # orjson would make an integer past 64 bits a float
        return None
    if count <= _COMPACT_ROWS:  # a few rows: lists, as any decoder gives them
        try:
            rows: list[list[Any]] = orjson.loads("[[" + body.replace("\n", "],[") + "]]")
        except orjson.JSONDecodeError:
            return None
        width = len(rows[0])
        return None if any(len(row) != width for row in rows) else rows
    if "," not in body:
        try:
            flat: list[Any] = orjson.loads("[" + body.replace("\n", ",") + "]")
        except orjson.JSONDecodeError:
            return None
        return Rows(flat, 1)
    values: list[Any] = []
    width = -1
    start, size = 0, len(body)
    piece_chars = piece_chars or _PIECE_CHARS
    while start < size:
        end = body.find("\n", start + piece_chars)
        if end < 0:
            end = size
        try:
            rows = orjson.loads("[[" + body[start:end].replace("\n", "],[") + "]]")
        except orjson.JSONDecodeError:
            return None
        if width < 0:
            width = len(rows[0])
        if any(len(row) != width for row in rows):
            return None
        values.extend(itertools.chain.from_iterable(rows))
        start = end + 1
    return Rows(values, width)


_NUMBER_CELLS = re.compile(r"[0-9.eE+,-]*")
"""Fields joined by commas, of number characters only: orjson reads them as numbers, or not."""
_TEXT_CELLS = re.compile(r"[^-0-9,][^,]*+(?:,[^-0-9,][^,]*+)*+")
"""Fields joined by commas, none empty, none starting as a number can: each is its own value."""
_DIGITS_AS_NUL = bytes.maketrans(b"0123456789", bytes(10))
_MAX_LEARNED = 64
"""The most row widths a decoder keeps what it learned for (past that, it starts again)."""


def _plain_table(
    text: str,
    *,
    typed: bool,
    learned: dict[int, tuple[int, ...]],
    max_rows: int | None = None,
    piece_chars: int | None = None,
) -> Sequence[list[Any]] | None:
    """All rows of a body without quotes or CR, by splitting; else ``None`` (the general path).

    A fast path with no rules of its own. With no ``"`` and no CR in the body, the ``csv``
    module ends a row at each LF and a field at each comma, so splitting there gives exactly
    its fields (an empty line is one empty field). Typed, the columns that hold text (as
    ``learned`` says for this row width, which it keeps up to date) are read field by field
    by :func:`csv_value`, unless every field of one is plainly text; all the other fields
    are read by one orjson call, exactly as :func:`_numeric_table` reads an all-numeric
    body (a column that turns out not to be numbers is learned as text and the body read
    again). Rows of unequal width, and more than ``max_rows`` rows, are left to the general
    path (which says which row, and counts as it does). A long body is read a piece of
    about ``piece_chars`` (by default :data:`_PIECE_CHARS`) at a time.
    """
    end = len(text) - 1 if text.endswith("\n") else len(text)  # one trailing LF is ignored
    if not end or end >= _FIELD_LIMIT or '"' in text or "\r" in text:
        return None
    if max_rows is not None and text.count("\n", 0, end) >= max_rows:
        return None  # the general path refuses it as it always has
    body = text[:end] if end < len(text) else text
    values: list[Any] = []
    width = -1
    start, size = 0, len(body)
    piece_chars = piece_chars or _PIECE_CHARS
    while True:
        stop = body.find("\n", start + piece_chars) if size - start > piece_chars else -1
        if stop < 0:
            stop = size
        cells = _cells(body[start:stop], width)
        if cells is None:
            return None
        width = cells[1]
        if typed:
            typed_cells = _typed_cells(cells[0], width, learned)
            if typed_cells is None:
                return None
            values.extend(typed_cells)
        else:
            values.extend(cells[0])
        if stop == size:
            return rows_of(values, width)
        start = stop + 1  # a last empty row (the body ended in two LFs) is a piece of its own


def _cells(piece: str, width: int) -> tuple[list[str], int] | None:
    """The fields of whole rows split at LF and comma, and the row width (``None`` if rows differ).

    ``width`` is the width the rows must have (``-1``: any, the same for all).
    """
    if "\n" not in piece:
        commas = piece.count(",")
        cells = piece.split(",")
    else:
        counts = set(map(str.count, piece.split("\n"), itertools.repeat(",")))
        if len(counts) != 1:
            return None
        commas = counts.pop()
        cells = piece.replace("\n", ",").split(",")
    if width >= 0 and commas + 1 != width:
        return None
    return cells, commas + 1


def _typed_cells(
    cells: list[str], width: int, learned: dict[int, tuple[int, ...]]
) -> list[Any] | None:
    """Every field of ``cells`` (rows of ``width``) as :func:`csv_value` types it."""
    text_columns = learned.get(width)
    if text_columns is None:
        text_columns = _text_columns(cells, width, ())
    values = _typed_with(cells, width, text_columns)
    if values is None:  # a column held as numbers is not: learn it, read the body again
        text_columns = _text_columns(cells, width, text_columns)
        values = _typed_with(cells, width, text_columns)
    if learned.get(width) != text_columns:
        if len(learned) >= _MAX_LEARNED:
            learned.clear()
        learned[width] = text_columns
    return values


def _typed_with(cells: list[str], width: int, text_columns: tuple[int, ...]) -> list[Any] | None:
    """The fields typed, the columns not in ``text_columns`` by one orjson call (else ``None``)."""
    if len(text_columns) == width:
        values: list[Any] = cells.copy()
    else:
        numbers = cells
        if text_columns:
            numbers = cells.copy()
            zeros = ["0"] * (len(cells) // width)
            for column in text_columns:
                numbers[column::width] = zeros
        values_read = _numbers(",".join(numbers), len(cells))
        if values_read is None:
            return None
        values = values_read
    for column in text_columns:
        values[column::width] = _column_values(cells[column::width])
    return values


def _numbers(joined: str, count: int) -> list[Any] | None:
    """``count`` number literals joined by commas, each as :func:`csv_value` reads it, or ``None``.

    Only number characters, so what orjson accepts is a list of JSON number literals, read
    as :func:`csv_value` reads them; a run of 19 digits (an integer orjson might make a
    float) and anything else orjson refuses (an empty field, ``1.``, ``01``, ``1e400``)
    gives ``None``.
    """
    if _NUMBER_CELLS.fullmatch(joined) is None or _long_digits(joined):
        return None
    try:
        values: list[Any] = orjson.loads("[" + joined + "]")
    except orjson.JSONDecodeError:
        return None
    return values if len(values) == count else None


def _long_digits(numbers: str) -> bool:
    """Whether ASCII ``numbers`` holds a run of 19 digits (as :data:`_LONG_DIGITS`, but faster)."""
    return bytes(19) in numbers.encode("ascii").translate(_DIGITS_AS_NUL)


def _column_values(column: list[str]) -> list[Any]:
    """A column's fields as :func:`csv_value` types them: all at once if it can, else one by one."""
    joined = ",".join(column)
    if _TEXT_CELLS.fullmatch(joined) is not None:
        return column  # no field empty or starting as a number does: each stays itself
    numbers = _numbers(joined, len(column))
    return numbers if numbers is not None else [csv_value(field) for field in column]


def _text_columns(cells: list[str], width: int, known: tuple[int, ...]) -> tuple[int, ...]:
    """``known`` and the columns of ``cells`` that do not read as numbers in one orjson call."""
    return tuple(
        column
        for column in range(width)
        if column in known or _numbers(",".join(cells[column::width]), len(cells) // width) is None
    )


def _numeric_rows(text: str) -> list[Inference] | None:
    """:func:`_numeric_table` as a list of rows."""
    table = _numeric_table(text)
    return None if table is None else list(table)


def too_many_inferences(count: int, limit: int) -> InvalidPayloadError:
    """The error for a body of ``count`` inferences, over the per-call ``limit``."""
    msg = f"holds {count} inferences, more than the limit of {limit} per call"
    return InvalidPayloadError(msg + " (max_inferences_per_call)", Reason.TOO_MANY_INFERENCES)


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
        self._learned: dict[int, tuple[int, ...]] = {}
        """Per row width, the columns last seen holding text (what the fast path learned)."""

    def decode(self, payload: Payload) -> list[Inference]:
        """Parse every row into column-ordered values."""
        return list(self.decode_rows(payload))

    def decode_rows(self, payload: Payload, *, max_rows: int | None = None) -> Sequence[Inference]:
        """:meth:`decode`, compactly: many rows without a header come as one :class:`Rows`.

        What the reader calls; equal, row for row, to :meth:`decode`.

        Raises:
            InvalidPayloadError: The body is not CSV this decoder reads, or it holds more
                than ``max_rows`` rows (``too_many_inferences``; an all-numeric body is
                counted before it is parsed).
        """
        text = payload.text()
        if not text:
            raise InvalidPayloadError("the CSV body is empty: it holds no inference")
        if "\x00" in text:
            raise InvalidPayloadError("the CSV body holds a NUL character")
        if not self.header:
            if self.infer_types:
                fast = _numeric_table(text, max_rows=max_rows)
                if fast is not None:
                    return fast
            plain = _plain_table(
                text,
                typed=self.infer_types,
                learned=self.__dict__.setdefault("_learned", {}),
                max_rows=max_rows,
            )
            if plain is not None:
                return plain
        if csv.field_size_limit() < _FIELD_LIMIT:
            csv.field_size_limit(_FIELD_LIMIT)
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        flat: list[Any] = []
        maps: list[Inference] = []
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
                if names is not None:
                    maps.append(dict(zip(names, values, strict=True)))
                else:
                    flat.extend(values)
        except csv.Error as exc:
            raise InvalidPayloadError(
                f"CSV syntax error near row {reader.line_num}: {exc}"
            ) from exc
        if names is None and width > 0:
            table = rows_of(flat, width)
            if max_rows is not None and len(table) > max_rows:
                raise too_many_inferences(len(table), max_rows)
            return table
        if not maps:
            raise InvalidPayloadError("the CSV body has a header but no row: it holds no inference")
        if max_rows is not None and len(maps) > max_rows:
            raise too_many_inferences(len(maps), max_rows)
        return maps

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
