"""Worker delivery rate against a bare smtplib loop sending the same messages.

Both send to the same SMTP sink, a separate process (aiosmtpd's Sink) on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import smtplib
import subprocess
import sys
import time

import sqlalchemy as sa
from common import BIN, database_url, engine_name, prepared_app, scratch

from intake.extensions import db, mail
from intake.models import OutboxEmail, utcnow
from intake.notify import _message, deliver_due
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
            rows = list(db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)))
            messages = [_message(row).as_bytes() for row in rows]
            started = time.perf_counter()
            sent = 0
            while True:
                report = deliver_due(db.session, mail, "bench", batch=50)
                sent += report.sent
                if not report.claimed:
                    break
            worker_seconds = time.perf_counter() - started
            engine = engine_name(database_url(folder))
        started = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            for raw in messages:
                client.sendmail("tips@example.org", ["iryna.koval@example.org"], raw)
        bare_seconds = time.perf_counter() - started
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    if sent != args.count:
        sys.exit(f"the worker sent {sent} of {args.count}")
    worker_rate, bare_rate = args.count / worker_seconds, args.count / bare_seconds
    print(f"### Delivery rate, {engine}, {args.count} emails\n")
    print("| sender | emails/s |\n|---|---|")
    print(f"| outbox worker (claim, send, record each; batches of 50) | {worker_rate:.0f} |")
    print(f"| bare smtplib loop, one connection, same messages | {bare_rate:.0f} |")
    print(f"| worker as a share of bare | {100 * worker_rate / bare_rate:.0f}% |")


if __name__ == "__main__":
    main()
