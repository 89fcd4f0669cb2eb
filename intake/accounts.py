"""Staff accounts: Argon2 password hashes, sign-in checks, and the admin's commands.

Every change an admin makes (from the admin pages or the command line) is written with an
AuditEvent naming who made it, in the same commit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

import pyotp
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from itsdangerous import BadSignature, URLSafeTimedSerializer

from intake.models import ROLES, AuditEvent, DbSession, Reporter, StaffUser, utcnow
from intake.text import whole_number

PASSWORD_MIN = 12
PASSWORD_MAX = 1024  # hashing a megabyte per try would be a cheap way to tie up a worker
_hasher = PasswordHasher()
# Checked when the account does not exist, so a wrong email costs what a wrong password does.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
# The actor the command line's changes are recorded under.
COMMAND_LINE = "command line"
# Starts the hash of an account whose password is not set yet: no Argon2 hash starts so,
# so no password opens it; the random rest makes every account's (and link's) differ.
UNSET_PREFIX = "!unset:"
LINK_SALT = "intake-set-password"
LINK_HOURS = 72


class AccountError(Exception):
    """A command about an account that cannot be done; the message says why."""


class LinkError(AccountError):
    """A set-password link that cannot be used; `status` is 400 (not ours) or 410 (gone)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


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


def _audit(session: DbSession, actor: str, action: str, target: str, detail: str = "") -> None:
    session.add(AuditEvent(actor=actor, action=action, target=target, detail=detail))


def _check_email(email: str) -> str:
    address = normalise_email(email)
    if len(address) > 254:
        raise AccountError("An email address can be at most 254 characters.")
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise AccountError(f"{address!r} is not an email address: {exc}") from None
    return address


def has_password(user: StaffUser) -> bool:
    """Say whether the account has a password yet (an invited one has not, until its link)."""
    return not user.password_hash.startswith(UNSET_PREFIX)


def add(
    session: DbSession, email: str, role: str, password: str | None, *, actor: str
) -> StaffUser:
    """Add an account and its audit event to the session, uncommitted (the caller commits).

    Without a password, the account cannot sign in until its owner sets one by a link.
    """
    if role not in ROLES:
        raise AccountError(f"The role must be one of {', '.join(ROLES)}.")
    if password is not None:
        check_password_rules(password)
    address = _check_email(email)
    if find(session, address) is not None:
        raise AccountError(f"An account for {address} exists already.")
    user = StaffUser(
        email=address,
        role=role,
        password_hash=_hasher.hash(password) if password is not None else _no_password(),
        session_token=secrets.token_hex(32),
        active=True,
    )
    session.add(user)
    how = "with a password" if password is not None else "without a password (a link sets it)"
    _audit(session, actor, "account.created", address, f"{role}, {how}")
    return user


def create(
    session: DbSession, email: str, role: str, password: str, *, actor: str = COMMAND_LINE
) -> StaffUser:
    """Create an account with a password and commit it (the command line's way)."""
    user = add(session, email, role, password, actor=actor)
    session.commit()
    return user


def _no_password() -> str:
    return UNSET_PREFIX + secrets.token_hex(24)


def set_password(session: DbSession, user: StaffUser, password: str, *, actor: str) -> None:
    """Replace the password and end every session of the account."""
    check_password_rules(password)
    user.password_hash = _hasher.hash(password)
    user.session_token = secrets.token_hex(32)
    _audit(session, actor, "account.password", user.email, "password set")
    session.commit()


def _other_active_admins(session: DbSession, user: StaffUser) -> int:
    """Count the active admins besides this account, locking every admin's row until commit.

    All of them, this one included: two admins demoting each other at once then queue on
    PostgreSQL, and the second sees the first's change (SQLite refuses the second write,
    whose read is stale, by itself).
    """
    ids = session.scalars(
        sa.select(StaffUser.id)
        .where(StaffUser.role == "admin", StaffUser.active.is_(True))
        .with_for_update()
    ).all()
    return len([i for i in ids if i != user.id])


def _keep_an_admin(session: DbSession, user: StaffUser, doing: str) -> None:
    if user.role == "admin" and user.active and _other_active_admins(session, user) == 0:
        session.rollback()  # and with it the lock
        raise AccountError(
            f"{user.email} is the last active admin: make another account admin before "
            f"you {doing} it."
        )


def change_role(session: DbSession, user: StaffUser, role: str, *, actor: str) -> None:
    """Give the account another role and end its sessions (it signs in again as that role)."""
    if role not in ROLES:
        raise AccountError(f"The role must be one of {', '.join(ROLES)}.")
    if role == user.role:
        raise AccountError(f"{user.email} is {role} already.")
    if role != "admin":
        _keep_an_admin(session, user, "demote")
    _audit(session, actor, "account.role", user.email, f"{user.role} -> {role}")
    user.role = role
    user.session_token = secrets.token_hex(32)
    session.commit()


def deactivate(session: DbSession, user: StaffUser, *, actor: str) -> None:
    """Stop an account from signing in, and end its sessions; its history stays."""
    if not user.active:
        raise AccountError(f"{user.email} is deactivated already.")
    if actor == user.email:
        raise AccountError("You cannot deactivate your own account: ask another admin.")
    _keep_an_admin(session, user, "deactivate")
    user.active = False
    user.session_token = secrets.token_hex(32)
    _audit(session, actor, "account.deactivated", user.email)
    session.commit()


def reactivate(session: DbSession, user: StaffUser, *, actor: str) -> None:
    """Let a deactivated account sign in again, with its old password and second factor."""
    if user.active:
        raise AccountError(f"{user.email} is active already.")
    user.active = True
    # Whatever was signed in before it was deactivated stays signed out.
    user.session_token = secrets.token_hex(32)
    _audit(session, actor, "account.reactivated", user.email)
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
    if whole_number(code, 6) is None or len(code) != 6:
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


def reset_second_factor(session: DbSession, user: StaffUser, *, actor: str) -> None:
    """Remove the account's two-factor key (a lost phone) and sign it out everywhere."""
    user.totp_secret = user.totp_pending = None
    user.totp_last_step = 0
    user.session_token = secrets.token_hex(32)
    _audit(session, actor, "account.2fa_reset", user.email)
    session.commit()


def unlinked_reporters(session: DbSession) -> list[StaffUser]:
    """Return the active reporter accounts whose email matches no active reporter."""
    users = session.scalars(
        sa.select(StaffUser)
        .where(StaffUser.role == "reporter", StaffUser.active.is_(True))
        .order_by(StaffUser.email)
    )
    return [user for user in users if reporter_of(session, user) is None]


# One-time links to set a password: signed (with their own salt) and dated by
# itsdangerous, and tied to the password hash and session token they were made for, so
# setting the password uses up every link made before, and so does anything that ends
# the account's sessions (deactivation, reactivation, a role change, a 2FA reset, a newer
# link): a link cannot come back to life.


def _fingerprint(user: StaffUser, secret: str) -> str:
    message = f"{LINK_SALT}:{user.id}:{user.password_hash}:{user.session_token}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=LINK_SALT)


def renew_link(session: DbSession, user: StaffUser, *, actor: str) -> None:
    """Record that a new set-password link goes out, uncommitted (the caller commits).

    The links sent before (one may have gone astray) stop working, and the account is
    signed out everywhere; one with a password keeps it until the link sets a new one.
    """
    if not user.active:
        raise AccountError(f"{user.email} is deactivated: reactivate it first.")
    if not has_password(user):
        user.password_hash = _no_password()
    user.session_token = secrets.token_hex(32)
    _audit(session, actor, "account.link_sent", user.email)


def password_link_token(user: StaffUser, secret: str) -> str:
    """Return the token of a link that sets this account's password once."""
    return str(_serializer(secret).dumps({"u": user.id, "f": _fingerprint(user, secret)}))


def account_for_link(
    session: DbSession, token: str, secret: str, hours: int, now: datetime | None = None
) -> StaffUser:
    """Return the account a set-password link is for; raise LinkError if it cannot be used."""
    try:
        payload, issued = _serializer(secret).loads(token, return_timestamp=True)
    except (BadSignature, ValueError, TypeError):
        raise LinkError(
            "This link is not valid. Check that it was copied whole, or ask an admin for a "
            "new one.",
            400,
        ) from None
    user_id = payload.get("u") if isinstance(payload, dict) else None
    user = session.get(StaffUser, user_id) if isinstance(user_id, int) else None
    if user is None:
        raise LinkError("This link is not valid. Ask an admin for a new one.", 400)
    if (now or utcnow()) - issued.astimezone(UTC) >= timedelta(hours=hours):
        raise LinkError(
            f"This link has expired: links last {hours} hours. Ask an admin for a new one.", 410
        )
    if not user.active:
        raise LinkError("This account is deactivated. Ask an admin.", 410)
    if not hmac.compare_digest(str(payload.get("f", "")), _fingerprint(user, secret)):
        raise LinkError(
            "This link was used already, or a newer one was sent. Sign in, or ask an admin "
            "for a new link.",
            410,
        )
    return user


def use_password_link(
    session: DbSession,
    token: str,
    secret: str,
    hours: int,
    password: str,
    now: datetime | None = None,
) -> StaffUser:
    """Set the password a link is for, once, and end the account's sessions."""
    user = account_for_link(session, token, secret, hours, now)
    check_password_rules(password)
    # Conditional on the hash the link was checked against: of two requests racing with
    # one link, only the first changes the row.
    result = session.execute(
        sa.update(StaffUser)
        .where(StaffUser.id == user.id, StaffUser.password_hash == user.password_hash)
        .values(password_hash=_hasher.hash(password), session_token=secrets.token_hex(32))
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        session.rollback()
        raise LinkError("This link was used already. Sign in, or ask an admin for a new link.", 410)
    _audit(session, user.email, "account.password", user.email, "password set by link")
    session.commit()
    session.refresh(user)
    return user
