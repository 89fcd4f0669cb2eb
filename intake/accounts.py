"""Staff accounts: Argon2 password hashes, sign-in checks, and the admin's commands."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

import pyotp
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from intake.models import ROLES, DbSession, Reporter, StaffUser, utcnow

PASSWORD_MIN = 12
PASSWORD_MAX = 1024  # hashing a megabyte per try would be a cheap way to tie up a worker
_hasher = PasswordHasher()
# Checked when the account does not exist, so a wrong email costs what a wrong password does.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class AccountError(Exception):
    """A command about an account that cannot be done; the message says why."""


def normalise_email(email: str) -> str:
    """Compare staff emails without regard to case or surrounding space."""
    return email.strip().lower()


def check_password_rules(password: str) -> None:
    """Refuse a password that is too short or absurdly long."""
    if len(password) < PASSWORD_MIN:
        raise AccountError(f"A password needs at least {PASSWORD_MIN} characters.")
    if len(password) > PASSWORD_MAX:
        raise AccountError(f"A password can be at most {PASSWORD_MAX} characters.")


def find(session: DbSession, email: str) -> StaffUser | None:
    """Return the account with this email, active or not."""
    return session.scalar(sa.select(StaffUser).where(StaffUser.email == normalise_email(email)))


def create(session: DbSession, email: str, role: str, password: str) -> StaffUser:
    """Create an account and commit it."""
    if role not in ROLES:
        raise AccountError(f"The role must be one of {', '.join(ROLES)}.")
    check_password_rules(password)
    if find(session, email) is not None:
        raise AccountError(f"An account for {normalise_email(email)} exists already.")
    user = StaffUser(
        email=normalise_email(email),
        role=role,
        password_hash=_hasher.hash(password),
        session_token=secrets.token_hex(32),
        active=True,
    )
    session.add(user)
    session.commit()
    return user


def set_password(session: DbSession, user: StaffUser, password: str) -> None:
    """Replace the password and end every session of the account."""
    check_password_rules(password)
    user.password_hash = _hasher.hash(password)
    user.session_token = secrets.token_hex(32)
    session.commit()


def deactivate(session: DbSession, user: StaffUser) -> None:
    """Stop an account from signing in, and end its sessions; its history stays."""
    user.active = False
    user.session_token = secrets.token_hex(32)
    session.commit()


def authenticate(session: DbSession, email: str, password: str) -> StaffUser | None:
    """Return the active account these credentials open, or None, in about the same time."""
    user = find(session, email)
    if len(password) > PASSWORD_MAX:
        return None
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    session.commit()
    return user


def load(session: DbSession, session_token: str) -> StaffUser | None:
    """Return the active account a session belongs to."""
    return session.scalar(
        sa.select(StaffUser).where(
            StaffUser.session_token == session_token, StaffUser.active.is_(True)
        )
    )


def reporter_of(session: DbSession, user: StaffUser) -> Reporter | None:
    """Return the directory's reporter with the account's email, if active."""
    return session.scalar(
        sa.select(Reporter).where(
            sa.func.lower(Reporter.email) == user.email, Reporter.active.is_(True)
        )
    )


# Two-factor sign-in (TOTP, RFC 6238): 30-second steps, one step of clock drift either way.
TOTP_DRIFT_STEPS = 1


SECOND_FACTOR_POLICIES = {
    "admins": ("admin",),
    "editors": ("admin", "editor"),  # both see every desk
    "all": ROLES,
}
CODE_TRIES = 5  # wrong codes before a half-done sign-in ends (back to the password)


def needs_second_factor(user: StaffUser, policy: str) -> bool:
    """Say whether this account must use two-factor sign-in under the policy (unknown: all)."""
    return user.role in SECOND_FACTOR_POLICIES.get(policy, ROLES)


def _matching_step(secret: str, code: str, last_step: int, now: datetime) -> int | None:
    """Return the time step the code belongs to, if it is right and newer than last_step."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if step > last_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def verify_second_factor(
    session: DbSession, user: StaffUser, code: str, now: datetime | None = None
) -> bool:
    """Check a sign-in code; a code (or an older one) that was used before is refused."""
    if not user.totp_secret:
        return False
    step = _matching_step(user.totp_secret, code, user.totp_last_step, now or utcnow())
    if step is None:
        return False
    # Conditional, so two requests racing with the same code cannot both succeed: only
    # one UPDATE finds the last step still older than this one.
    result = session.execute(
        sa.update(StaffUser)
        .where(StaffUser.id == user.id, StaffUser.totp_last_step < step)
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(user)
    return getattr(result, "rowcount", 0) == 1


def start_sign_in(session: DbSession, user: StaffUser) -> str:
    """Begin a sign-in that still needs its code; return its id for the browser's session."""
    nonce = secrets.token_urlsafe(32)
    user.login_nonce, user.login_failures = nonce, 0
    session.commit()
    return nonce


def sign_in_pending(user: StaffUser, nonce: str) -> bool:
    """Say whether this is the account's current half-done sign-in."""
    return bool(user.login_nonce) and hmac.compare_digest(str(user.login_nonce), nonce)


def wrong_code(session: DbSession, user: StaffUser) -> bool:
    """Count a wrong code; end the half-done sign-in at the fifth. Say whether it ended."""
    session.execute(
        sa.update(StaffUser)
        .where(StaffUser.id == user.id)
        .values(login_failures=StaffUser.login_failures + 1)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(user)
    if user.login_failures < CODE_TRIES:
        return False
    end_sign_in(session, user)
    return True


def end_sign_in(session: DbSession, user: StaffUser) -> None:
    """Forget the half-done sign-in (done, or too many wrong codes)."""
    user.login_nonce, user.login_failures = None, 0
    session.commit()


def rotate_session(session: DbSession, user: StaffUser) -> None:
    """Give the account a new session token: every cookie of the old one stops working."""
    user.session_token = secrets.token_hex(32)
    session.commit()


def pending_second_factor(session: DbSession, user: StaffUser) -> str:
    """Return the key being enrolled, making one the first time."""
    if not user.totp_pending:
        user.totp_pending = pyotp.random_base32()
        session.commit()
    return user.totp_pending


def second_factor_uri(user: StaffUser, secret: str, issuer: str) -> str:
    """Return the otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def confirm_second_factor(
    session: DbSession, user: StaffUser, code: str, now: datetime | None = None
) -> bool:
    """Turn two-factor sign-in on once the app shows a right code for the pending key."""
    if not user.totp_pending:
        return False
    step = _matching_step(user.totp_pending, code, 0, now or utcnow())
    if step is None:
        return False
    user.totp_secret, user.totp_pending, user.totp_last_step = user.totp_pending, None, step
    session.commit()
    return True


def reset_second_factor(session: DbSession, user: StaffUser) -> None:
    """Remove the account's two-factor key (a lost phone) and sign it out everywhere."""
    user.totp_secret = user.totp_pending = None
    user.totp_last_step = 0
    user.session_token = secrets.token_hex(32)
    session.commit()
