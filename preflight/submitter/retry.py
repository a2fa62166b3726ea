"""When to retry a call and how long to wait: bounded exponential backoff with jitter."""

from __future__ import annotations

import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

THROTTLE_CODES = frozenset({"APIGW.0308"})


def is_retryable_status(status: int, error_code: str | None = None) -> bool:
    """5xx, 429 and API-gateway throttling are transient; other 4xx (validation, auth) are not."""
    if error_code in THROTTLE_CODES:
        return True
    return status == 429 or status >= 500


def certificate_problem(exc: BaseException) -> str | None:
    """The reason when `exc` is (or was caused by) a TLS certificate or handshake failure,
    which no retry can fix; else None."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ssl.SSLCertVerificationError):
            return f"certificate verification failed: {cur.verify_message or cur.reason or cur}"
        if isinstance(cur, ssl.SSLError):
            return f"TLS failed: {cur.reason or cur}"
        cur = cur.__cause__ or cur.__context__
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return f"certificate verification failed: {text}"
    return None


def is_retryable_error(exc: BaseException) -> bool:
    """Connection errors, timeouts and broken connections are transient; a certificate or
    TLS handshake failure is not."""
    return isinstance(exc, httpx.TransportError) and certificate_problem(exc) is None


@dataclass
class RetryPolicy:
    """``attempts`` tries in total; the n-th wait is ``min(cap, base * 2**(n-1))`` scaled by a
    random factor in ``[1 - jitter, 1]``. ``Retry-After`` (seconds) is honoured up to ``cap``."""

    attempts: int = 6
    base: float = 0.5
    cap: float = 20.0
    jitter: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        if retry_after:
            try:
                return float(max(0.0, min(self.cap, float(retry_after))))
            except ValueError:
                pass
        ceiling = min(self.cap, self.base * 2.0 ** (attempt - 1))
        return ceiling * (1.0 - self.jitter * self.rng.random())

    def wait(self, attempt: int, retry_after: str | None = None) -> None:
        """Sleep before the next try."""
        self.sleep(self.delay(attempt, retry_after))


NO_RETRY = RetryPolicy(attempts=1)
