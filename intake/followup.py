"""The reader's follow-up passphrase: made at submission, shown once, kept only as a hash.

Twenty random digits (66 bits), in groups of four to read and copy: any reader can type
them on any keyboard, in any language. Because the passphrase is random and long, its hash
needs no slowness against guessing; Argon2id is used with light settings so a submission
does not wait on it, and one verification runs whether or not the reference exists.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from intake.text import ascii_digits

DIGITS = 20
GROUP = 4
_hasher = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
# Verified when the reference is unknown, so both answers take the same time.
_DUMMY = _hasher.hash("0" * DIGITS)


def new_passphrase() -> str:
    """Return a fresh passphrase: 20 random digits in groups of four."""
    digits = "".join(secrets.choice("0123456789") for _ in range(DIGITS))
    return " ".join(digits[i : i + GROUP] for i in range(0, DIGITS, GROUP))


def normalise(typed: str) -> str:
    """Keep only the digits a reader typed (spaces, dashes and dots are theirs to add)."""
    return ascii_digits(typed)[: DIGITS * 2]


def hash_passphrase(passphrase: str) -> str:
    """Return the Argon2id hash to store."""
    return _hasher.hash(normalise(passphrase))


def matches(stored: str | None, typed: str) -> bool:
    """Say whether a typed passphrase is the stored one; as slow for a missing one."""
    try:
        return _hasher.verify(stored or _DUMMY, normalise(typed)) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
