"""The reader's pages: the form, its thank-you page, and the anonymous follow-up page."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from intake.public import answers, followup, routes  # noqa: E402, F401 - registers the views on bp
