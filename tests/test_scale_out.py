"""Two app servers and two delivery workers on one database: nothing lost, nothing twice.

Runs on whichever engine the suite runs on (a SQLite file, then PostgreSQL), with real
gunicorn and worker processes and a real SMTP sink, all on 127.0.0.1.
"""

from __future__ import annotations

import email
import http.cookiejar
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from intake.extensions import db
from intake.models import OutboxEmail, Submission
from tests.conftest import ARTIFACTS, ENGINE, ROOT, free_port, make_app

BIN = Path(sys.executable).parent
FIRST_WAVE = 1000
SECOND_WAVE = 300
BATCH = 20
MAX_RESENT = 5
DEADLINE = 180  # seconds for any one wait: the test ends, never hangs


class SlowSink:
    """An SMTP server that takes a few milliseconds a message, like a real relay."""

    def __init__(self) -> None:
        self.message_ids: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        time.sleep(0.005)
        parsed = email.message_from_bytes(envelope.content)
        with self.lock:
            self.message_ids.append(str(parsed["Message-ID"]))
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.message_ids)


class Cluster:
    """Gunicorn servers and delivery workers started from the repository's own commands."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: list[subprocess.Popen[bytes]] = []
        self.urls: list[str] = []

    def serve(self) -> None:
        port = free_port()
        self.processes.append(
            subprocess.Popen(  # noqa: S603 - our own venv's gunicorn
                [
                    str(BIN / "gunicorn"),
                    "--config",
                    "gunicorn.conf.py",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "2",
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        self.urls.append(f"http://127.0.0.1:{port}")

    def worker(self) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(  # noqa: S603 - our own venv's flask
            [
                str(BIN / "flask"),
                "--app",
                "wsgi",
                "intake",
                "worker",
                "--batch",
                str(BATCH),
                "--interval",
                "0.1",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        return process

    def wait_until_serving(self) -> None:
        for url in self.urls:
            wait_for(lambda u=url: http_ok(u + "/healthz"), f"{url} to serve")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - 127.0.0.1
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def reader(base: str) -> tuple[urllib.request.OpenerDirector, str]:
    """Open the form like a browser: keep its cookie, read its CSRF token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    with opener.open(base + "/", timeout=10) as response:
        html = response.read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert token
    return opener, token.group(1)


def submit_many(urls: list[str], count: int, offset: int) -> list[int]:
    """Post `count` tips spread over the servers from 8 readers at once; return the statuses."""

    def one_reader(index: int) -> list[int]:
        base = urls[index % len(urls)]
        opener, token = reader(base)
        statuses = []
        for number in range(index, count, 8):
            body = urllib.parse.urlencode(
                {
                    "csrf_token": token,
                    "kind": "tip",
                    "topic": "russia-ukraine-war",
                    "reporter": "iryna",
                    "body": f"Tip number {offset + number}: the power is out again in the centre.",
                }
            ).encode()
            try:
                opener.open(base + "/", data=body, timeout=30)
            except urllib.error.HTTPError as answer:  # the 303 arrives as an "error"
                statuses.append(answer.code)
            else:
                statuses.append(200)
        return statuses

    with ThreadPoolExecutor(max_workers=8) as pool:
        return [s for part in pool.map(one_reader, range(8)) for s in part]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Cluster, SlowSink, Any]]:
    app = make_app(tmp_path)  # the schema and the example newsroom, on this run's engine
    sink = SlowSink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    env = {
        **os.environ,
        "INTAKE_ENV": "development",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "INTAKE_INSTANCE": str(tmp_path / "instance"),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "RATELIMIT_ENABLED": "false",
        "INTAKE_OUTBOX_LEASE": "5",
    }
    cluster = Cluster(env)
    try:
        yield cluster, sink, app
    finally:
        cluster.stop()
        controller.stop()


def counts(app: Any) -> tuple[int, int, list[str]]:
    with app.app_context():
        submissions = db.session.scalar(sa.select(sa.func.count()).select_from(Submission))
        sent = db.session.scalar(
            sa.select(sa.func.count()).select_from(OutboxEmail).where(OutboxEmail.state == "sent")
        )
        ids = list(db.session.scalars(sa.select(OutboxEmail.message_id)))
        db.session.remove()
    return submissions or 0, sent or 0, ids


def test_two_servers_two_workers_lose_nothing_and_send_once(
    cluster: tuple[Cluster, SlowSink, Any],
) -> None:
    servers, sink, app = cluster
    servers.serve()
    servers.serve()
    first = servers.worker()
    servers.worker()
    servers.wait_until_serving()

    statuses = submit_many(servers.urls, FIRST_WAVE, 0)
    assert Counter(statuses) == {303: FIRST_WAVE}
    wait_for(lambda: sink.count() >= FIRST_WAVE, "the first wave's emails")
    time.sleep(1)  # a duplicate would arrive now, if there were one
    submissions, sent, ids = counts(app)
    assert submissions == FIRST_WAVE and sent == FIRST_WAVE
    delivered = Counter(sink.message_ids)
    assert set(delivered) == set(ids)
    assert max(delivered.values()) == 1  # exactly once each

    # Second wave: kill one worker with SIGKILL in the middle of its batches, restart it.
    before = sink.count()
    statuses = submit_many(servers.urls, SECOND_WAVE, FIRST_WAVE)
    assert Counter(statuses) == {303: SECOND_WAVE}
    wait_for(lambda: sink.count() >= before + BATCH, "the second wave to be under way")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    servers.worker()
    wait_for(lambda: counts(app)[1] == FIRST_WAVE + SECOND_WAVE, "every email to be marked sent")
    submissions, sent, ids = counts(app)
    delivered = Counter(sink.message_ids)
    assert submissions == FIRST_WAVE + SECOND_WAVE
    assert set(ids) <= set(delivered)  # nothing lost
    resent = sum(n - 1 for n in delivered.values())
    # Accepted emails are recorded every few sends, so the killed worker's unrecorded
    # ones (and the one on the wire) go out again, same IDs: never more than 5.
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"scale-out-{ENGINE}.json").write_text(
        json.dumps({"emails": FIRST_WAVE + SECOND_WAVE, "sent_twice_after_sigkill": resent})
    )
    assert resent <= MAX_RESENT, f"{resent} emails sent twice"
