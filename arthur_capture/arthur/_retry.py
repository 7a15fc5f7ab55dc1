"""When and how long to retry one request: the policy, ``Retry-After``, the tenacity wiring.

Nothing here speaks HTTP. The client classifies each attempt (raising :class:`Retryable`
for the failures worth another try) and :func:`retry` runs the attempts under a
:class:`RetryPolicy`, sleeping with the function it is given (tests pass a recorder, so
nothing really sleeps).
"""

from __future__ import annotations

import email.utils
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    stop_any,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from tenacity.stop import stop_base

__all__ = ["Attempts", "RetryPolicy", "Retryable", "backoff", "parse_retry_after", "retry"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how long to retry one request.

    Retried: 5xx, 429, timeouts, connection errors. Never: other 4xx, 3xx. The wait before
    retry *n* is ``min(initial * 2**(n-1) + uniform(0, jitter), maximum)``; a 429 or 503 with
    ``Retry-After`` waits what it asks, up to ``max_retry_after``.
    """

    attempts: int = 5
    """Times a request is sent at most (1 = no retry)."""
    initial: float = 0.5
    """First wait, in seconds."""
    maximum: float = 30.0
    """Longest single wait, in seconds."""
    jitter: float = 0.5
    """Random extra wait, up to this many seconds."""
    max_retry_after: float = 120.0
    """Longest ``Retry-After`` honoured, in seconds."""
    max_elapsed: float | None = 600.0
    """Stop retrying one request after this many seconds in all (``None``: no limit)."""

    def __post_init__(self) -> None:
        """Check the numbers."""
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise ValueError("RetryPolicy.attempts must be an integer")  # noqa: TRY004
        if not 1 <= self.attempts <= 100:
            raise ValueError("RetryPolicy.attempts must be between 1 and 100")
        waits = (self.initial, self.maximum, self.jitter, self.max_retry_after)
        if not all(math.isfinite(w) for w in waits):
            raise ValueError("RetryPolicy waits must be finite numbers")
        if min(waits) < 0:
            raise ValueError("RetryPolicy waits must not be negative")
        if self.max_elapsed is not None and not (
            math.isfinite(self.max_elapsed) and self.max_elapsed > 0
        ):
            raise ValueError("RetryPolicy.max_elapsed must be a positive number of seconds or None")


class Retryable(Exception):  # noqa: N818 - internal control flow, never escapes the client
    """One attempt failed in a way worth retrying."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        ambiguous: bool = False,
    ) -> None:
        """An attempt's failure: its last status, the wait asked for, whether it may have landed."""
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.ambiguous = ambiguous
        """Whether Arthur may have stored the request anyway (a re-send may duplicate it)."""


@dataclass(slots=True)
class Attempts:
    """How one logical request went: times sent, and whether an answer may have been lost."""

    count: int = 0
    ambiguous: bool = False

    @property
    def duplicate_risk(self) -> bool:
        """Re-sent after an answer that may have been lost: Arthur may hold it twice."""
        return self.ambiguous and self.count > 1


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); never negative."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def backoff(policy: RetryPolicy, attempt_number: int, retry_after: float | None = None) -> float:
    """Seconds to wait after failed attempt ``attempt_number`` (1-based).

    ``retry_after`` (from the answer) wins, capped at :attr:`RetryPolicy.max_retry_after`;
    otherwise the exponential backoff with jitter, capped at :attr:`RetryPolicy.maximum`.
    """
    if retry_after is not None:
        return min(retry_after, policy.max_retry_after)
    exponent = min(attempt_number - 1, 62)
    wait = policy.initial * 2.0**exponent + random.uniform(0, policy.jitter)  # noqa: S311
    return min(wait, policy.maximum)


def retry(
    policy: RetryPolicy,
    send: Callable[[], _T],
    attempts: Attempts,
    *,
    sleep: Callable[[float], None],
    on_attempt: Callable[[], object] | None = None,
    on_retry: Callable[[Retryable, int, float], object] | None = None,
) -> _T:
    """Call ``send`` until it returns, raises something else than :class:`Retryable`, or the
    policy gives up.

    ``attempts`` is updated as it goes (also when an error escapes). ``on_attempt`` is called
    before each attempt; ``on_retry(error, attempt_number, wait)`` before each sleep.

    Raises:
        Retryable: The last attempt's failure, once the policy gives up.
    """  # noqa: D205 - the summary reads as one sentence
    stops: list[stop_base] = [stop_after_attempt(policy.attempts)]
    if policy.max_elapsed is not None:
        stops.append(stop_after_delay(policy.max_elapsed))

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        retry_after = exc.retry_after if isinstance(exc, Retryable) else None
        return backoff(policy, state.attempt_number, retry_after)

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        seconds = state.next_action.sleep if state.next_action is not None else 0.0
        if on_retry is not None and isinstance(exc, Retryable):
            on_retry(exc, state.attempt_number, seconds)

    retrying = Retrying(
        stop=stop_any(*stops),
        wait=wait,
        retry=retry_if_exception_type(Retryable),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            attempts.count += 1
            if on_attempt is not None:
                on_attempt()
            try:
                outcome = send()
            except Retryable as exc:
                attempts.ambiguous = attempts.ambiguous or exc.ambiguous
                raise
    return outcome
