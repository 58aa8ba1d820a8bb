"""Getting a batch out at the providers' pace: rate limiting, bounded concurrency,
retries that honour Retry-After, and the lines between transient errors (the provider
did not take the request: try again), permanent ones (it never will) and unknown
outcomes (it may have: never repeat)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from outreach.channels.base import OutboundMessage, SendResult

T = TypeVar("T")


class TransientError(Exception):
    """Worth another try: 429, 5xx, timeouts, connection resets."""

    def __init__(self, message: str, code: str | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


class OutcomeUnknown(Exception):
    """The request may have reached the provider (a timeout or a dropped connection after it went).

    Never retried: repeating it could contact the person twice. The send is resolved later, from
    the provider's callbacks or a lookup, or by a person.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.code = "outcome_unknown"


class PermanentError(Exception):
    """Never retried: the same request would fail the same way (invalid number, unsubscribed, ...)."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


class RateLimiter:
    """At most ``rate`` acquisitions per second, evenly spaced, across threads."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(self._next, now)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Full-jitter exponential backoff, never shorter than the provider's Retry-After."""
        backoff = random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))
        return min(self.max_delay, max(backoff, retry_after or 0.0))


def with_retries(
    call: Callable[[], T], policy: RetryPolicy, limiter: RateLimiter, sleep: Callable[[float], None] = time.sleep
) -> T:
    """Run ``call`` under the rate limit, retrying transient errors per ``policy``."""
    attempt = 1
    while True:
        limiter.acquire()
        try:
            return call()
        except TransientError as exc:
            if attempt >= policy.max_attempts:
                raise
            sleep(policy.delay(attempt, exc.retry_after))
            attempt += 1


def send_all(
    batch: Sequence[OutboundMessage],
    send_one: Callable[[OutboundMessage], str],
    policy: RetryPolicy,
    limiter: RateLimiter,
    concurrency: int,
) -> list[SendResult]:
    """Send each message (``send_one`` returns the provider id), classifying every failure."""

    def attempt(message: OutboundMessage) -> SendResult:
        try:
            provider_id = with_retries(lambda: send_one(message), policy, limiter)
        except PermanentError as exc:
            return SendResult(message.step_key, "failed", error_code=exc.code, error=str(exc), permanent=True)
        except OutcomeUnknown as exc:
            return SendResult(message.step_key, "unknown", error_code=exc.code, error=str(exc))
        except TransientError as exc:
            return SendResult(
                message.step_key,
                "failed",
                error_code=exc.code,
                error=f"gave up after {policy.max_attempts} attempts: {exc}",
                permanent=False,
            )
        return SendResult(message.step_key, "sent", provider_message_id=provider_id)

    if concurrency <= 1 or len(batch) <= 1:
        return [attempt(message) for message in batch]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(attempt, batch))
