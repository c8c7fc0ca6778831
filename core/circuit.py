"""A circuit breaker in front of Redis, so a Redis that is down or hung costs one timeout, not one
per cache call (RELIABILITY.md G12).

The cache ignores Redis errors and answers from the database, but every call still waited for
its socket timeout: a hung Redis (accepting connections, never answering) made `/agent/` take
14 s, 28 cache calls x 0.5 s. The connection class below is given to the cache's connection
pool (config/settings.py): the first connect, write or read that fails or times out opens the
circuit for `COOLDOWN_SECONDS`; while it is open every Redis command of the process fails at
once with `redis.ConnectionError`, which the cache ignores and the rate limiter (core.ratelimit)
turns into its documented fallback. After the cool-down the next command tries Redis again
(half-open): success closes the circuit, another failure opens it for another cool-down.

One breaker per process, shared by its threads: all of them talk to the same Redis.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from redis.connection import Connection

logger = logging.getLogger("crm.redis")

COOLDOWN_SECONDS = 5.0


class CircuitBreaker:
    def __init__(self, cooldown_seconds: float = COOLDOWN_SECONDS) -> None:
        self.cooldown_seconds = cooldown_seconds
        self._open_until = 0.0
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def check(self) -> None:
        if self.is_open:
            raise redis.ConnectionError("Redis circuit open: skipping Redis until the cool-down ends")

    def trip(self, error: BaseException) -> None:
        with self._lock:
            was_open = self.is_open
            self._open_until = time.monotonic() + self.cooldown_seconds
        if not was_open:
            logger.warning(
                "Redis unavailable (%s): circuit open for %.0f s", type(error).__name__, self.cooldown_seconds
            )

    def reset(self) -> None:
        with self._lock:
            self._open_until = 0.0


breaker = CircuitBreaker()

# Errors that say Redis is unreachable or not answering (not a bad command).
_OUTAGE = (redis.ConnectionError, redis.TimeoutError, OSError)


class BreakerConnection(Connection):
    """redis-py's TCP connection, consulting and feeding the process's breaker."""

    def connect(self) -> None:
        breaker.check()
        try:
            super().connect()
        except _OUTAGE as error:
            breaker.trip(error)
            raise

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        breaker.check()
        try:
            super().send_packed_command(command, check_health)
        except _OUTAGE as error:
            breaker.trip(error)
            raise

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().read_response(*args, **kwargs)
        except _OUTAGE as error:
            breaker.trip(error)
            raise
