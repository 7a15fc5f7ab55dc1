"""The uploader's HTTP plumbing: a deadline on every socket wait, and redacted HTTP logs.

httpx's timeouts bound each socket operation, not a request: a server that sends one byte
every few seconds never trips a read timeout. :func:`within` sets a deadline for one attempt
(a monotonic time, in a context variable) and the network backend installed by
:func:`deadline_transport` shortens every connect, TLS handshake, read and write to the time
left, so an attempt ends at its deadline wherever it is waiting (status line, headers or
body). The body loop checks the deadline too (:func:`~._answers.read_answer`), which also
covers transports without this backend (a proxy from the environment, a test transport).

httpx logs each answer's status line (reason phrase included) at INFO, and httpcore logs the
answer's headers at DEBUG: a server that echoes the token would have it logged.
:class:`RedactingFilter` rewrites those records through ``Secret.redact``.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from typing import TYPE_CHECKING, Any, Final

import httpcore
import httpx

if TYPE_CHECKING:
    import ssl
    from collections.abc import Iterable, Iterator

    from arthur_capture.arthur._secret import Secret

__all__ = ["HTTP_LOGGERS", "RedactingFilter", "deadline_transport", "install_deadline", "within"]

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "arthur_capture_request_deadline", default=None
)

HTTP_LOGGERS: Final = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "arthur_capture.arthur.client",
)
"""The loggers whose records may hold a server's words (a logger's filter applies only to
records logged on it, so each is named)."""


@contextlib.contextmanager
def within(seconds: float | None) -> Iterator[None]:
    """Run the block with every socket wait ending ``seconds`` from now at the latest."""
    if seconds is None:
        yield
        return
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` shortened to the time left before the deadline; ``error`` if none is left."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the request deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    """A network stream whose every wait ends at the current deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _Stream(
            self._inner.start_tls(
                ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)
            )
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    """Opens connections whose every wait ends at the current deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _left(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _Stream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, _left(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _Stream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def install_deadline(transport: Any) -> bool:
    """Put the deadline backend under an httpx transport built on httpcore; whether it could.

    httpx does not take a network backend, so it goes in place of the pool's own (the
    attributes are checked, and a transport of another shape is left as it is).
    """
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, _Backend):
        return True
    if not isinstance(backend, httpcore.NetworkBackend):
        return False
    pool._network_backend = _Backend(backend)  # type: ignore[union-attr]  # noqa: SLF001
    return True


def deadline_transport(*, verify: bool | ssl.SSLContext) -> httpx.HTTPTransport:
    """The httpx transport, with every socket wait bounded by the attempt's deadline."""
    transport = httpx.HTTPTransport(verify=verify)
    install_deadline(transport)
    return transport


class RedactingFilter(logging.Filter):
    """Rewrites each log record through ``secret.redact`` (message and arguments merged)."""

    def __init__(self, secret: Secret) -> None:
        """Redact ``secret`` from every record that passes."""
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record, with the token and its pieces replaced by ``***``."""
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot be formatted: drop its args
            text = str(record.msg)
        clean = self._secret.redact(text)
        if clean != text or record.args:
            record.msg = clean
            record.args = None
        return True

    def attach(self) -> None:
        """Filter the records of every logger in :data:`HTTP_LOGGERS`."""
        for name in HTTP_LOGGERS:
            logging.getLogger(name).addFilter(self)

    def detach(self) -> None:
        """Stop filtering."""
        for name in HTTP_LOGGERS:
            logging.getLogger(name).removeFilter(self)
