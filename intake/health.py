"""Health checks for load balancers and process managers: /healthz and /healthz/live."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from intake.extensions import db

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.route("/healthz")
def ready() -> ResponseReturnValue:
    """Answer 200 when the app can reach its database, 503 when it cannot."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("health check: the database does not answer")
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


@bp.route("/healthz/live")
def live() -> ResponseReturnValue:
    """Answer 200 while the process serves requests (no database involved)."""
    return jsonify(status="ok")
