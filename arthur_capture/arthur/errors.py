"""The uploader's errors: the ``ArthurError`` branch of :mod:`arthur_capture.errors`' tree.

They live with the uploader because they carry its partial result (:class:`UploadResult`)::

    CaptureError
    └── ArthurError                               talking to Arthur's API failed
        ├── ArthurAPIError                        a status that is not retried
        │   └── ArthurAuthError                   401 or 403
        └── ArthurUnavailableError(…, ConnectionError)  retries ran out

And one that is not an error but the user's wish, so it stays a ``KeyboardInterrupt``::

    KeyboardInterrupt
    └── UploadInterrupted                         Ctrl-C (or SIGTERM, from the CLI) mid-upload
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from arthur_capture.errors import CaptureError

if TYPE_CHECKING:
    from arthur_capture.arthur.results import UploadResult

__all__ = [
    "ArthurAPIError",
    "ArthurAuthError",
    "ArthurError",
    "ArthurUnavailableError",
    "UploadInterrupted",
]


class ArthurError(CaptureError):
    """Base of the uploader's errors.

    Attributes:
        result: What had been done before the error (records accepted, refused, failed),
            when the error stopped an upload; ``None`` otherwise.
    """

    def __init__(self, message: str, *, result: UploadResult | None = None) -> None:
        """Create the error with a message and, for an upload, its partial result."""
        super().__init__(message)
        self.result = result


class ArthurAPIError(ArthurError):
    """Arthur answered with a status that is not retried (a 4xx other than 429, or a 3xx).

    Attributes:
        status: The HTTP status code.
    """

    def __init__(self, message: str, status: int, *, result: UploadResult | None = None) -> None:
        """Create the error with Arthur's status."""
        super().__init__(message, result=result)
        self.status = status


class ArthurAuthError(ArthurAPIError):
    """401 or 403: the token is missing, wrong, expired, or lacks ``raw_data write``."""


class ArthurUnavailableError(ArthurError, ConnectionError):
    """A request still failed (5xx, 429, timeout, connection error) after every retry.

    Attributes:
        status: The last HTTP status, or ``None`` when no answer came.
        attempts: How many times the request was sent.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        attempts: int,
        result: UploadResult | None = None,
    ) -> None:
        """Create the error with the last status and the number of attempts."""
        super().__init__(message, result=result)
        self.status = status
        self.attempts = attempts


class UploadInterrupted(KeyboardInterrupt):
    """An upload stopped by a ``KeyboardInterrupt``, with the account of what was done.

    Raised from the ``KeyboardInterrupt`` that stopped :meth:`ArthurClient.upload
    <arthur_capture.arthur.client.ArthurClient.upload>` (or ``send_ground_truth``); being a
    ``KeyboardInterrupt`` itself, Ctrl-C still stops a program that does not look at it.

    Attributes:
        result: The account: the records settled so far, the chunk in flight as possibly
            stored, the records read but not sent as not sent (``result.balanced`` holds).
    """

    def __init__(self, result: UploadResult) -> None:
        """Create the interruption with the upload's account."""
        super().__init__("the upload was interrupted")
        self.result = result
