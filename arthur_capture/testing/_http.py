"""The local Arthur server's HTTP side: a threading server on loopback and its request handler.

The handler knows HTTP only: it reads the body (refusing chunked, unsized or too large ones),
gives the request to an :class:`App` and writes back the :class:`Response` the app returns
(or drops the connection). What the API does is the app's.
"""

from __future__ import annotations

import contextlib
import logging
import socketserver
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Final, Protocol

from arthur_capture._json import dumps_json

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["HOST", "App", "Headers", "Response", "Unreadable", "make_server"]

logger = logging.getLogger("arthur_capture.testing.local_arthur")  # the public module's name

HOST: Final = "127.0.0.1"
"""The only address the server binds."""


class Headers(Protocol):
    """A request's headers, looked up by name (case-insensitive)."""

    def get(self, name: str, /) -> str | None:
        """The value of header ``name``, or ``None``."""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A body that was not read: the status and message to answer (the connection is closed)."""

    status: int
    message: str


@dataclass(frozen=True, slots=True)
class Response:
    """What to answer: a status with a JSON body, or nothing at all (``drop``)."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    close: bool = False
    """Close the connection after answering."""
    drop: bool = False
    """Close the connection without answering."""


class App(Protocol):
    """What the handler serves."""

    @property
    def max_body_bytes(self) -> int:
        """Larger bodies are not read."""

    def handle(
        self,
        method: str,
        path: str,
        headers: Headers,
        body: bytes | Unreadable,
        query: str = "",
    ) -> Response | None:
        """The response to one request, or ``None`` to say nothing (the server is stopping)."""


def make_server(app: App, port: int) -> ThreadingHTTPServer:
    """A server bound to ``127.0.0.1:port`` (0: a free port) that serves ``app``."""

    class Handler(_Handler):
        pass

    Handler.app = app
    return _Server((HOST, port), Handler)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look the host name up (getfqdn), which can be slow.
        socketserver.TCPServer.server_bind(self)
        self.server_name = HOST
        self.server_port = int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:  # noqa: ARG002
        # Called from socketserver's except block: the traceback goes to the log, not stderr.
        logger.error("local Arthur: error while serving %s", client_address, exc_info=True)  # noqa: LOG014


class _Handler(BaseHTTPRequestHandler):
    app: App
    protocol_version = "HTTP/1.1"
    server_version = "LocalArthur/1"
    sys_version = ""
    timeout = 30  # idle keep-alive connections are closed after this many seconds
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        logger.debug("%s %s", self.client_address[0], format % args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        response = self.app.handle(method, url.path, self.headers, self._read_body(), url.query)
        if response is None:
            return
        if response.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(2)
            return
        self._answer(response)

    def _read_body(self) -> bytes | Unreadable:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return Unreadable(411, "chunked bodies are not supported")
        length_text = self.headers.get("Content-Length") or "0"
        try:
            length = int(length_text)
        except ValueError:
            return Unreadable(400, "Content-Length is not a number")
        limit = self.app.max_body_bytes
        if length < 0 or length > limit:
            return Unreadable(413, f"the body is larger than {limit} bytes")
        return self.rfile.read(length) if length else b""

    def _answer(self, response: Response) -> None:
        data = dumps_json(response.body)
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in response.headers.items():
                self.send_header(key, value)
            if response.close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client went away (e.g. it timed out during a delay)
            self.close_connection = True
