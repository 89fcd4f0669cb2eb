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
from flask import Flask  # noqa: E402

from intake import (  # noqa: E402
    accounts,
    create_app,  # noqa: E402
    demo,
)
from intake.extensions import db  # noqa: E402
from intake.models import Submission  # noqa: E402
from tests.conftest import STAFF_PASSWORD, make_app, settings  # noqa: E402

PAGES = [
    # Where each lands: an editor on every open item, a reporter on their own queue.
    ("landing", "/staff/"),
    ("my queue", "/staff/?view=mine"),
    ("open items", "/staff/?view=open"),
    ("all, first page", "/staff/?view=all"),
    ("deep page", "/staff/?view=all&after={middle}"),
    ("filtered", "/staff/?topic=russia-ukraine-war&assignee=unassigned&language=uk"),
    ("unassigned tile", "/staff/?view=open&assignee=unassigned"),
    ("overdue tile", "/staff/?view=open&flag=overdue"),
    ("replied tile", "/staff/?view=all&flag=replied"),
    ("sensitive", "/staff/?view=all&flag=sensitive"),
    ("search", "/staff/?q=Харків"),
    ("search+filter", "/staff/?q=переговоров&status=new"),
    ("new-since poll", "/staff/inbox/new?last={recent}"),
]
VIEWERS = [("editor", "editor@example.org"), ("reporter", "iryna.koval@example.org")]


def main() -> None:
    """Fill a fresh SQLite database and print p50/p95 for each page and viewer."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--only", default="", help="Time only pages whose label has this.")
    parser.add_argument(
        "--keep", default="", help="SQLite file to fill once and reuse (for tuning queries)."
    )
    args = parser.parse_args()
    overrides: dict[str, object] = {"INTAKE_REQUIRE_2FA": "admins"}  # pages, not sign-in
    kept = Path(args.keep) if args.keep else None
    if kept is not None:
        overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{kept.resolve()}"
    reuse = kept is not None and kept.exists()
    app = make_app(Path(tempfile.mkdtemp()), **overrides) if not reuse else _reopen(overrides)
    filled = 0.0
    with app.app_context():
        if not reuse:
            started = time.perf_counter()
            demo.fill(db.session, args.count)
            filled = time.perf_counter() - started
            for role, email in VIEWERS:
                accounts.create(db.session, email, role, STAFF_PASSWORD)
        args.count = db.session.scalar(sa.select(sa.func.count(Submission.id))) or 0
        middle = db.session.scalar(
            sa.select(Submission.id).order_by(Submission.id).offset(args.count // 2).limit(1)
        )
        recent = (db.session.scalar(sa.select(sa.func.max(Submission.id))) or 0) - 10
    uri = str(app.config["SQLALCHEMY_DATABASE_URI"])
    engine = "PostgreSQL" if uri.startswith("postgres") else "SQLite"
    print(f"### Inbox at {args.count:,} submissions, {engine}\n")
    if filled:
        print(
            f"Filled with the demo-data code in {filled:.0f} s ({args.count / filled:,.0f} "
            f"rows/s), {platform.machine()}, Python {platform.python_version()}.\n"
        )
    print("| viewer | page | p50 ms | p95 ms |\n|---|---|---|---|")
    for role, email in VIEWERS:
        client = app.test_client()
        client.post("/staff/login", data={"email": email, "password": STAFF_PASSWORD})
        for label, url in PAGES:
            if args.only not in label:
                continue
            times = []
            for _ in range(args.runs):
                begun = time.perf_counter()
                response = client.get(url.format(middle=middle, recent=recent))
                times.append((time.perf_counter() - begun) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{url}: HTTP {response.status_code}")
            times.sort()
            p95 = times[int(0.95 * (len(times) - 1))]
            print(f"| {role} | {label} | {statistics.median(times):.1f} | {p95:.1f} |")


def _reopen(overrides: dict[str, object]) -> Flask:
    """Open a kept database as it is (make_app would load the newsroom into it again)."""
    return create_app(settings(Path(tempfile.mkdtemp()), **overrides))


if __name__ == "__main__":
    main()
