"""The intake+sqlite rate-limit storage: one count for every worker process of a machine."""

from __future__ import annotations

import logging
import multiprocessing
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

import pytest
from limits.errors import ConfigurationError
from limits.storage import storage_from_string

from intake.ratelimit import SQLiteStorage
from tests.conftest import make_app, valid_form

HOUR = 3600


def uri_for(path: Path) -> str:
    """Return the storage URI of a file (an absolute path: four slashes in all)."""
    return f"intake+sqlite:///{path.resolve()}"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """The storage file of the test."""
    return tmp_path / "ratelimits.sqlite3"


@pytest.fixture
def patient(path: Path) -> SQLiteStorage:
    """A storage that waits long for a lock: counting, not failing open, is under test.

    On a loaded CI machine a thread holding the write lock can be descheduled for over the
    default second, which then (rightly) fails open and would look like a lost hit.
    """
    return SQLiteStorage(uri_for(path), timeout=30)


@pytest.fixture
def storage(path: Path) -> SQLiteStorage:
    """A storage on a file of the test's own."""
    return SQLiteStorage(uri_for(path))


def rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    """Read a table of the storage file directly, as another process would."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 - ours
    finally:
        connection.close()


# --- Configuration ------------------------------------------------------------------------


def test_the_scheme_names_this_storage(path: Path) -> None:
    assert isinstance(storage_from_string(uri_for(path)), SQLiteStorage)


@pytest.mark.parametrize(
    "uri",
    [
        "intake+sqlite:///relative/ratelimits.sqlite3",  # depends on the working directory
        "intake+sqlite://host/ratelimits.sqlite3",  # a host: Redis is for several machines
    ],
)
def test_a_uri_without_an_absolute_local_path_is_refused(uri: str) -> None:
    with pytest.raises(ConfigurationError, match="four slashes"):
        SQLiteStorage(uri)


def test_a_file_that_cannot_be_created_stops_the_app_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot create"):
        SQLiteStorage(uri_for(tmp_path / "missing" / "ratelimits.sqlite3"))


def test_the_files_are_readable_by_their_owner_only(path: Path) -> None:
    previous = os.umask(0o022)  # the usual umask, which alone would leave them world-readable
    try:
        storage = SQLiteStorage(uri_for(path))
        storage.incr("key", HOUR)
    finally:
        os.umask(previous)
    files = sorted(path.parent.glob(path.name + "*"))
    assert len(files) == 3  # the database, its write-ahead log and its shared-memory index
    assert {stat.S_IMODE(file.stat().st_mode) for file in files} == {0o600}


# --- Fixed window -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amounts", "counts"),
    [
        ([1], [1]),
        ([1, 1, 1], [1, 2, 3]),
        ([2, 3], [2, 5]),
    ],
)
def test_incr_adds_the_amount_and_returns_the_new_count(
    storage: SQLiteStorage, amounts: list[int], counts: list[int]
) -> None:
    assert [storage.incr("key", HOUR, amount) for amount in amounts] == counts


def test_get_returns_the_count_of_a_key(storage: SQLiteStorage) -> None:
    storage.incr("key", HOUR)
    storage.incr("key", HOUR)
    assert storage.get("key") == 2


def test_get_returns_zero_for_a_key_never_hit(storage: SQLiteStorage) -> None:
    assert storage.get("unknown") == 0


def test_keys_count_apart(storage: SQLiteStorage) -> None:
    storage.incr("one", HOUR)
    storage.incr("other", HOUR)
    assert (storage.get("one"), storage.get("other")) == (1, 1)


def test_get_expiry_is_the_end_of_the_window_the_first_hit_opened(
    storage: SQLiteStorage,
) -> None:
    before = time.time()
    storage.incr("key", HOUR)
    after = time.time()
    storage.incr("key", HOUR)  # a later hit does not push the end back
    assert before + HOUR <= storage.get_expiry("key") <= after + HOUR


def test_get_forgets_a_count_whose_window_ended(storage: SQLiteStorage) -> None:
    storage.incr("key", 1)
    time.sleep(1.05)
    assert storage.get("key") == 0


def test_a_hit_after_the_window_ended_opens_a_new_one(storage: SQLiteStorage) -> None:
    storage.incr("key", 1)
    storage.incr("key", 1)
    time.sleep(1.05)
    before = time.time()
    assert storage.incr("key", HOUR) == 1
    assert storage.get_expiry("key") >= before + HOUR


def test_clear_forgets_one_key_only(storage: SQLiteStorage) -> None:
    storage.incr("gone", HOUR)
    storage.acquire_entry("gone", 5, HOUR)
    storage.incr("kept", HOUR)
    storage.clear("gone")
    assert storage.get("gone") == 0
    assert storage.get_moving_window("gone", 5, HOUR)[1] == 0
    assert storage.get("kept") == 1


def test_reset_forgets_every_key_and_says_how_many_rows_went(storage: SQLiteStorage) -> None:
    storage.incr("one", HOUR)
    storage.incr("other", HOUR)
    storage.acquire_entry("moving", 5, HOUR, amount=2)
    assert storage.reset() == 4
    assert (storage.get("one"), storage.get("other")) == (0, 0)
    assert storage.get_moving_window("moving", 5, HOUR)[1] == 0


def test_expired_rows_are_pruned_from_the_file(path: Path) -> None:
    storage = SQLiteStorage(uri_for(path), prune_interval=0)
    storage.incr("old", 1)
    storage.acquire_entry("old moving", 5, 1)
    time.sleep(1.05)
    storage.incr("new", HOUR)
    assert [row[0] for row in rows(path, "counters")] == ["new"]
    assert rows(path, "entries") == []


# --- Moving window ------------------------------------------------------------------------


def test_moving_window_admits_hits_up_to_the_limit(storage: SQLiteStorage) -> None:
    assert [storage.acquire_entry("key", 3, HOUR) for _ in range(4)] == [True, True, True, False]


def test_moving_window_refuses_more_than_the_limit_at_once(storage: SQLiteStorage) -> None:
    assert storage.acquire_entry("key", 3, HOUR, amount=4) is False
    assert storage.get_moving_window("key", 3, HOUR)[1] == 0


def test_moving_window_starts_at_its_oldest_hit_and_counts_them(storage: SQLiteStorage) -> None:
    before = time.time()
    storage.acquire_entry("key", 5, HOUR)
    after = time.time()
    storage.acquire_entry("key", 5, HOUR, amount=2)
    start, count = storage.get_moving_window("key", 5, HOUR)
    assert before <= start <= after
    assert count == 3


def test_a_hit_leaves_the_moving_window_when_it_expires(storage: SQLiteStorage) -> None:
    storage.acquire_entry("key", 1, 1)
    time.sleep(1.05)
    assert storage.acquire_entry("key", 1, 1) is True


# --- Health and failures ------------------------------------------------------------------


def test_check_is_true_while_the_file_can_be_written(storage: SQLiteStorage) -> None:
    assert storage.check() is True


@pytest.fixture
def locked(path: Path) -> Iterator[sqlite3.Connection]:
    """Hold the file's write lock from another connection, as a stuck worker would."""
    SQLiteStorage(uri_for(path)).check()  # the tables exist and the file is in WAL mode
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    yield blocker
    blocker.close()


@pytest.mark.parametrize(
    ("operation", "let_through"),
    [
        (lambda storage: storage.incr("key", HOUR), 0),
        (lambda storage: storage.acquire_entry("key", 1, HOUR), True),
    ],
    ids=["fixed window", "moving window"],
)
def test_a_locked_file_lets_the_hit_through_after_the_busy_timeout(
    path: Path,
    locked: sqlite3.Connection,
    operation: Callable[[SQLiteStorage], object],
    let_through: object,
) -> None:
    storage = SQLiteStorage(uri_for(path), timeout=0.3)
    started = time.monotonic()
    assert operation(storage) == let_through
    assert 0.25 <= time.monotonic() - started < 2  # it waited, then gave up


def test_a_locked_file_is_logged_as_limits_not_enforced(
    path: Path, locked: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    storage = SQLiteStorage(uri_for(path), timeout=0.1)
    with caplog.at_level(logging.WARNING, logger="intake.ratelimit"):
        storage.incr("key", HOUR)
    assert "incr failed, limits not enforced" in caplog.text


def test_check_is_false_while_the_file_is_locked(path: Path, locked: sqlite3.Connection) -> None:
    assert SQLiteStorage(uri_for(path), timeout=0.1).check() is False


def test_counting_resumes_once_the_lock_is_released(path: Path, locked: sqlite3.Connection) -> None:
    storage = SQLiteStorage(uri_for(path), timeout=0.1)
    storage.incr("key", HOUR)
    locked.execute("COMMIT")
    assert storage.incr("key", HOUR) == 1


def test_a_file_that_is_not_a_database_lets_every_hit_through(path: Path) -> None:
    storage = SQLiteStorage(uri_for(path))
    path.write_bytes(b"this is not a SQLite database, it never was " * 100)
    assert storage.incr("key", HOUR) == 0
    assert storage.get("key") == 0
    assert storage.acquire_entry("key", 1, HOUR) is True
    assert storage.check() is False


# --- Several threads and processes --------------------------------------------------------

HITS_EACH = 100
WORKERS = 4


def test_threads_of_one_process_never_lose_a_hit(patient: SQLiteStorage) -> None:
    storage = patient
    counts: list[int] = []

    def hit() -> None:
        counts.extend(storage.incr("key", HOUR) for _ in range(HITS_EACH))

    threads = [threading.Thread(target=hit) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, WORKERS * HITS_EACH + 1))


def hit_from_a_worker(storage: SQLiteStorage, counts: Queue[list[int]]) -> None:
    """Hit one key from a forked process; send back the counts it saw."""
    counts.put([storage.incr("key", HOUR) for _ in range(HITS_EACH)])


def test_forked_workers_count_together_and_never_lose_a_hit(patient: SQLiteStorage) -> None:
    storage = patient
    # Used before the fork, as an app created in gunicorn's master process would be.
    assert storage.incr("key", HOUR) == 1
    context = multiprocessing.get_context("fork")
    queue: Queue[list[int]] = context.Queue()
    workers = [
        context.Process(target=hit_from_a_worker, args=(storage, queue)) for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    counts = [count for _ in workers for count in queue.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0] * WORKERS
    assert sorted(counts) == list(range(2, WORKERS * HITS_EACH + 2))
    assert storage.incr("key", HOUR) == WORKERS * HITS_EACH + 2  # the parent still counts


def test_two_app_workers_on_one_file_share_the_public_form_limit(tmp_path: Path) -> None:
    settings = {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": uri_for(tmp_path / "ratelimits.sqlite3"),
        "INTAKE_SUBMIT_LIMIT": "3 per minute",
    }
    first = make_app(tmp_path, **settings)
    assert first.test_client().post("/", data=valid_form()).status_code == 303
    assert first.test_client().post("/", data=valid_form()).status_code == 303
    # Made only now: the limiter is one object per process, and making an app gives it a
    # new storage; with per-process memory the two hits above would be forgotten here.
    second = make_app(tmp_path, **settings)
    assert second.test_client().post("/", data=valid_form()).status_code == 303
    assert first.test_client().post("/", data=valid_form()).status_code == 429
