"""What the benchmarks share: a self-renewing JWT header and a millisecond timer.

Import after django.setup() (the scripts put the project root on sys.path first).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rest_framework_simplejwt.tokens import AccessToken


class Bearer:
    """An Authorization header for `user`, re-minted once a minute: access tokens live five
    minutes (SIMPLE_JWT) and a run at scale lasts much longer. Minting costs ~0.1 ms, at most
    once a minute."""

    def __init__(self, user) -> None:
        self.user, self.minted, self.value = user, 0.0, ""

    def header(self) -> dict:
        if time.monotonic() - self.minted > 60:
            self.value, self.minted = f"Bearer {AccessToken.for_user(self.user)}", time.monotonic()
        return {"HTTP_AUTHORIZATION": self.value}


def timed(fn: Callable[[], object]) -> float:
    """Milliseconds one call of fn takes."""
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000
