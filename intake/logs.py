"""Logging that never writes a reader's data or anybody's network address.

An exception's message can quote what a reader sent (a database error names the values
it refused; PostgreSQL adds "DETAIL: Key (email)=(...)"), so tracebacks are written with
their frames and the exception's type only. Addresses (IPv4 and IPv6) are replaced in
every line, including gunicorn's own ("Invalid request from ip=...").
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from types import TracebackType
from typing import Any

from gunicorn import glogging  # type: ignore[import-untyped]

IPV4 = r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])"
# IPv6: eight groups in full, or any form with "::" (a time such as 20:45:12 is neither).
_H = "[0-9a-fA-F]{1,4}"
IPV6 = (
    rf"(?<![\w:.])(?:(?:{_H}:){{0,6}}(?:{_H})?::(?:{_H}:){{0,5}}\d{{1,3}}(?:\.\d{{1,3}}){{3}}"
    rf"|(?:{_H}:){{7}}{_H}|(?:{_H}:){{0,6}}(?:{_H})?::(?:{_H}:){{0,6}}(?:{_H})?)"
    r"(?:%\w+)?(?![\w:])"
)
ADDRESS = re.compile(f"{IPV6}|{IPV4}")
HIDDEN = "[address]"

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def without_addresses(text: str) -> str:
    """Replace every IP address in a text."""
    return ADDRESS.sub(HIDDEN, text)


def describe(error: BaseException) -> str:
    """Name an error without its message: its type, and the driver's error type if any."""
    name = f"{type(error).__module__}.{type(error).__qualname__}"
    original = getattr(error, "orig", None)  # SQLAlchemy wraps the driver's exception
    if isinstance(original, BaseException):
        name += f" ({type(original).__module__}.{type(original).__qualname__})"
    return name


class SafeFormatter(logging.Formatter):
    """Format log lines without exception messages and without addresses."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's method name
        """Write the traceback's frames, and each exception's type without its message."""
        exc_type, error, tb = ei
        if error is None:
            return ""
        lines: list[str] = []
        seen: set[int] = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            frames = traceback.format_tb(current.__traceback__ if current is not error else tb)
            lines.append("".join(frames) + describe(current) + " (message withheld)")
            current = current.__cause__ or current.__context__
        return "\nwhile handling or caused by:\n".join(reversed(lines)).rstrip("\n")

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's method name
        """Keep a stack (frames only, no data)."""
        return stack_info

    def format(self, record: logging.LogRecord) -> str:
        """Format the line, then take out any address it holds."""
        return without_addresses(super().format(record))


class NoAddresses(logging.Filter):
    """Rewrite a record's message so no handler, whatever its format, sees an address."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace addresses in the message; keep the record."""
        message = record.getMessage()
        cleaned = without_addresses(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure(logger: logging.Logger) -> None:
    """Give intake's logger one safe handler on standard error, once."""
    if any(isinstance(h.formatter, SafeFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter(FORMAT))
    handler.addFilter(NoAddresses())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    # The development server (werkzeug) logs each request with the client's address.
    logging.getLogger("werkzeug").addFilter(NoAddresses())


class GunicornLogger(glogging.Logger):  # type: ignore[misc]
    """Gunicorn's logger with addresses and exception messages taken out of its error log."""

    def setup(self, cfg: Any) -> None:
        """Set up as gunicorn does, then make every error-log handler safe."""
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(SafeFormatter(FORMAT))
            handler.addFilter(NoAddresses())
