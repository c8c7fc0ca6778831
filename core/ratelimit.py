"""Rate limits: one sliding-window counter for the API throttles and the login page.

`hit(bucket, rate)` counts one request against `bucket` and says whether it may pass and, when
not, how many seconds until it may (the `Retry-After`). The window is a log of the allowed
requests' times, so a burst can never get more than `rate.limit` through in any `rate.period`
(a fixed window lets twice the limit through across its boundary). With Redis (production,
CI) the log is a sorted set updated by one Lua script, atomic across every web process and
thread and timed by Redis's own clock; without Redis (the demo on embedded defaults) it lives
in the process, which is then the only web process.

When Redis cannot be reached (down, hung, or the circuit of core.circuit open) `hit` raises
`RateLimitUnavailable`; the caller decides whether to let the request through or refuse it
(core.throttles: logins are refused, everything else passes).
"""

from __future__ import annotations

import math
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass

import redis
from django.conf import settings
from redis.commands.core import Script

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
KEY_PREFIX = "crmi:rl:"
MAX_LOCAL_BUCKETS = 100_000

# KEYS[1] the bucket's log; ARGV: window (ms), limit, a unique member for this request.
# Returns {allowed, remaining, retry_after_ms}.
SLIDING_WINDOW = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, limit - count - 1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, 0, tonumber(oldest[2]) + window - now}
"""


class RateLimitUnavailable(Exception):
    """The rate limiter's store cannot be reached."""


@dataclass(frozen=True)
class Rate:
    limit: int
    period_seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """'10/min', '1200/minute', '5/15m', '100/s': requests per period."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*", text)
        if not match or match.group(3) not in PERIODS:
            raise ValueError(f"Not a rate: {text!r} (write it as requests/period, e.g. 10/min)")
        multiple = int(match.group(2) or 1)
        return cls(limit=int(match.group(1)), period_seconds=multiple * PERIODS[match.group(3)])


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after_seconds: int


def _uses_redis() -> bool:
    return settings.CACHES["default"]["BACKEND"].startswith("django_redis")


def hit(bucket: str, rate: Rate) -> Decision:
    """Count one request against `bucket` under `rate`."""
    if _uses_redis():
        return _hit_redis(bucket, rate)
    return _local.hit(bucket, rate)


def reset(bucket_prefix: str = "") -> None:
    """Forget the counts of every bucket starting with `bucket_prefix` (tests, operators)."""
    if _uses_redis():
        try:
            client = _redis()
            for key in client.scan_iter(match=f"{KEY_PREFIX}{bucket_prefix}*", count=1000):
                client.delete(key)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as error:
            raise RateLimitUnavailable(str(error)) from error
    _local.reset(bucket_prefix)


def _redis() -> redis.Redis:
    from django_redis import get_redis_connection

    return get_redis_connection("default")


_script: Script | None = None


def _hit_redis(bucket: str, rate: Rate) -> Decision:
    global _script
    try:
        client = _redis()
        if _script is None:
            _script = client.register_script(SLIDING_WINDOW)
        # Called on the current client: EVALSHA, loading the script once per server.
        allowed, remaining, retry_ms = _script(
            keys=[KEY_PREFIX + bucket],
            args=[rate.period_seconds * 1000, rate.limit, uuid.uuid4().hex],
            client=client,
        )
    except (redis.ConnectionError, redis.TimeoutError, OSError) as error:
        raise RateLimitUnavailable(str(error)) from error
    return Decision(
        bool(allowed), int(remaining), max(1, math.ceil(int(retry_ms) / 1000)) if not allowed else 0
    )


class _LocalWindows:
    """The same sliding window in the process, for a single-process set-up without Redis."""

    def __init__(self) -> None:
        self._logs: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, bucket: str, rate: Rate) -> Decision:
        now = time.monotonic()
        with self._lock:
            if len(self._logs) > MAX_LOCAL_BUCKETS:
                # Many addresses seen once: drop the buckets whose last request is a day old.
                for stale in [b for b, log in self._logs.items() if not log or log[-1] < now - 86400]:
                    del self._logs[stale]
            log = self._logs.setdefault(bucket, deque())
            while log and log[0] <= now - rate.period_seconds:
                log.popleft()
            if len(log) < rate.limit:
                log.append(now)
                return Decision(True, rate.limit - len(log), 0)
            retry = log[0] + rate.period_seconds - now
            return Decision(False, 0, max(1, math.ceil(retry)))

    def reset(self, bucket_prefix: str) -> None:
        with self._lock:
            for bucket in [b for b in self._logs if b.startswith(bucket_prefix)]:
                del self._logs[bucket]


_local = _LocalWindows()
