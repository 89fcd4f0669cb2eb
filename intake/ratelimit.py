"""Rate-limit counters in a SQLite file, shared by the worker processes of one machine.

Flask-Limiter's "memory://" storage keeps counters per process, so N gunicorn workers
allow N times each limit. Pointing RATELIMIT_STORAGE_URI at
"intake+sqlite:////abs/path/ratelimits.sqlite3" makes every worker count in one file.
Several machines still need Redis ("redis://...").
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from limits.errors import ConfigurationError
from limits.storage import MovingWindowSupport, Storage

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEME = "intake+sqlite"
# Seconds a request waits for another worker's write. A write takes well under a
# millisecond, so a longer wait means a stuck or broken file, not a busy one.
BUSY_TIMEOUT = 1.0
# Seconds between two sweeps of expired rows by one process.
PRUNE_INTERVAL = 60.0
FAILURES = (sqlite3.Error, OSError)

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS counters"
    " (key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires_at REAL NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS entries"
    " (key TEXT NOT NULL, at REAL NOT NULL, expires_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS entries_by_key ON entries (key, at)",
)
# One statement, so two workers can never both read the old count.
INCREMENT = """
INSERT INTO counters (key, value, expires_at) VALUES (:key, :amount, :now + :expiry)
ON CONFLICT (key) DO UPDATE SET
    value = CASE WHEN expires_at <= :now THEN excluded.value ELSE value + excluded.value END,
    expires_at = CASE WHEN expires_at <= :now THEN excluded.expires_at ELSE expires_at END
RETURNING value
"""


def path_from_uri(uri: str) -> Path:
    """Return the absolute file path an intake+sqlite URI names."""
    parsed = urllib.parse.urlparse(uri)
    path = Path(parsed.path[1:])
    if parsed.scheme != SCHEME or parsed.netloc or not path.is_absolute():
        raise ConfigurationError(
            f"{uri!r}: use {SCHEME}:////absolute/path/ratelimits.sqlite3 (four slashes)"
        )
    return path


def create_private_file(path: Path) -> None:
    """Create the file readable by its owner only, before SQLite creates it world-readable."""
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))


class SQLiteStorage(Storage, MovingWindowSupport):
    """Keep rate-limit counters in one SQLite file for all the processes of a machine.

    Supports the fixed-window (Flask-Limiter's default) and moving-window strategies.
    A file that stays locked past the busy timeout, or cannot be used at all, fails open:
    the request is let through and a warning is logged.
    """

    STORAGE_SCHEME = [SCHEME]

    def __init__(
        self,
        uri: str,
        wrap_exceptions: bool = False,
        timeout: float = BUSY_TIMEOUT,
        prune_interval: float = PRUNE_INTERVAL,
        **options: float | str | bool,
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = path_from_uri(uri)
        self.timeout = float(timeout)
        self.prune_interval = float(prune_interval)
        self._local = threading.local()
        self._inherited: list[sqlite3.Connection] = []
        self._last_prune = 0.0
        try:
            create_private_file(self.path)  # a wrong path stops the app at start, not later
        except OSError as error:
            raise ConfigurationError(f"cannot create {self.path}: {error}") from error

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return FAILURES

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add to a key's count, starting a new window if the last one ended; return it."""
        return self._or_fail_open("incr", lambda: self._incr(key, expiry, amount), 0)

    def get(self, key: str) -> int:
        """Return a key's count in its current window (0 when there is none)."""
        return self._or_fail_open("get", lambda: self._get(key), 0)

    def get_expiry(self, key: str) -> float:
        """Return when a key's window ends, as a Unix time (now when there is none)."""
        now = time.time()
        return self._or_fail_open("get_expiry", lambda: self._get_expiry(key, now), now)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Record `amount` hits in a moving window unless that would pass the limit."""
        return self._or_fail_open(
            "acquire_entry", lambda: self._acquire_entry(key, limit, expiry, amount), True
        )

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """Return the oldest hit still in a key's moving window and how many there are."""
        now = time.time()
        return self._or_fail_open(
            "get_moving_window", lambda: self._get_moving_window(key, expiry, now), (now, 0)
        )

    def check(self) -> bool:
        """Tell whether the file can be written within the busy timeout."""
        return self._or_fail_open("check", self._check, False)

    def reset(self) -> int | None:
        """Forget every key; return how many rows went."""
        return self._or_fail_open("reset", self._reset, None)

    def clear(self, key: str) -> None:
        """Forget one key, in both window strategies."""
        self._or_fail_open("clear", lambda: self._clear(key), None)

    def _or_fail_open(self, operation: str, run: Callable[[], T], fallback: T) -> T:
        # A rate limit slows abuse down; it must never turn a reader's tip into an error page.
        try:
            return run()
        except FAILURES as error:
            log.warning(
                "rate-limit storage %s: %s failed, limits not enforced (%s: %s)",
                self.path,
                operation,
                type(error).__name__,
                error,
            )
            return fallback

    def _incr(self, key: str, expiry: int, amount: int) -> int:
        now = time.time()
        with self._transaction() as connection:
            self._prune_now_and_then(connection, now)
            parameters = {"key": key, "amount": amount, "now": now, "expiry": expiry}
            rows = connection.execute(INCREMENT, parameters).fetchall()
        return int(rows[0][0])

    def _get(self, key: str) -> int:
        query = "SELECT value FROM counters WHERE key = ? AND expires_at > ?"
        with self._using() as connection:
            row = connection.execute(query, (key, time.time())).fetchone()
        return int(row[0]) if row else 0

    def _get_expiry(self, key: str, now: float) -> float:
        query = "SELECT expires_at FROM counters WHERE key = ? AND expires_at > ?"
        with self._using() as connection:
            row = connection.execute(query, (key, now)).fetchone()
        return float(row[0]) if row else now

    def _acquire_entry(self, key: str, limit: int, expiry: int, amount: int) -> bool:
        now = time.time()
        query = "SELECT count(*) FROM entries WHERE key = ? AND at > ?"
        with self._transaction() as connection:
            self._prune_now_and_then(connection, now)
            taken = int(connection.execute(query, (key, now - expiry)).fetchone()[0])
            if taken + amount > limit:
                return False
            connection.executemany(
                "INSERT INTO entries (key, at, expires_at) VALUES (?, ?, ?)",
                [(key, now, now + expiry)] * amount,
            )
        return True

    def _get_moving_window(self, key: str, expiry: int, now: float) -> tuple[float, int]:
        query = "SELECT min(at), count(*) FROM entries WHERE key = ? AND at > ?"
        with self._using() as connection:
            oldest, taken = connection.execute(query, (key, now - expiry)).fetchone()
        return (float(oldest) if oldest is not None else now), int(taken)

    def _check(self) -> bool:
        with self._transaction() as connection:
            connection.execute("SELECT count(*) FROM counters").fetchone()
        return True

    def _reset(self) -> int:
        with self._transaction() as connection:
            counters = connection.execute("DELETE FROM counters").rowcount
            entries = connection.execute("DELETE FROM entries").rowcount
        return counters + entries

    def _clear(self, key: str) -> None:
        with self._transaction() as connection:
            connection.execute("DELETE FROM counters WHERE key = ?", (key,))
            connection.execute("DELETE FROM entries WHERE key = ?", (key,))

    def _prune_now_and_then(self, connection: sqlite3.Connection, now: float) -> None:
        if now - self._last_prune >= self.prune_interval:
            self._last_prune = now
            self._delete_expired(connection, now)

    @staticmethod
    def _delete_expired(connection: sqlite3.Connection, now: float) -> None:
        connection.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
        connection.execute("DELETE FROM entries WHERE expires_at <= ?", (now,))

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block as one write transaction, taking the write lock before reading."""
        with self._using() as connection:
            connection.execute("BEGIN IMMEDIATE")
            yield connection
            connection.execute("COMMIT")

    @contextmanager
    def _using(self) -> Iterator[sqlite3.Connection]:
        """Lend this thread's connection; close it if anything fails, so none is reused broken."""
        connection = self._connection()
        try:
            yield connection
        except BaseException:
            self._local.connection = None
            connection.close()  # rolls back whatever the block left open
            raise

    def _connection(self) -> sqlite3.Connection:
        """Return this thread's connection, opened on first use in each process."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid == os.getpid():
            return connection
        if connection is not None:
            # Inherited through fork(): SQLite forbids using it in the child, and closing
            # it here could disturb the parent's locks, so it stays open and unused.
            self._inherited.append(connection)
        connection = self._connect()
        self._local.connection = connection
        self._local.pid = os.getpid()
        return connection

    def _connect(self) -> sqlite3.Connection:
        create_private_file(self.path)  # again: the file may have been deleted meanwhile
        connection = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            # Counters need not survive a power cut, so commits skip the fsync.
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA secure_delete=ON")
            for statement in SCHEMA:
                connection.execute(statement)
        except BaseException:
            connection.close()
            raise
        return connection
