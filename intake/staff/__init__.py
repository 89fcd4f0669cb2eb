"""Staff pages: sign-in, the inbox, one submission and its actions, the outbox."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from intake.staff import (  # noqa: E402, F401 - registers the views on bp
    acknowledge,
    admin,
    apitokens,
    auth,
    canned,
    outbox,
    questions,
    queue,
    routes,
    webhooks,
)
