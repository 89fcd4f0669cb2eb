"""The REST API under /api/v1: personal tokens, problem details, the OpenAPI document.

spectree makes the OpenAPI 3.1 document from the same pydantic models that validate each
request (pydantic writes JSON Schema 2020-12, which is OpenAPI 3.1's own schema language),
and it works on a plain Flask blueprint: the app's error pages and CSRF stay as they are.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from pydantic import ValidationError
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from spectree.models import SecureType
from werkzeug.exceptions import HTTPException

from intake import tokens
from intake.extensions import client_key, csrf, db, limiter
from intake.models import StaffUser

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # no cookies: a request is authenticated by its bearer token alone
PROBLEM = "application/problem+json"
OPEN = ("api.openapi", "api.docs")


class ProblemError(HTTPException):
    """An error answered as RFC 9457 problem details."""

    def __init__(self, status: int, title: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(description=detail)
        self.code = status
        self.title = title
        self.extra = extra


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> Response:
    """Build a problem-details response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM)


def _validation_failed(
    _req: Any, _resp: Any, error: Exception | None, _instance: Any, *_: Any
) -> None:
    """Answer a request that does not fit its schema with 400 and each field's problem."""
    if not isinstance(error, ValidationError):
        return
    errors = json.loads(error.json(include_url=False, include_input=False))
    fields = [
        {"field": ".".join(str(part) for part in e.get("loc", ())), "problem": e.get("msg", "")}
        for e in errors
    ]
    raise ProblemError(
        400, "The request is not valid", "See `errors` for each field.", errors=fields
    )


spec = SpecTree(
    "flask",
    title="intake API",
    version="1",
    description=(
        "The newsroom's tip line and reader-question desk. Every request carries a personal "
        "API token (`Authorization: Bearer itk_...`) and sees what its owner sees."
    ),
    # spectree leaves out of the document the routes under its own path: not /api/v1 itself.
    # The document and its page are served by our own views (nothing registered for it).
    path="api/v1/openapi",
    mode="strict",  # only the /api/v1 views, never the pages
    page_templates={},
    security_schemes=[
        SecurityScheme(
            name="token",
            data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer", bearer_format="itk_..."),
        )
    ],
    security={"token": []},
    before=_validation_failed,
    naming_strategy=lambda model: model.__name__,  # plain names: our models' names are unique
    validation_error_status=400,
)


def _bearer() -> str | None:
    """Return the request's bearer token as authentication reads it, or None."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    token = value.strip()
    return token if scheme.lower() == "bearer" and token else None


def _holder() -> StaffUser | None:
    """Return the account the request's token acts as (looked up once a request)."""
    if "api_holder" not in g:
        token = _bearer()
        g.api_holder = tokens.holder(db.session, token) if token is not None else None
    found: StaffUser | None = g.api_holder
    return found


def token_key() -> str:
    """Rate-limit a known token by its hash (however the header is written, one count);
    anything else by the client, so that made-up tokens cannot each get a fresh count."""
    token = _bearer()
    if token is None or _holder() is None:
        return f"api-client:{client_key()}"
    return "api:" + tokens.digest(token)[:32]


def api_limit() -> str:
    return str(current_app.config["INTAKE_API_LIMIT"])


def caller() -> StaffUser:
    """Return the account the request's token acts as (set by `authenticate`)."""
    user: StaffUser = g.api_user
    return user


@bp.before_request
def authenticate() -> None:
    """Require a valid token on every call but the document and its page."""
    if request.endpoint in OPEN:
        return
    user = _holder()
    if user is None:
        raise ProblemError(
            401,
            "A valid API token is needed",
            "Send `Authorization: Bearer <token>`; make a token on your account page.",
        )
    g.api_user = user
    if request.method == "POST":
        _json_body()


def _json_body() -> None:
    """Refuse a body that is not one JSON document, before any schema looks at it."""
    if request.mimetype != "application/json":
        raise ProblemError(415, "Send JSON", "The body must be application/json.")
    try:
        json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise ProblemError(400, "The body is not valid JSON") from None


@bp.errorhandler(HTTPException)
def as_problem(error: HTTPException) -> Response:
    """Answer every error under /api/v1 as problem details, never as an HTML page."""
    status = error.code or 500
    if isinstance(error, ProblemError):
        response = problem(status, error.title, error.description, **error.extra)
    else:
        response = problem(status, error.name, error.description if status != 500 else None)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="intake"'
    if status == 429:
        limit = limiter.current_limit
        wait = int(limit.reset_at - time.time()) + 1 if limit is not None else 60
        response.headers["Retry-After"] = str(max(wait, 1))
    return response


# One allowance a token across every route (a per-route limit would multiply it).
limiter.shared_limit(api_limit, scope="api", key_func=token_key)(bp)

from intake.api import routes  # noqa: E402, F401 - registers the views on bp
