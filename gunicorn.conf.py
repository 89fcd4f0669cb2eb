"""Gunicorn settings for intake: `gunicorn --config gunicorn.conf.py wsgi:app`.

Production: put a TLS-terminating proxy in front (set INTAKE_PROXY_COUNT=1), and run the
delivery workers beside it: `flask --app wsgi intake worker` (as many as you like, on any
machine that reaches the database and the SMTP relay).
"""

import multiprocessing
import os

# Where to listen; the proxy talks to this. `make run` passes --bind 127.0.0.1:5000.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: each request runs to its end. Two a core is a good start for a form
# that waits on the database's commit.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2))
worker_class = "sync"
timeout = 30
graceful_timeout = 30
# Never write an access log: it would record readers' IP addresses. intake logs one line
# a request itself (method, route, status, time), without the address.
accesslog = None
errorlog = "-"
# Its error log names a client's address on a malformed request; this one never does.
logger_class = "intake.logs.GunicornLogger"
loglevel = "info"
# Recycle workers now and then, so a slow leak cannot grow without bound.
max_requests = 5000
max_requests_jitter = 500


def when_ready(server: object) -> None:
    """Load the language models once in the master, so forked workers share the memory."""
    from intake.language import warm

    warm()
