"""Extension objects, created unbound and attached to an app by create_app."""

import hashlib
import hmac
from datetime import UTC, datetime

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

import intake.ratelimit  # noqa: F401 - registers the intake+sqlite storage scheme
from intake.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
mail = Mail()
login_manager = LoginManager()
babel = Babel()


def keyed_digest(purpose: str, value: str) -> str:
    """Return an HMAC of a value under SECRET_KEY, for one purpose (hex, 64 characters).

    What it stands for (an address, a reference) cannot be read back or matched by
    someone who guesses it without the key.
    """
    secret = str(current_app.secret_key or "").encode()
    return hmac.new(secret, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def client_key() -> str:
    """Identify a client for rate limits by a keyed hash of its address, never the address.

    The key changes every day (UTC) and derives from SECRET_KEY, so the limiter's storage
    (memory, or Redis shared by several servers) holds no address and no stable identifier.
    """
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    secret = str(current_app.secret_key or "").encode()
    daily = hmac.new(secret, f"intake-ratelimit:{day}".encode(), hashlib.sha256).digest()
    address = (request.remote_addr or "").encode()
    return hmac.new(daily, address, hashlib.sha256).hexdigest()[:32]


limiter = Limiter(key_func=client_key, headers_enabled=False)
