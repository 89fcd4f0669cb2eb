"""Time the staff inbox at N submissions: first, deep, filtered and search pages.

Run: .venv/bin/python bench/inbox_pages.py --count 100000
In-process (Flask's test client), so it measures the app and the database, not a network.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from intake import accounts, demo  # noqa: E402
from intake.extensions import db  # noqa: E402
from intake.models import Submission  # noqa: E402
from tests.conftest import STAFF_PASSWORD, make_app  # noqa: E402

PAGES = [
    ("first page", "/staff/"),
    ("deep page", "/staff/?after={middle}"),
    ("filtered", "/staff/?topic=russia-ukraine-war&assignee=unassigned&language=uk"),
    ("search", "/staff/?q=Харків"),
    ("search+filter", "/staff/?q=переговоров&status=new"),
]
VIEWERS = [("editor", "editor@example.org"), ("reporter", "iryna.koval@example.org")]


def main() -> None:
    """Fill a fresh SQLite database and print p50/p95 for each page and viewer."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    app = make_app(Path(tempfile.mkdtemp()))
    with app.app_context():
        started = time.perf_counter()
        demo.fill(db.session, args.count)
        filled = time.perf_counter() - started
        for role, email in VIEWERS:
            accounts.create(db.session, email, role, STAFF_PASSWORD)
        middle = db.session.scalar(
            sa.select(Submission.id).order_by(Submission.id).offset(args.count // 2).limit(1)
        )
    uri = str(app.config["SQLALCHEMY_DATABASE_URI"])
    engine = "PostgreSQL" if uri.startswith("postgres") else "SQLite"
    print(f"### Inbox at {args.count:,} submissions, {engine}\n")
    print(
        f"Filled with the demo-data code in {filled:.0f} s ({args.count / filled:,.0f} rows/s), "
        f"{platform.machine()}, Python {platform.python_version()}.\n"
    )
    print("| viewer | page | p50 ms | p95 ms |\n|---|---|---|---|")
    for role, email in VIEWERS:
        client = app.test_client()
        client.post("/staff/login", data={"email": email, "password": STAFF_PASSWORD})
        for label, url in PAGES:
            times = []
            for _ in range(args.runs):
                begun = time.perf_counter()
                response = client.get(url.format(middle=middle))
                times.append((time.perf_counter() - begun) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{url}: HTTP {response.status_code}")
            times.sort()
            p95 = times[int(0.95 * (len(times) - 1))]
            print(f"| {role} | {label} | {statistics.median(times):.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
