"""Worker delivery rate against a bare smtplib loop sending the same messages.

Both send to the same SMTP sink, a separate process (aiosmtpd's Sink) on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import smtplib
import statistics
import subprocess
import sys
import time

import sqlalchemy as sa
from common import BIN, database_url, engine_name, prepared_app, scratch

from intake.delivery import MAX_UNRECORDED, Courier, deliver_due, seal
from intake.extensions import db, mail
from intake.models import OutboxEmail, utcnow
from tests.conftest import free_port

BODY = "The power went out again in the city centre this morning; queues for water. " * 12


def wait_for_port(port: int) -> None:
    """Wait until something listens on 127.0.0.1:port."""
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def main() -> None:
    """Queue N emails, time the worker's passes, then time smtplib on the same messages."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    sink = subprocess.Popen(  # noqa: S603 - aiosmtpd's own sink, loopback only
        [
            str(BIN / "python"),
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        folder = scratch()
        app = prepared_app(folder, MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        with app.app_context():
            now = utcnow()
            db.session.execute(
                sa.insert(OutboxEmail),
                [
                    {
                        "purpose": "reporter_notice",
                        "message_id": f"<bench-{n}@example.org>",
                        "sender": "tips@example.org",
                        "recipient": "iryna.koval@example.org",
                        "reply_to": "",
                        "subject": f"[Tip] Russia-Ukraine war (T-BNCH-{n:04d})",
                        "body": BODY,
                        "state": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "claimed_by": "",
                        "last_error": "",
                        "created_at": now,
                    }
                    for n in range(args.count)
                ],
            )
            db.session.commit()
            # As notify does when it queues an email: the bytes are built once, at compose
            # time (in the submitting request), and both senders below send these bytes.
            rows = list(db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)))
            messages = []
            for row in rows:
                row.raw = seal(row)
                messages.append(row.raw)
            db.session.commit()
            db.session.remove()
            del rows
            engine = engine_name(database_url(folder))
            # Three rounds, each sender in turn, so the machine's drift hits all alike.
            rates: dict[str, list[float]] = {"bare": [], "group": [], "each": []}
            for _ in range(args.rounds):
                rates["bare"].append(bare_rate(port, messages))
                for name, lag in (("group", MAX_UNRECORDED), ("each", 0)):
                    rates[name].append(worker_rate(args.count, lag))
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    median = {name: statistics.median(values) for name, values in rates.items()}
    print(rates, file=sys.stderr)
    print(f"### Delivery rate, {engine}, {args.count} emails, median of {args.rounds} rounds\n")
    print("| sender | emails/s | share of bare |\n|---|---|---|")
    print(f"| bare smtplib loop, one connection, same messages | {median['bare']:.0f} | 100% |")
    for name, label in (
        (
            "group",
            f"outbox worker, accepted emails recorded beside the sending, <= {MAX_UNRECORDED}"
            " unrecorded",
        ),
        ("each", "outbox worker, each accepted email recorded before the next is sent"),
    ):
        share = 100 * median[name] / median["bare"]
        print(f"| {label} | {median[name]:.0f} | {share:.0f}% |")


def bare_rate(port: int, messages: list[bytes]) -> float:
    """Send the prepared bytes in a plain smtplib loop over one connection."""
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for raw in messages:
            client.sendmail("tips@example.org", ["iryna.koval@example.org"], raw)
    return len(messages) / (time.perf_counter() - started)


def worker_rate(count: int, lag: int) -> float:
    """Make every email due again, then time the worker's passes until it has sent them."""
    db.session.execute(
        sa.update(OutboxEmail).values(
            state="pending", attempts=0, sent_at=None, claimed_by="", lease_until=None
        )
    )
    db.session.commit()
    started = time.perf_counter()
    sent = 0
    courier = Courier(mail)  # as `flask intake worker` does: one connection while busy
    while True:
        report = deliver_due(db.session, mail, "bench", batch=50, courier=courier, record_lag=lag)
        db.session.remove()  # as the worker does after each pass
        sent += report.sent
        if not report.claimed:
            break
    courier.close()
    seconds = time.perf_counter() - started
    if sent != count:
        sys.exit(f"the worker sent {sent} of {count}")
    return count / seconds


if __name__ == "__main__":
    main()
