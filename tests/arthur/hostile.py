"""A hostile Arthur for the uploader's tests: raw sockets on loopback, one way to misbehave.

``HostileArthur(mode, token)`` listens on ``127.0.0.1`` (an ephemeral port; ``.url``) from a
thread, speaks just enough HTTP/1.1 to take ``POST /api/v3/models/{id}/inferences`` (and
``PATCH .../batches/{id}``), and answers as its mode says (see :data:`MODES`). It keeps its
own record of what it stored: a request whose body it read whole counts as stored (the records
it accepts in it, every tenth-ish one is refused) unless the mode answers with a refusal of
the whole request (401, 400, 429). From that record and the client's account, :meth:`lost`
and :meth:`duplicated` find the records the client claims accepted that the server does not
hold, and the records stored twice that the client did not flag.

Everything is bounded: it stops by itself after ``lifetime`` seconds, accepts at most
``max_connections`` connections and ``max_requests`` requests, reads heads up to 64 KiB and
bodies up to 64 MiB, waits at most ``idle`` seconds for a request, drips for at most
``drip_limit`` seconds, and streams huge bodies chunk by chunk (never held whole) up to their
size. ``stop()`` (or leaving the ``with`` block) ends it at once. ``fault_from=k`` answers the
first ``k`` chunks (distinct bodies) well, and misbehaves from chunk ``k`` on.
"""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Self

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

MODES: Final = {
    "ok": "a well-behaved 207 (the control)",
    "wrong_counts": "207 whose counts disagree with its results",
    "few_results": "207 with one result fewer than the records (it stored them all)",
    "bad_gzip": "207 with Content-Encoding: gzip and a body that is not gzip",
    "gzip_bomb": "207, gzip, decoding to `huge_bytes` zero bytes (chunked)",
    "deep_json_207": "207 whose body is 100,000 '['",
    "deep_json_500": "first attempt of a chunk: stores it, then 500 with 100,000 '['",
    "huge_body": "207 with a body of `huge_bytes` bytes (Content-Length), streamed",
    "drip_headers": "first attempt of a chunk: stores it, then drips the whole answer",
    "drip_body": "first attempt of a chunk: stores it, sends the head, drips the body",
    "reset_after_body": "first attempt of a chunk: stores it, then resets the connection",
    "auth_midway": "after `auth_after` requests, 401 for every request",
    "chunk_400": "400 for every chunk, with a JSON message (nothing stored)",
    "echo_token": "echoes the token in messages (at character 488), headers, reason phrases",
}
"""Each mode and what the server does in it."""

_MAX_HEAD: Final = 64 * 1024
_MAX_BODY: Final = 64 * 1024 * 1024
_SEND_PIECE: Final = 256 * 1024
_MIB: Final = 1024 * 1024
_REASONS: Final = {
    200: "OK",
    207: "Multi-Status",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    411: "Length Required",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


@dataclass(frozen=True, slots=True)
class Received:
    """One request the server read whole."""

    method: str
    path: str
    ids: tuple[str, ...]
    first: bool
    """Whether this body was seen for the first time (not a retry)."""
    answer: str
    """What the server did: the mode's action."""
    stored: tuple[str, ...]
    """The partner IDs it stored from this request."""


@dataclass(slots=True)
class _State:
    stored: Counter[str] = field(default_factory=Counter)
    received: list[Received] = field(default_factory=list)
    seen: dict[bytes, int] = field(default_factory=dict)
    posts: int = 0


def refused(partner_id: str) -> bool:
    """Whether the server refuses this record (about one in ten, by a hash of its ID)."""
    return zlib.crc32(partner_id.encode()) % 10 == 0


class HostileArthur:
    """A misbehaving Arthur on loopback; see the module's docstring and :data:`MODES`."""

    def __init__(
        self,
        mode: str,
        token: str,
        *,
        model_id: str = "m1",
        huge_bytes: int = 256 * _MIB,
        drip_interval: float = 0.05,
        drip_limit: float = 30.0,
        auth_after: int = 2,
        fault_from: int = 0,
        lifetime: float = 120.0,
        idle: float = 30.0,
        max_connections: int = 64,
        max_requests: int = 2000,
    ) -> None:
        """Configure (nothing listens before :meth:`start`)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.mode = mode
        self.token = token
        self.model_id = model_id
        self.huge_bytes = huge_bytes
        self.drip_interval = drip_interval
        self.drip_limit = drip_limit
        self.auth_after = auth_after
        self.fault_from = fault_from
        self.lifetime = lifetime
        self.idle = idle
        self.max_connections = max_connections
        self.max_requests = max_requests
        self._state = _State()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._end = 0.0
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self.port = 0

    # ----------------------------------------------------------------- life

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Listen on an ephemeral loopback port and serve from a thread."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.1)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._end = time.monotonic() + self.lifetime
        thread = threading.Thread(target=self._accept, name="hostile-accept", daemon=True)
        self._threads.append(thread)
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; wait (a bounded time) for the threads."""
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=5.0)
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> Self:
        """Start."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop."""
        self.stop()

    def _alive(self) -> bool:
        return not self._stop.is_set() and time.monotonic() < self._end

    # ----------------------------------------------------------------- its record

    @property
    def stored(self) -> Counter[str]:
        """How many times each partner ID was stored."""
        with self._lock:
            return Counter(self._state.stored)

    @property
    def received(self) -> list[Received]:
        """The requests read whole, in order."""
        with self._lock:
            return list(self._state.received)

    def lost(self, accepted: Iterable[str]) -> set[str]:
        """Of the IDs the client says were accepted, those the server never stored."""
        stored = self.stored
        return {i for i in accepted if stored[i] == 0}

    def duplicated(self, flagged: Iterable[str]) -> set[str]:
        """IDs stored more than once that the client did not list as possible duplicates."""
        marked = set(flagged)
        return {i for i, n in self.stored.items() if n > 1 and i not in marked}

    # ----------------------------------------------------------------- serving

    def _accept(self) -> None:
        assert self._listener is not None
        accepted = 0
        while self._alive() and accepted < self.max_connections:
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            accepted += 1
            thread = threading.Thread(
                target=self._serve, args=(conn,), name="hostile-conn", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        buffer = b""
        try:
            for _ in range(self.max_requests):
                request = self._read_request(conn, buffer)
                if request is None:
                    return
                method, path, headers, body, buffer = request
                if not self._answer(conn, method, path, headers, body):
                    return
        except OSError:
            return
        finally:
            conn.close()

    def _recv(self, conn: socket.socket, deadline: float) -> bytes | None:
        """Some bytes; ``None`` when the peer closed, the server stops or ``idle`` passed."""
        while self._alive() and time.monotonic() < deadline:
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            return data or None
        return None

    def _read_request(
        self, conn: socket.socket, buffer: bytes
    ) -> tuple[str, str, dict[str, str], bytes, bytes] | None:
        deadline = time.monotonic() + self.idle
        while b"\r\n\r\n" not in buffer:
            if len(buffer) > _MAX_HEAD:
                return None
            data = self._recv(conn, deadline)
            if data is None:
                return None
            buffer += data
        head, _, rest = buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return None
        method, path, _ = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._send(conn, 411, {"message": "send a Content-Length"})
            return None
        length = int(headers.get("content-length", "0") or "0")
        if length > _MAX_BODY:
            self._send(conn, 413, {"message": "too big"})
            return None
        while len(rest) < length:
            data = self._recv(conn, deadline)
            if data is None:
                return None  # the body never came whole: nothing stored
            rest += data
        return method, path, headers, rest[:length], rest[length:]

    # ----------------------------------------------------------------- answers

    def _answer(
        self, conn: socket.socket, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> bool:
        """Answer one request; whether the connection may serve another."""
        if headers.get("authorization") != self.token:
            self._note(method, path, (), first=True, answer="401 wrong token", stored=())
            return self._send(conn, 401, {"message": "the token is missing or wrong"})
        base = f"/api/v3/models/{self.model_id}"
        if method == "PATCH" and path.startswith(base + "/batches/"):
            self._note(method, path, (), first=True, answer="200 batch", stored=())
            return self._send(conn, 200, {"status": "uploaded"})
        if method != "POST" or path != base + "/inferences":
            self._note(method, path, (), first=True, answer="404", stored=())
            return self._send(conn, 404, {"message": f"no route {method} {path[:100]}"})
        try:
            records = json.loads(body)
            ids = tuple(str(r["partner_inference_id"]) for r in records)
        except (ValueError, KeyError, TypeError):
            return self._send(conn, 400, {"message": "not a JSON array of inferences"})
        digest = hashlib.sha256(body).digest()
        with self._lock:
            self._state.posts += 1
            posts = self._state.posts
            first = digest not in self._state.seen
            if first:
                self._state.seen[digest] = len(self._state.seen)
            number = self._state.seen[digest]
        mode = self.mode if number >= self.fault_from else "ok"
        keep_alive: bool = getattr(self, f"_mode_{mode}")(conn, path, ids, first, number, posts)
        return keep_alive

    def _note(
        self,
        method: str,
        path: str,
        ids: tuple[str, ...],
        *,
        first: bool,
        answer: str,
        stored: Iterable[str],
    ) -> None:
        kept = tuple(stored)
        with self._lock:
            self._state.stored.update(kept)
            self._state.received.append(Received(method, path, ids, first, answer, kept))

    def _store(self, path: str, ids: tuple[str, ...], first: bool, answer: str) -> None:
        """Store the records it accepts (about nine in ten)."""
        self._note("POST", path, ids, first=first, answer=answer, stored=self._accepted(ids))

    @staticmethod
    def _accepted(ids: Iterable[str]) -> list[str]:
        return [i for i in ids if not refused(i)]

    @staticmethod
    def _multi_status(ids: tuple[str, ...], message: str | None = None) -> dict[str, Any]:
        results = [
            {"status": 400, "message": message or "inference_data: not a valid record"}
            if refused(i)
            else {"status": 200, "message": message or "success"}
            for i in ids
        ]
        failure = sum(1 for r in results if r["status"] != 200)
        counts = {"success": len(ids) - failure, "failure": failure, "total": len(ids)}
        return {"counts": counts, "results": results}

    def _response(
        self,
        status: int,
        body: bytes,
        *,
        headers: dict[str, str] | None = None,
        reason: str | None = None,
        length: int | None = None,
    ) -> bytes:
        lines = [f"HTTP/1.1 {status} {reason or _REASONS.get(status, 'Whatever')}"]
        fields = {"Content-Type": "application/json", **(headers or {})}
        if "Transfer-Encoding" not in fields:
            fields["Content-Length"] = str(len(body) if length is None else length)
        lines += [f"{k}: {v}" for k, v in fields.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    def _send(
        self,
        conn: socket.socket,
        status: int,
        document: Any,
        *,
        headers: dict[str, str] | None = None,
        reason: str | None = None,
    ) -> bool:
        body = json.dumps(document).encode()
        return self._send_all(conn, self._response(status, body, headers=headers, reason=reason))

    def _send_all(self, conn: socket.socket, data: bytes) -> bool:
        try:
            conn.sendall(data)
        except OSError:
            return False
        return True

    def _stream(self, conn: socket.socket, pieces: Iterator[bytes]) -> bool:
        """Send pieces until done, the peer goes away, or the server stops."""
        return all(self._alive() and self._send_all(conn, piece) for piece in pieces)

    def _drip(self, conn: socket.socket, data: bytes) -> bool:
        """Send ``data`` a byte at a time, ``drip_interval`` apart, for ``drip_limit`` at most."""
        until = time.monotonic() + self.drip_limit
        for i in range(len(data)):
            if not self._alive() or time.monotonic() > until:
                return False
            if not self._send_all(conn, data[i : i + 1]):
                return False
            self._stop.wait(self.drip_interval)
        return True

    # ----------------------------------------------------------------- the modes

    def _mode_ok(self, conn: socket.socket, path: str, ids: Any, first: bool, *_: int) -> bool:
        self._store(path, ids, first, "207")
        return self._send(conn, 207, self._multi_status(ids))

    def _mode_wrong_counts(
        self, conn: socket.socket, path: str, ids: Any, first: bool, *_: int
    ) -> bool:
        self._store(path, ids, first, "207 wrong counts")
        document = self._multi_status(ids)
        document["counts"] = {"success": len(ids) + 3, "failure": -1, "total": "all of them"}
        return self._send(conn, 207, document)

    def _mode_few_results(
        self, conn: socket.socket, path: str, ids: Any, first: bool, *_: int
    ) -> bool:
        self._store(path, ids, first, "207 one result short")
        document = self._multi_status(ids)
        document["results"] = document["results"][:-1]
        return self._send(conn, 207, document)

    def _mode_bad_gzip(
        self, conn: socket.socket, path: str, ids: Any, first: bool, *_: int
    ) -> bool:
        self._store(path, ids, first, "207 bad gzip")
        body = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + b"this is not deflate data" * 8
        return self._send_all(conn, self._response(207, body, headers={"Content-Encoding": "gzip"}))

    def _mode_gzip_bomb(
        self, conn: socket.socket, path: str, ids: Any, first: bool, *_: int
    ) -> bool:
        self._store(path, ids, first, "207 gzip bomb")
        head = self._response(
            207, b"", headers={"Content-Encoding": "gzip", "Transfer-Encoding": "chunked"}
        )
        pieces = (b"%x\r\n%s\r\n" % (len(p), p) for p in _gzip_zeros(self.huge_bytes))
        return self._stream(conn, _chain([head], pieces, [b"0\r\n\r\n"]))

    def _mode_deep_json_207(
        self, conn: socket.socket, path: str, ids: Any, first: bool, *_: int
    ) -> bool:
        self._store(path, ids, first, "207 deep JSON")
        return self._send_all(conn, self._response(207, b"[" * 100_000))

    def _mode_deep_json_500(
        self, conn: socket.socket, path: str, ids: Any, first: bool, *_: int
    ) -> bool:
        if not first:
            return self._mode_ok(conn, path, ids, first)
        self._store(path, ids, first, "500 deep JSON (after storing)")
        return self._send_all(conn, self._response(500, b"[" * 100_000))

    def _mode_huge_body(
        self, conn: socket.socket, path: str, ids: Any, first: bool, *_: int
    ) -> bool:
        self._store(path, ids, first, "207 huge body")
        size = self.huge_bytes
        prefix = b'{"results": ['
        entry = b'{"status": 200, "message": "success"}, '

        def pieces() -> Iterator[bytes]:
            yield self._response(207, b"", length=size)
            sent = len(prefix)
            yield prefix
            block = entry * (_SEND_PIECE // len(entry))
            while sent + len(block) <= size:
                yield block
                sent += len(block)
            yield b" " * (size - sent)

        return self._stream(conn, pieces()) and False  # the JSON never closes: hang up

    def _mode_drip_headers(
        self, conn: socket.socket, path: str, ids: Any, first: bool, *_: int
    ) -> bool:
        if not first:
            return self._mode_ok(conn, path, ids, first)
        self._store(path, ids, first, "drip (after storing)")
        body = json.dumps(self._multi_status(ids)).encode()
        return self._drip(conn, self._response(207, body))

    def _mode_drip_body(
        self, conn: socket.socket, path: str, ids: Any, first: bool, *_: int
    ) -> bool:
        if not first:
            return self._mode_ok(conn, path, ids, first)
        self._store(path, ids, first, "207 head, body dripped (after storing)")
        body = json.dumps(self._multi_status(ids)).encode()
        head = self._response(207, b"", length=len(body))
        return self._send_all(conn, head) and self._drip(conn, body)

    def _mode_reset_after_body(
        self, conn: socket.socket, path: str, ids: Any, first: bool, *_: int
    ) -> bool:
        if not first:
            return self._mode_ok(conn, path, ids, first)
        self._store(path, ids, first, "reset (after storing)")
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return False  # closed by _serve: with linger 0, a reset

    def _mode_auth_midway(
        self, conn: socket.socket, path: str, ids: Any, first: bool, number: int, posts: int
    ) -> bool:
        if posts <= self.auth_after:
            return self._mode_ok(conn, path, ids, first)
        self._note("POST", path, ids, first=first, answer="401 mid-way", stored=())
        return self._send(conn, 401, {"message": "the token expired"})

    def _mode_chunk_400(
        self, conn: socket.socket, path: str, ids: Any, first: bool, *_: int
    ) -> bool:
        self._note("POST", path, ids, first=first, answer="400", stored=())
        return self._send(conn, 400, {"detail": [{"loc": ["body", 0], "msg": "no"}]})

    def _mode_echo_token(
        self, conn: socket.socket, path: str, ids: Any, first: bool, number: int, posts: int
    ) -> bool:
        token = self.token
        echo = {"X-Echo": token, "Www-Authenticate": f"Token realm={token}"}
        long_message = "x" * 488 + token + " was the token you sent"
        kind = number % 5
        if kind == 0:  # 207: every message holds the token at character 488
            self._store(path, ids, first, "207 echo in messages")
            return self._send(
                conn,
                207,
                self._multi_status(ids, long_message),
                headers=echo,
                reason=f"Multi {token}",
            )
        if kind == 1 and first:  # 500 after storing: retried
            self._store(path, ids, first, "500 echo (after storing)")
            return self._send(
                conn, 500, {"message": long_message}, headers=echo, reason=f"Oops {token}"
            )
        if kind == 2:  # 400, plain text: the chunk fails
            self._note("POST", path, ids, first=first, answer="400 echo", stored=())
            body = ("z" * 488 + token + " is not allowed here").encode()
            return self._send_all(
                conn, self._response(400, body, headers={"Content-Type": "text/plain", **echo})
            )
        if kind == 3 and first:  # 429: retried, not stored
            self._note("POST", path, ids, first=first, answer="429 echo", stored=())
            return self._send(
                conn, 429, {"detail": [token, {"token": token}]}, headers={"Retry-After": "0"}
            )
        if kind == 4:  # counts that echo the token
            self._store(path, ids, first, "207 echo in counts")
            document = self._multi_status(ids)
            document["counts"]["success"] = token
            return self._send(conn, 207, document, headers=echo)
        return self._mode_ok(conn, path, ids, first)


def _chain(*parts: Iterable[bytes]) -> Iterator[bytes]:
    for part in parts:
        yield from part


_ZERO_BLOCK: dict[int, bytes] = {}


def _gzip_zeros(size: int) -> Iterator[bytes]:
    """A gzip stream of ``size`` zero bytes, produced a mebibyte at a time (never held)."""
    if not _ZERO_BLOCK:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        _ZERO_BLOCK[0] = compressor.compress(bytes(_MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = _ZERO_BLOCK[0]
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip header: deflate, no name
    crc = 0
    zeros = bytes(_MIB)
    whole, rest = divmod(size, _MIB)
    for _ in range(whole):
        crc = zlib.crc32(zeros, crc)
        yield block
    tail = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    yield tail.compress(bytes(rest)) + tail.flush()
    crc = zlib.crc32(bytes(rest), crc)
    yield struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF)
