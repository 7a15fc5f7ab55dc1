"""``application/json``: one JSON document per body (the documented and the wild layouts)."""

from __future__ import annotations

import json
import math
import re
import sys
from typing import TYPE_CHECKING

import orjson

from arthur_capture.decoders._shapes import DEFAULT_MAX_DEPTH, Inferences, document_inferences
from arthur_capture.errors import InvalidPayloadError, Reason

if TYPE_CHECKING:
    from arthur_capture.decoders._registry import Inference, Payload

__all__ = ["JSONDecoder", "loads_counted", "loads_payload"]

_LONG_DIGITS = re.compile(r"[0-9]{19}")
_LONG_DIGITS_BYTES = re.compile(rb"[0-9]{19}")
"""A run of 19 digits: where an integer beyond 64 bits may be (orjson reads those as floats)."""

_TOKEN = re.compile(
    r'"[^"\\]*(?:\\.[^"\\]*)*"'  # a string: skipped as it is
    r"|(-?Infinity|NaN)"  # 1: what Python's json.dumps writes for non-finite floats
    r"|(-?(?:0|[1-9][0-9]*)((?:\.[0-9]+)?[eE][+-]?[0-9]+|\.[0-9]+)?)"  # 2: a number, 3: not an int
)


def _syntax_error(exc: orjson.JSONDecodeError | ValueError) -> InvalidPayloadError:
    deep = "depth limit" in str(exc)
    reason = Reason.NESTING_TOO_DEEP if deep else Reason.INVALID_PAYLOAD
    return InvalidPayloadError(f"body is not valid JSON: {exc}", reason)


def loads_counted(payload: Payload, text: str | None = None) -> tuple[object, int]:
    """Parse JSON from a payload (or from ``text``): the value, and its non-finite numbers.

    orjson reads the body (the fast path). It is strict: it refuses NaN/Infinity, numbers that
    overflow, lone surrogates, a BOM and invalid UTF-8. Only when it refuses a body is the
    body looked at again: ``NaN``, ``Infinity``, ``-Infinity`` (which Python's ``json.dumps``
    writes) and numbers that overflow to infinity (``1e400``) are read as ``null`` and
    counted; anything else orjson refuses stays refused.

    Integers beyond 64 bits are read exactly (a Python ``int``; orjson would make them
    floats): a body with a run of 19 digits is parsed again, exactly, by the standard
    library, after orjson has checked it. An integer of more digits than Python converts
    (``sys.get_int_max_str_digits()``, 4300) is refused.

    Raises:
        InvalidPayloadError: The body is not JSON this reads (``invalid_payload``), or it
            nests past orjson's limit (``nesting_too_deep``).
    """
    data: str | bytes
    if text is not None:
        data = text
    elif payload.charset.lower().replace("_", "-") in ("utf-8", "utf8"):
        data = payload.bytes()
    else:
        data = payload.text()
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return _tolerant(data, exc)
    long_digits = _LONG_DIGITS_BYTES if isinstance(data, bytes) else _LONG_DIGITS
    if long_digits.search(data) is None:  # type: ignore[arg-type]
        return value, 0
    return _exact(data.decode("utf-8") if isinstance(data, bytes) else data), 0


def loads_payload(payload: Payload, text: str | None = None) -> object:
    """:func:`loads_counted`'s value alone (non-finite numbers read as ``null``)."""
    return loads_counted(payload, text)[0]


def _tolerant(data: str | bytes, error: orjson.JSONDecodeError) -> tuple[object, int]:
    """A body orjson refused: non-finite numbers as ``null``, then orjson again (the rare path)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise _syntax_error(error) from error
    non_finite = 0
    long_ints = False

    def fixed(match: re.Match[str]) -> str:
        nonlocal non_finite, long_ints
        if match.group(1) is not None:
            non_finite += 1
            return "null"
        number = match.group(2)
        if number is not None:
            if match.group(3) is not None:
                if math.isinf(float(number)):
                    non_finite += 1
                    return "null"
            elif len(number) >= 19:
                long_ints = True
        return match.group(0)

    text = _TOKEN.sub(fixed, text)
    if not non_finite and not long_ints:
        raise _syntax_error(error) from error
    checked = _TOKEN.sub(_zero_long_int, text) if long_ints else text
    try:
        value = orjson.loads(checked)  # every rule of orjson's but the ones relaxed here
    except orjson.JSONDecodeError as exc:
        raise _syntax_error(exc) from exc
    if long_ints:
        value = _exact(text)
    return value, non_finite


def _zero_long_int(match: re.Match[str]) -> str:
    """An integer orjson cannot read exactly (or at all) as ``0``, to let it check the rest."""
    number = match.group(2)
    if number is not None and match.group(3) is None and len(number) >= 19:
        return "0"
    return match.group(0)


def _exact(text: str) -> object:
    """A body orjson has accepted, parsed again with its integers exact."""
    try:
        return json.loads(text)
    except RecursionError:
        msg = "body nests too deeply to read its long integers exactly"
        raise InvalidPayloadError(msg, Reason.NESTING_TOO_DEEP) from None
    except ValueError as exc:  # past sys.get_int_max_str_digits()
        limit = sys.get_int_max_str_digits()
        msg = f"body holds an integer of more than {limit} digits, which is not read: {exc}"
        raise InvalidPayloadError(msg) from None


class JSONDecoder:
    """Decode ``application/json`` bodies by the rules in :func:`document_inferences`.

    Non-finite numbers are read as ``null``; the list returned then is an
    :class:`~arthur_capture.decoders._shapes.Inferences` whose ``non_finite`` counts them.

    Args:
        max_depth: How deep one value may nest before the payload is refused.
    """

    media_types: tuple[str, ...] = ("application/json", "text/json")

    def __init__(self, *, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        """Create the decoder."""
        self.max_depth = max_depth

    def decode(self, payload: Payload) -> list[Inference]:
        """Parse the body and read it as a list of inferences."""
        value, non_finite = loads_counted(payload)
        inferences = document_inferences(value, self.max_depth)
        return Inferences.counted(inferences, non_finite)

    def __repr__(self) -> str:
        """Name the decoder and its limit."""
        return f"JSONDecoder(max_depth={self.max_depth})"
