"""The web processes' worker: uvicorn inside gunicorn (bin/serve, config/gunicorn.py).

Named explicitly rather than "auto", so a machine without uvloop, httptools or websockets
fails at start instead of silently serving on the pure-Python fallbacks (docs/operations.md,
"Serving").
"""

from __future__ import annotations

import logging
from typing import Any

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    CONFIG_KWARGS = {
        "loop": "uvloop",
        "http": "httptools",
        # the live-metrics sockets (/ws/bi-dashboard, docs/live.md)
        "ws": "websockets-sansio",
        # Django and Channels answer no lifespan events: "auto" would only log that at each start
        "lifespan": "off",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # uvicorn logs every accepted socket at INFO with its URL, and the live-metrics URL
        # carries a one-use ticket: no secret in the logs (G15). Warnings and errors stay.
        uvicorn_log = logging.getLogger("uvicorn.error")
        uvicorn_log.setLevel(max(logging.WARNING, uvicorn_log.level))
