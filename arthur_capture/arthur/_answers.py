"""Arthur's answers, read defensively: a byte cap, a deadline, one decoder, bounded JSON.

A server may answer anything: a gigabyte, a gzip bomb, a body dripped a byte a second, JSON
nested a hundred thousand levels, bytes that are not what ``Content-Encoding`` says. Here an
answer is streamed and its *decoded* bytes are counted (the decoder never inflates more than
a small piece at a time, so a bomb stops at the cap too); the attempt's deadline is checked
between pieces; and whatever goes wrong becomes :attr:`Answer.problem`, a sentence, never an
exception. JSON is parsed with orjson (which refuses nesting past 1,024 levels) and then
refused past :data:`MAX_ANSWER_DEPTH` levels, so that no later ``repr`` or serialisation of
a value from Arthur can recurse deeply. Every text shown from an answer is redacted, then cut.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import httpx
import orjson

from arthur_capture._json import dumps_json
from arthur_capture.decoders import nests_deeper

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from arthur_capture.arthur._secret import Secret

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MAX_ANSWER_DEPTH",
    "MAX_ERROR_BYTES",
    "MAX_MESSAGE",
    "TOO_DEEP",
    "Answer",
    "message_of",
    "parse_json",
    "read_answer",
    "rendered",
]

DEFAULT_MAX_RESPONSE_BYTES: Final = 8 * 1024 * 1024
"""Longest answer read, in decoded bytes (a 207 for 1,000 records is about 40 KB)."""
MAX_ERROR_BYTES: Final = 1024 * 1024
"""Longest error answer (not 2xx) read: only its message is used."""
MAX_ANSWER_DEPTH: Final = 32
"""Deepest nesting accepted in an answer's JSON (Arthur's answers nest 3 levels)."""
MAX_MESSAGE: Final = 500
"""Longest message kept from one of Arthur's answers, in characters."""

TOO_DEEP: Final = f"its JSON nests deeper than {MAX_ANSWER_DEPTH} levels"
"""The problem of an answer whose JSON is too deep to be taken."""

_PIECE: Final = 64 * 1024
"""Most bytes the decoder inflates at a time."""
_TEXT_WINDOW: Final = 256 * 1024
"""Bytes of a body decoded to find its message (the message and any token overlapping it)."""


class _Unreadable(Exception):  # noqa: N818 - internal control flow
    """The answer's bytes cannot be decoded."""


class _Decoder:
    """Undoes one ``Content-Encoding`` (identity, gzip, deflate) in bounded pieces."""

    __slots__ = ("_encoding", "_first", "_zlib")

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        self._first = True
        self._zlib: Any = None
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of ``data`` (each at most 64 KiB)."""
        if self._zlib is None:
            if data:
                yield data
            return
        if self._first and data and self._encoding == "deflate":
            # "deflate" is zlib-wrapped by the standard, raw by some servers
            wrapped = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            if not wrapped:
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        if data:
            self._first = False
        try:
            while data and not self._zlib.eof:
                piece = self._zlib.decompress(data, _PIECE)
                data = self._zlib.unconsumed_tail
                if piece:
                    yield piece
                elif not data:
                    break
            while not self._zlib.eof:  # output still pending with no input left
                piece = self._zlib.decompress(b"", _PIECE)
                if not piece:
                    break
                yield piece
        except zlib.error as exc:
            raise _Unreadable(f"its {self._encoding} data is corrupt ({exc})") from None

    def finish(self) -> None:
        """Check that a compressed answer was complete."""
        if self._zlib is not None and not self._zlib.eof:
            raise _Unreadable(f"its {self._encoding} data is cut short")


def _decoder(header: str | None) -> _Decoder:
    if header is None:
        return _Decoder("identity")
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return _Decoder("identity")
    if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        shown = ", ".join(c[:20] for c in codings[:3])
        raise _Unreadable(f"its Content-Encoding ({shown}) is not gzip or deflate")
    return _Decoder(codings[0])


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer as read: status, reason phrase, the body bytes read, and any problem."""

    status: int
    """The HTTP status."""
    reason: str
    """The reason phrase (as sent: show it only through ``Secret.shown``)."""
    body: bytes
    """The decoded body, or as much of it as was read before :attr:`problem`."""
    problem: str | None = None
    """Why the body is incomplete or unreadable (too long, too slow, cut, bad encoding)."""
    retry_after: str | None = None
    """The ``Retry-After`` header, when there was one."""

    @property
    def ok(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status < 300


def read_answer(
    response: httpx.Response,
    *,
    max_bytes: int,
    deadline: float | None,
    clock: Callable[[], float],
) -> Answer:
    """Stream ``response``'s body into an :class:`Answer`, within ``max_bytes`` and ``deadline``.

    ``max_bytes`` counts decoded bytes; ``deadline`` is a ``clock()`` value. Never raises for
    what the server sent: a failure while reading is the answer's ``problem``.
    """
    status = response.status_code
    reason = _reason(response)
    retry_after = response.headers.get("Retry-After")
    pieces: list[bytes] = []
    size = 0
    problem: str | None = None
    try:
        if response.is_stream_consumed:  # read whole before it came here (a test transport)
            decoder, raws = _Decoder("identity"), iter((response.content,))
        else:
            decoder, raws = _decoder(response.headers.get("Content-Encoding")), response.iter_raw()
        for raw in raws:
            for piece in decoder.feed(raw):
                size += len(piece)
                _check(size <= max_bytes, f"it is longer than {max_bytes} bytes")
                pieces.append(piece)
            _check(
                deadline is None or clock() <= deadline,
                "it did not arrive within the request deadline",
            )
        decoder.finish()
    except _Unreadable as exc:
        problem = str(exc)
    except httpx.TimeoutException:
        problem = (
            "it did not arrive within the request deadline"
            if deadline is not None and clock() > deadline
            else "the connection timed out while it was read"
        )
    except httpx.HTTPError as exc:
        problem = f"the connection failed while it was read ({type(exc).__name__})"
    except httpx.StreamError as exc:  # a consumed or closed stream: a bug, but not a crash
        problem = f"it could not be read ({type(exc).__name__})"
    return Answer(status, reason, b"".join(pieces), problem, retry_after)


def _check(condition: bool, problem: str) -> None:
    if not condition:
        raise _Unreadable(problem)


def _reason(response: httpx.Response) -> str:
    try:
        return response.reason_phrase
    except (UnicodeDecodeError, ValueError):
        return ""


def parse_json(body: bytes) -> tuple[Any, str | None]:
    """``(value, None)``, or ``(None, why)`` when ``body`` is empty, not JSON, or too deep."""
    if not body.strip():
        return None, "it is empty"
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        deep = any(word in str(exc).lower() for word in ("depth", "recursion"))
        return None, TOO_DEEP if deep else "it is not JSON"
    if nests_deeper(value, MAX_ANSWER_DEPTH):
        return None, TOO_DEEP
    return value, None


def rendered(value: Any) -> str:
    """A value from an answer as text: itself if a string, else its JSON (never raises)."""
    if isinstance(value, str):
        return value
    try:
        return dumps_json(value).decode("utf-8", "replace")
    except (TypeError, ValueError, RecursionError):
        return f"<{type(value).__name__} that cannot be shown>"


def message_of(answer: Answer, secret: Secret) -> str:
    """The message of an error answer, redacted, then cut to :data:`MAX_MESSAGE` characters.

    Its JSON ``message``, ``detail``, ``error`` or ``errors``; else its text; else its
    reason phrase.
    """
    text: str | None = None
    if answer.problem is None:
        body, _ = parse_json(answer.body)
        if isinstance(body, dict):
            for key in ("message", "detail", "error", "errors"):
                if key in body:
                    text = rendered(body[key])
                    break
    if text is None:
        # a window wide enough for any token overlapping the shown part
        head = answer.body[:_TEXT_WINDOW]
        text = head.decode("utf-8", "replace").strip()
    if not text:
        text = answer.reason
    shown = secret.shown(text, MAX_MESSAGE)
    if answer.problem is not None:
        shown += f" (the answer was not read whole: {answer.problem})"
    return shown
