"""Health checks and metrics: /healthz, /healthz/live, and /metrics for Prometheus."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from intake import outbox
from intake.extensions import db
from intake.models import DbSession, utcnow

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.route("/healthz")
def ready() -> ResponseReturnValue:
    """Answer 200 with the outbox's figures while the database answers, 503 when it does not."""
    try:
        db.session.execute(sa.text("SELECT 1"))
        figures = outbox.figures(db.session, utcnow())
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.error("health check: the database does not answer (%s)", type(exc).__name__)
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(
        status="ok",
        database="ok",
        outbox={
            "due": figures.due,
            "oldest_due_seconds": figures.oldest_due_seconds,
            "failed_24h": figures.failed_24h,
            "retrying": figures.retrying,
        },
    )


@bp.route("/healthz/live")
def live() -> ResponseReturnValue:
    """Answer 200 while the process serves requests (no database involved)."""
    return jsonify(status="ok")


class DatabaseCollector(Collector):
    """Read the figures from the database at scrape time, so every server reports the same."""

    def __init__(self, session: DbSession) -> None:
        self.session = session

    def collect(self) -> Iterator[Metric]:
        """Yield the outbox's gauges and the counts of submissions and emails."""
        figures = outbox.figures(self.session, utcnow())
        for name, value, text in (
            ("intake_outbox_due", figures.due, "Emails waiting for a worker now."),
            (
                "intake_outbox_oldest_due_seconds",
                figures.oldest_due_seconds,
                "How long the oldest email waiting for a worker has waited.",
            ),
            ("intake_outbox_failed_24h", figures.failed_24h, "Emails failed in the last 24 h."),
            ("intake_outbox_retrying", figures.retrying, "Emails waiting for their next try."),
        ):
            yield GaugeMetricFamily(name, text, value=value)
        emails = GaugeMetricFamily(
            "intake_emails", "Emails in the outbox by state.", labels=["state"]
        )
        for state, count in outbox.emails_by_state(self.session).items():
            emails.add_metric([state], count)
        yield emails
        submissions = GaugeMetricFamily(
            "intake_submissions", "Submissions by status.", labels=["status"]
        )
        for status, count in outbox.submissions_by_status(self.session).items():
            submissions.add_metric([status], count)
        yield submissions


@bp.route("/metrics")
def metrics() -> ResponseReturnValue:
    """Serve Prometheus text to a scraper holding INTAKE_METRICS_TOKEN; 404 when it is unset."""
    token = str(current_app.config.get("INTAKE_METRICS_TOKEN") or "")
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response(
            "A bearer token is required.\n",
            401,
            {"WWW-Authenticate": 'Bearer realm="metrics"'},
            mimetype="text/plain",
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(db.session))
    try:
        body = generate_latest(registry)
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.error("metrics: the database does not answer (%s)", type(exc).__name__)
        return Response("The database does not answer.\n", 503, mimetype="text/plain")
    return Response(body, 200, {"Content-Type": CONTENT_TYPE_LATEST})
