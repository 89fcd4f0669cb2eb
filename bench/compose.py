"""What building each email's bytes at compose time adds to the public POST (in-process).

Issue 10 moved message building from the delivery worker into the submitting request
(OutboxEmail.raw): this measures a POST with a notice and a receipt, in-process, and the
time `seal` takes for each of its two emails, so the share is a measured figure.
"""

from __future__ import annotations

import argparse
import statistics
import time

import sqlalchemy as sa
from common import prepared_app, scratch

from intake.delivery import seal
from intake.extensions import db
from intake.models import OutboxEmail
from tests.conftest import valid_form


def main() -> None:
    """Time N form POSTs, then the sealing of the emails they queued; print a table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    app = prepared_app(scratch())
    client = app.test_client()
    body = "У Харкові знову вимкнули світло після обстрілу, люди стоять у чергах по воду. " * 4
    posts = []
    for number in range(args.count):
        # A new address each time, so every POST queues a receipt as well as the notice.
        form = valid_form(body=body, email=f"reader{number}@example.org", reporter="iryna")
        started = time.perf_counter()
        response = client.post("/", data=form)
        posts.append(time.perf_counter() - started)
        if response.status_code != 303:
            raise SystemExit(f"the form answered {response.status_code}")
    seals = []
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboxEmail).limit(2 * args.count)))
        for row in rows:
            started = time.perf_counter()
            seal(row)
            seals.append(time.perf_counter() - started)
    post_ms = 1000 * statistics.median(posts)
    seal_ms = 1000 * statistics.median(seals)
    per_post = seal_ms * len(rows) / args.count
    print(f"### Building messages at compose time, {args.count} POSTs (in-process)\n")
    print("| measure | median |\n|---|---|")
    print(f"| public POST with a notice and a receipt | {post_ms:.2f} ms |")
    print(f"| building one email's bytes (`seal`) | {seal_ms:.2f} ms |")
    print(
        f"| building the POST's {len(rows) / args.count:.0f} emails | {per_post:.2f} ms "
        f"({100 * per_post / post_ms:.0f}% of the POST) |"
    )


if __name__ == "__main__":
    main()
