"""Gunicorn settings for intake: `gunicorn --config gunicorn.conf.py wsgi:app`."""

# Never write an access log: it would record readers' IP addresses. intake logs one line
# a request itself (method, route, status, time), without the address.
accesslog = None
errorlog = "-"
loglevel = "info"
# Sync workers: each request runs to its end; a slow reader cannot starve the others long.
worker_class = "sync"
timeout = 30


def when_ready(server: object) -> None:
    """Load the language models once in the master, so forked workers share the memory."""
    from intake.language import warm

    warm()
