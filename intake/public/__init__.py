"""The reader's pages: the tip and question form and its thank-you page."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from intake.public import routes  # noqa: E402, F401 - registers the views on bp
