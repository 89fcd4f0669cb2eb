"""Staff pages: sign-in, the inbox, one submission and its actions, the outbox."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from intake.staff import acknowledge, admin, auth, canned, outbox, questions, queue, routes  # noqa: E402, F401 - registers the views on bp
