"""gunicorn's settings for the web processes (HTTP and WebSockets): `bin/serve`.

docs/operations.md, "Serving", says why each value is what it is; docs/performance.md,
"Load (G11)", has the measurements behind the worker count. The command line overrides any
of them (`bin/serve --bind 127.0.0.1:8001 --workers 3`).
"""

from __future__ import annotations

import os

bind = [os.environ.get("WEB_BIND", "0.0.0.0:8000")]
# One worker process per core this process may run on: Django's views run on a worker's
# threads under one GIL, so a worker uses about one core (one daphne process could not use the
# second of two cores); more workers than cores added no throughput beyond the noise (G11).
workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)))
worker_class = "config.serving.Worker"
# A worker whose event loop has not reported for this long is killed and replaced. Requests
# run on threads, so a slow request does not trip it; a stuck loop does.
timeout = 30
# On SIGTERM (a deploy), requests in flight get this long to finish; open WebSockets are closed
# at once (1012) and the pages reconnect to the next process (docs/live.md).
graceful_timeout = 30
# Longer than the proxy's idle timeout for upstream keep-alive connections (60 s by default in
# nginx and most load balancers), so the proxy, not the app, closes an idle connection and
# never sends a request on a connection the app is closing.
keepalive = 75
# Django reads X-Forwarded-Proto and X-Forwarded-For itself (SECURE_PROXY_SSL_HEADER,
# TRUSTED_PROXY_COUNT): uvicorn must not rewrite the client address and scheme first.
forwarded_allow_ips = ""
# No access log here: the proxy keeps one line per request already.
accesslog = None
# No control socket ($HOME/.gunicorn/gunicorn.ctl by default): two web processes on one host
# would share that path; they are managed with signals (TERM, HUP, TTIN/TTOU) instead.
control_socket_disable = True
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
