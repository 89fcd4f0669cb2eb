"""The newsroom's tools: the REST API, announcing and delivering webhooks, encrypted notices.

Run: .venv/bin/python bench/tools.py (SQLite unless scripts/with-postgres.sh set a database;
about 90 s on the development VM, a third of it filling the 100,000-row database once).

1. The API with an editor's token, in-process (Flask's test client): the list's first page
   and a deep keyset page, one submission, a note with If-Match; the staff inbox's page
   beside it. Each call in turn, so the machine's drift hits all alike.
2. What announcing adds to `workflow.submit`: 0, 1 and 10 registered webhook endpoints.
3. Webhook delivery by one worker to a receiver on 127.0.0.1 answering 200 at once, and one
   pass against an endpoint that answers after 2 s (PASS_SECONDS bounds a pass).
4. A reporter's notice encrypted to OpenPGP keys made by Debian's gpg (its `default` and
   `future-default`), against a plain one; the size of each message.
5. Peak RSS of a process that serves the API's list page 50 times (GNU time's %M).

Medians and p95 of many calls: the development VM is shared and noisy.
"""

from __future__ import annotations

import argparse
import io
import logging
import multiprocessing
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from common import ROOT, database_url, engine_name, percentile, prepared_app, scratch
from flask import Flask

from intake import accounts, demo, notify, tokens, workflow
from intake.attachments import Incoming
from intake.directory import snapshot
from intake.extensions import db
from intake.hookdelivery import PASS_SECONDS, deliver_hooks
from intake.models import (
    HOOK_EVENTS,
    OutboxHook,
    Reporter,
    Submission,
)
from intake.pgp import check_key
from intake.workflow import hooks
from tests.conftest import STAFF_PASSWORD

EDITOR = "editor@example.org"
KEYED = "iryna.koval@example.org"  # these two get keys below
KEYED_TOO = "sam.okafor@example.org"
UNKEYED = "lee.park@example.org"
TIP = "У Харкові знову вимкнули світло після обстрілу, люди стоять у чергах по воду. "
NOTE = "Called the source back: the power cut is confirmed by the city council."
GPG = "/usr/bin/gpg"
GNU_TIME = "/usr/bin/time"
FORK = multiprocessing.get_context("fork")


def ms(values: list[float]) -> tuple[float, float]:
    """Return the median and p95 of durations in seconds, in ms."""
    return 1000 * statistics.median(values), 1000 * percentile(values, 0.95)


def new_tip(body: str = TIP, topic: str = "russia-ukraine-war") -> workflow.NewSubmission:
    """A reader's tip as the form passes it on: no address, no name."""
    return workflow.NewSubmission(
        kind="tip",
        topic=topic,
        subject="",
        body=body,
        name="",
        email="",
        consent_contact=False,
        consent_publish=False,
        sensitive=False,
        article="",
        author_slug="",
    )


def submit(app: Flask, new: workflow.NewSubmission, **extra: Any) -> tuple[str, float]:
    """Store a submission through the workflow; return its reference and the seconds taken."""
    with app.test_request_context():
        started = time.perf_counter()
        reference = workflow.submit(db.session, new, **extra)
        took = time.perf_counter() - started
        db.session.remove()
    return reference, took


# --- 1. The API at N submissions ------------------------------------------------------------


def api_pages(count: int, calls: int) -> None:
    """Fill a database once; time the API's calls and the inbox page; then the peak RSS."""
    folder = scratch()
    app = prepared_app(folder, INTAKE_REQUIRE_2FA="admins")  # pages, not sign-in
    with app.app_context():
        started = time.perf_counter()
        demo.fill(db.session, count)
        filled = time.perf_counter() - started
        editor = accounts.create(db.session, EDITOR, "editor", STAFF_PASSWORD)
        token = tokens.create(db.session, editor, "bench")
        ids = list(db.session.scalars(sa.select(Submission.id).order_by(Submission.id)))
        deep = ids[100]  # newest first: the page after it is the oldest rows but 100
        shown = db.session.get(Submission, ids[len(ids) // 2])
        one = shown.reference if shown is not None else ""
        # Each note goes to another submission, at the version it has (If-Match).
        noted = [
            (reference, version)
            for reference, version in db.session.execute(
                sa.select(Submission.reference, Submission.version)
                .where(Submission.id > ids[len(ids) // 3])
                .order_by(Submission.id)
                .limit(calls + 1)
            )
        ]
        db.session.remove()
    engine = engine_name(database_url(folder))
    auth = {"Authorization": f"Bearer {token}"}
    api = app.test_client()
    staff = app.test_client()
    staff.post("/staff/login", data={"email": EDITOR, "password": STAFF_PASSWORD})
    notes = iter(noted)

    def note() -> Any:
        reference, version = next(notes)
        return api.post(
            f"/api/v1/submissions/{reference}/notes",
            json={"text": NOTE},
            headers={**auth, "If-Match": f'"{version}"'},
        )

    listing = "/api/v1/submissions?view=all&limit=50"
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("API list, first page (50)", lambda: api.get(listing, headers=auth)),
        ("API list, deep keyset page", lambda: api.get(f"{listing}&after={deep}", headers=auth)),
        ("API one submission", lambda: api.get(f"/api/v1/submissions/{one}", headers=auth)),
        ("API note with If-Match", note),
        ("staff inbox page, all, first page", lambda: staff.get("/staff/?view=all")),
        ("staff inbox page, deep page", lambda: staff.get(f"/staff/?view=all&after={deep}")),
    ]
    times: dict[str, list[float]] = {label: [] for label, _ in cases}
    sizes: dict[str, int] = {}
    for run in range(calls + 1):  # the first round warms up and is not counted
        for label, call in cases:
            started = time.perf_counter()
            response = call()
            took = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(f"{label}: HTTP {response.status_code} {response.get_data()!r}")
            if run:
                times[label].append(took)
            sizes[label] = len(response.get_data())
    print(f"### The API at {count:,} submissions, {engine} (in-process)\n")
    print(
        f"Filled with the demo-data code in {filled:.0f} s. An editor's token (sees every "
        f"desk); {calls} calls each, in turn, after one warm-up round.\n"
    )
    print("| call | p50 ms | p95 ms | response |\n|---|---|---|---|")
    for label, _ in cases:
        p50, p95 = ms(times[label])
        print(f"| {label} | {p50:.1f} | {p95:.1f} | {sizes[label] / 1024:.0f} KiB |")
    print()
    peak_rss(app, token, calls)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)


def peak_rss(app: Flask, token: str, calls: int) -> None:
    """Peak RSS of a fresh process opening the database, with 0 and with `calls` list pages."""
    uri = str(app.config["SQLALCHEMY_DATABASE_URI"])
    rows = []
    for count in (0, calls):
        command = [sys.executable, __file__, "--rss-child", uri, "--calls", str(count)]
        env = {**os.environ, "BENCH_TOKEN": token}
        with tempfile.NamedTemporaryFile("r") as out:
            timed = Path(GNU_TIME).exists()
            if timed:
                command = [GNU_TIME, "-f", "%M", "-o", out.name, *command]
            started = time.perf_counter()
            done = subprocess.run(  # noqa: S603 - this file, in a process of its own
                command, env=env, check=False, timeout=300, cwd=ROOT, capture_output=True
            )
            if done.returncode:
                raise SystemExit(f"the measured process failed: {done.stderr.decode()[-2000:]}")
            wall = time.perf_counter() - started
            text = out.read().strip().splitlines()
            now = int(done.stdout.split()[-1]) / 1024
        if timed and text:
            peak = int(text[-1]) / 1024
        else:  # the largest child so far: these two run first and in this order
            import resource

            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        rows.append((count, peak, now, wall))
    how = "GNU time's %M" if Path(GNU_TIME).exists() else "getrusage(RUSAGE_CHILDREN)"
    print(f"Peak RSS of one process ({how}), the app opened on that database:\n")
    print("| API list pages served | peak RSS | RSS at the end | wall |\n|---|---|---|---|")
    for count, peak, now, wall in rows:
        print(f"| {count} | {peak:.0f} MB | {now:.0f} MB | {wall:.1f} s |")
    print()


def rss_child(uri: str, calls: int) -> None:
    """Open the app on a filled database and serve the list page `calls` times."""
    from intake import create_app
    from tests.conftest import settings

    with tempfile.TemporaryDirectory(prefix="intake-bench-") as home:
        app = create_app(settings(Path(home), SQLALCHEMY_DATABASE_URI=uri))
        client = app.test_client()
        auth = {"Authorization": f"Bearer {os.environ['BENCH_TOKEN']}"}
        for _ in range(calls):
            response = client.get("/api/v1/submissions?view=all&limit=50", headers=auth)
            if response.status_code != 200:
                raise SystemExit(f"HTTP {response.status_code}")
        status = Path("/proc/self/status").read_text()
        print(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])
        with app.app_context():
            db.engine.dispose()


# --- 2. What announcing adds to a submission ------------------------------------------------


def announce_cost(count: int) -> None:
    """Time `workflow.submit` with 0, 1 and 10 endpoints, in rounds that alternate them."""
    apps: dict[int, Flask] = {}
    folders = []
    for endpoints in (0, 1, 10):
        folder = scratch()
        folders.append(folder)
        app = prepared_app(folder)
        with app.app_context():
            for n in range(endpoints):
                # Nothing listens there: only the queueing is timed here, never a POST.
                hooks.add_endpoint(
                    db.session,
                    f"http://127.0.0.1:9/hook-{n}",
                    list(HOOK_EVENTS),
                    with_text=n % 2 == 1,  # both payloads: with the reader's text and without
                    actor="bench",
                    allow_private=True,
                )
            db.session.remove()
        submit(app, new_tip())  # warm-up, not counted
        apps[endpoints] = app
    times: dict[int, list[float]] = {n: [] for n in apps}
    rounds = 5
    for _ in range(rounds):
        for endpoints, app in apps.items():
            for _ in range(count // rounds):
                times[endpoints].append(submit(app, new_tip())[1])
    queued = {}
    for endpoints, app in apps.items():
        with app.app_context():
            made = db.session.scalar(sa.select(sa.func.count(OutboxHook.id))) or 0
            queued[endpoints] = made / (1 + len(times[endpoints]))
            db.session.remove()
            db.engine.dispose()
    print(f"### Announcing: `workflow.submit` with webhook endpoints, {count} submissions each\n")
    print(
        "Every endpoint takes every event (a new tip is two: created and routed); every "
        "second one gets the reader's text. In-process; one tip, a reporter's notice queued.\n"
    )
    print("| endpoints | webhooks queued a tip | p50 ms | p95 ms | added to p50 |")
    print("|---|---|---|---|---|")
    base = ms(times[0])[0]
    for endpoints in apps:
        p50, p95 = ms(times[endpoints])
        print(
            f"| {endpoints} | {queued[endpoints]:.0f} | {p50:.1f} | {p95:.1f} "
            f"| {p50 - base:+.1f} ms |"
        )
    print()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


# --- 3. Webhook delivery --------------------------------------------------------------------


class Receiver:
    """An HTTP receiver on 127.0.0.1 that answers every POST 200 after `delay` seconds.

    It serves from a process of its own (forked once its socket listens), as a real
    receiver would: it takes no time from the worker's process.
    """

    def __init__(self, delay: float = 0.0) -> None:
        counter = FORK.Value("l", 0)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's method name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if delay:
                    time.sleep(delay)
                with counter.get_lock():
                    counter.value += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Keep the output quiet."""

        self.counter = counter
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.process = FORK.Process(target=self.server.serve_forever, daemon=True)

    @property
    def received(self) -> int:
        """Say how many POSTs it has answered."""
        with self.counter.get_lock():
            return int(self.counter.value)


@contextmanager
def receiving(delay: float = 0.0) -> Iterator[Receiver]:
    """Run a receiver for the duration of a block."""
    receiver = Receiver(delay)
    receiver.process.start()
    receiver.server.server_close()  # the child listens; this process keeps no copy
    try:
        yield receiver
    finally:
        receiver.process.terminate()
        receiver.process.join(timeout=10)


def drain() -> tuple[int, float, int]:
    """Run worker passes until none is due; return deliveries sent, seconds, passes."""
    sent, passes = 0, 0
    started = time.perf_counter()
    while True:
        report = deliver_hooks(db.session, "bench", allow_private=True, timeout=5)
        db.session.remove()  # as the worker does after each pass
        passes += 1
        sent += report.sent
        if not report.claimed:
            return sent, time.perf_counter() - started, passes


def delivery(count: int, rounds: int, slow: float) -> None:
    """Deliver `count` queued webhooks, `rounds` times; then one pass to a slow endpoint."""
    folder = scratch()
    app = prepared_app(folder)
    rates = []
    with receiving() as fast:
        with app.app_context():
            endpoint, _ = hooks.add_endpoint(
                db.session,
                fast.url,
                list(HOOK_EVENTS),
                with_text=False,
                actor="bench",
                allow_private=True,
            )
            fast_id = endpoint.id
            db.session.remove()
        for _ in range(count // 2):  # created and routed: two deliveries a tip
            submit(app, new_tip())
        with app.app_context():
            queued = db.session.scalar(sa.select(sa.func.count(OutboxHook.id))) or 0
            for _ in range(rounds):
                db.session.execute(
                    sa.update(OutboxHook).values(
                        state="pending", attempts=0, sent_at=None, claimed_by="", lease_until=None
                    )
                )
                db.session.commit()
                before = fast.received
                sent, seconds, passes = drain()
                if sent != queued or fast.received - before != queued:
                    raise SystemExit(f"sent {sent}, received {fast.received - before} of {queued}")
                rates.append(sent / seconds)
            hooks.remove_endpoint(db.session, fast_id, "bench")
            db.session.remove()
    with receiving(slow) as late:
        with app.app_context():
            hooks.add_endpoint(
                db.session,
                late.url,
                ["submission.created"],
                with_text=False,
                actor="bench",
                allow_private=True,
            )
            db.session.remove()
        waiting = int(PASS_SECONDS / slow) + 6
        for _ in range(waiting):
            submit(app, new_tip())
        with app.app_context():
            started = time.perf_counter()
            report = deliver_hooks(db.session, "bench", allow_private=True, timeout=5)
            pass_seconds = time.perf_counter() - started
            left = db.session.scalar(
                sa.select(sa.func.count(OutboxHook.id)).where(
                    OutboxHook.state == "pending", OutboxHook.claimed_by == ""
                )
            )
            db.session.remove()
            db.engine.dispose()
    engine = engine_name(database_url(folder))
    print(f"### Webhook delivery, {engine}, one worker, receiver on 127.0.0.1\n")
    print(
        f"{queued:,} queued deliveries (a real tip's signed payloads), `deliver_hooks` passes "
        f"of 20 until none is due, {rounds} rounds; a new connection a POST, as the worker "
        "does.\n"
    )
    print("| measure | figure |\n|---|---|")
    print(
        f"| deliveries a second, receiver answering at once | median {statistics.median(rates):.0f}"
        f", slowest round {min(rates):.0f} (rounds: {', '.join(f'{r:.0f}' for r in rates)}) |"
    )
    print(
        f"| one pass, {waiting} due, endpoint answering after {slow:g} s | {pass_seconds:.1f} s, "
        f"{report.sent} sent, {left} given back for the next pass (PASS_SECONDS = "
        f"{PASS_SECONDS:g}) |"
    )
    print()
    shutil.rmtree(folder, ignore_errors=True)


# --- 4. Encrypted notices -------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """A key made by gpg: the reporter it goes to, what it is, its armored public part."""

    reporter: str
    label: str
    armored: bytes


ALGORITHMS = {"1": "RSA", "18": "ECDH", "19": "ECDSA", "22": "EdDSA"}


@contextmanager
def gpg_keys() -> Iterator[list[Key]]:
    """Make keys with Debian's gpg in a throwaway home; yield them; stop its agent after.

    gpg's `default` (Debian 12's gpg 2.2 makes RSA keys, as many reporters' keys are) and
    `future-default` (ed25519 and cv25519: what newer gpg and mail clients make).
    """
    home = Path(tempfile.mkdtemp(prefix="intake-bench-gnupg-"))
    home.chmod(0o700)
    env = {"GNUPGHOME": str(home), "HOME": str(home), "PATH": "/usr/bin:/bin"}
    batch = [GPG, "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]

    def gpg(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - Debian's gpg, our own arguments
            [*batch, *args], env=env, check=True, capture_output=True, timeout=120
        )
        return done.stdout.decode()

    keys = []
    try:
        for reporter, spec in ((KEYED, "default"), (KEYED_TOO, "future-default")):
            user_id = f"Bench {spec} <{spec}@example.org>"
            gpg("--quick-gen-key", user_id, spec, "default", "never")
            # Which algorithms `spec` gave: the primary key's and the encryption subkey's.
            made = []
            for line in gpg("--with-colons", "--list-keys", f"={user_id}").splitlines():
                fields = line.split(":")
                if fields[0] in ("pub", "sub"):
                    algorithm = ALGORITHMS.get(fields[3], f"algorithm {fields[3]}")
                    made.append(f"{algorithm} {fields[2]}" if algorithm == "RSA" else algorithm)
            label = f"`{spec}`: {' + '.join(made)}"
            keys.append(Key(reporter, label, gpg("--armor", "--export", user_id).encode()))
        yield keys
    finally:
        subprocess.run(  # noqa: S603
            ["/usr/bin/gpgconf", "--kill", "gpg-agent"], env=env, check=False, timeout=30
        )
        shutil.rmtree(home, ignore_errors=True)


def cyrillic(length: int) -> str:
    """Return a Ukrainian text of exactly `length` characters."""
    text = TIP
    while len(text) < length:
        text += TIP
    return text[:length]


def pdf(size: int) -> bytes:
    """Return a PDF-looking file of `size` bytes whose content does not compress."""
    head, tail = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", b"\ntrailer << >>\n%%EOF\n"
    return head + secrets.token_bytes(size - len(head) - len(tail)) + tail


def notices(count: int) -> None:
    """Time composing a reporter's notice, plain and encrypted; size what each becomes."""
    folder = scratch()
    app = prepared_app(folder)
    with gpg_keys() as keys, app.app_context():
        for key in keys:
            check = check_key(key.armored, datetime.now(UTC))
            if not check.usable:
                raise SystemExit(f"the key {key.label} cannot be used: {check.problem}")
            reporter = db.session.scalars(
                sa.select(Reporter).where(Reporter.email == key.reporter)
            ).one()
            reporter.pgp_key = "keys/bench.asc"
            reporter.pgp_cert, reporter.pgp_fingerprint = check.armored, check.fingerprint
        db.session.commit()
        db.session.remove()
    text, _ = submit(app, new_tip(cyrillic(2000)))
    uploads = Path(str(app.config["INTAKE_UPLOADS"]))
    files = [Incoming("Склад у порту.pdf", io.BytesIO(pdf(1024 * 1024)))]
    with_file, _ = submit(app, new_tip(cyrillic(2000)), files=files, uploads=uploads)
    recipients = [(UNKEYED, "plain (files: counted, opened in intake)")] + [
        (key.reporter, f"encrypted, {key.label}") for key in keys
    ]
    times: dict[tuple[str, str], list[float]] = {}
    sizes: dict[tuple[str, str], int] = {}
    runs = {text: count, with_file: max(count // 5, 10)}
    with app.test_request_context():
        newsroom = snapshot(db.session).newsroom  # as `workflow.submit` passes it
        for reference, many in runs.items():
            for run in range(many + 1):  # each in turn; the first is a warm-up
                for to, _ in recipients:
                    # The submission as the submitting request has it: loaded, files not yet.
                    db.session.rollback()
                    item = db.session.scalars(
                        sa.select(Submission).where(Submission.reference == reference)
                    ).one()
                    started = time.perf_counter()
                    row = notify.reporter_notice(
                        item, to, newsroom, topic_label="Russia-Ukraine war", email_content="full"
                    )
                    took = time.perf_counter() - started
                    sealed = row.raw is not None and b"multipart/encrypted" in row.raw
                    if row.raw is None or sealed != (to != UNKEYED):
                        raise SystemExit(f"the notice to {to} is not what was expected")
                    sizes[(reference, to)] = len(row.raw)
                    if run:
                        times.setdefault((reference, to), []).append(took)
        db.session.remove()
        db.engine.dispose()
    print(f"### Reporter's notice: plain vs encrypted to an OpenPGP key, {count} each\n")
    print(
        f"Keys made by Debian's gpg {gpg_version()} (`--quick-gen-key ... SPEC default never`). "
        "`notify.reporter_notice` as the submitting request calls it (the reporter's key "
        "looked up and checked again, the message built and encrypted with pysequoia); "
        "plain: to a colleague without a key, on a desk that mails the full text. The "
        "submission: 2,000 Cyrillic characters; the file: a 1 MiB PDF that does not compress. "
        "In-process, the three in turn.\n"
    )
    print("| submission | notice | calls | p50 ms | p95 ms | raw message |")
    print("|---|---|---|---|---|---|")
    for reference, label in ((text, "2,000 characters"), (with_file, "the same + 1 MiB file")):
        for to, how in recipients:
            p50, p95 = ms(times[(reference, to)])
            size = sizes[(reference, to)]
            shown = f"{size / 1024:.1f} KiB" if size < 1024 * 1024 else f"{size / 2**20:.2f} MiB"
            print(
                f"| {label} | {how} | {len(times[(reference, to)])} | {p50:.1f} | {p95:.1f} "
                f"| {shown} |"
            )
    print()
    shutil.rmtree(folder, ignore_errors=True)


def gpg_version() -> str:
    """Return the version of Debian's gpg."""
    found = subprocess.run(  # noqa: S603
        [GPG, "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    return found.stdout.split("\n", 1)[0].rsplit(" ", 1)[-1]


def main() -> None:
    """Run the four measures (or one, with --only) and print their tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000, help="submissions for the API")
    parser.add_argument("--calls", type=int, default=50, help="calls a case (API, RSS)")
    parser.add_argument("--submits", type=int, default=100, help="submissions a case (announce)")
    parser.add_argument("--hooks", type=int, default=1000, help="webhook deliveries to send")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of delivery")
    parser.add_argument("--slow", type=float, default=2.0, help="the slow endpoint's delay, s")
    parser.add_argument("--notices", type=int, default=100, help="notices a case (PGP)")
    parser.add_argument("--only", default="", help="api, announce, delivery or pgp")
    parser.add_argument("--rss-child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # A line a request would bury the tables (intake's log goes to stderr at INFO).
    logging.getLogger("intake.requests").setLevel(logging.WARNING)
    if args.rss_child:
        rss_child(args.rss_child, args.calls)
        return
    print(
        f"{platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores; "
        f"started {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average "
        f"{os.getloadavg()[0]:.1f}.\n"
    )
    began = time.perf_counter()
    if args.only in ("", "api"):
        api_pages(args.count, args.calls)
    if args.only in ("", "announce"):
        announce_cost(args.submits)
    if args.only in ("", "delivery"):
        delivery(args.hooks, args.rounds, args.slow)
    if args.only in ("", "pgp"):
        notices(args.notices)
    print(f"(all of it in {time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
