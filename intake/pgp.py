"""Check reporters' OpenPGP public keys and encrypt notices to them as PGP/MIME (RFC 3156).

Findings about pysequoia 0.1.35 that shape the checks (verified with keys made by gpg 2.2):

- `encrypt` is no validity check: it prefers live encryption subkeys but falls back to expired
  ones, and it encrypts to a certificate whose primary key expired or that is revoked. It only
  refuses when no subkey carries an encryption flag or every such subkey is revoked.
- `Cert.expiration` is the primary key's expiry; a subkey's expiry shows nowhere on `Cert`, so
  the encryption subkeys are judged here from the certificate's packets.
- `Cert.from_bytes` accepts a secret key, and `Cert.has_secret_keys` is deprecated (it warns), so
  secret material is spotted from the packet tags and the armor header instead.
"""

from __future__ import annotations

import email.policy
import os
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pysequoia
from pysequoia import Cert
from pysequoia.packet import Packet, PacketPile, SignatureType, Tag

MAX_KEY_BYTES = 1024 * 1024

PRIVATE_KEY_GIVEN = "the file holds a private key; a private key must never be given to intake"
NO_KEY = "the file holds no OpenPGP public key"
NO_ENCRYPTION = "the key has no subkey that can encrypt"

# Self-signatures that state a key's flags and lifetime: on the primary key (direct or through a
# User ID) or binding a subkey.
_BINDINGS = (
    SignatureType.DirectKey,
    SignatureType.PositiveCertification,
    SignatureType.GenericCertification,
    SignatureType.CasualCertification,
    SignatureType.PersonaCertification,
    SignatureType.SubkeyBinding,
)


@dataclass(frozen=True)
class KeyCheck:
    """What intake found in a reporter's key, and why it cannot be used if it cannot."""

    armored: str
    fingerprint: str
    expires_at: datetime | None
    problem: str

    @property
    def usable(self) -> bool:
        """Tell whether notices can be encrypted to this key now."""
        return not self.problem


@dataclass
class _Key:
    """One key of a certificate, with the self-signatures that speak about it."""

    created: datetime | None
    bindings: list[Packet] = field(default_factory=list)
    revoked: bool = False


def check_key(data: bytes, now: datetime) -> KeyCheck:
    """Check that data is one OpenPGP public key that can encrypt at now."""
    return _inspect(data, now)[0]


def read_key(path: Path, now: datetime) -> KeyCheck:
    """Read a key file and check it; only a regular file (a FIFO would hang the load)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        return _unreadable(f"cannot read {path}: {exc.strerror or exc}")
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # a folder, a FIFO, a device
        os.close(descriptor)
        return _unreadable(f"cannot read {path}: not a regular file")
    with os.fdopen(descriptor, "rb") as file:
        try:
            # One byte more than allowed is enough to tell that the file is too big.
            data = file.read(MAX_KEY_BYTES + 1)
        except OSError as exc:
            return _unreadable(f"cannot read {path}: {exc.strerror or exc}")
    return check_key(data, now)


def recheck(armored: str, now: datetime) -> KeyCheck:
    """Check a stored armored key again, since keys expire or get revoked after upload."""
    return check_key(armored.encode("utf-8", errors="replace"), now)


def encrypt_mime(inner: EmailMessage, armored: str) -> EmailMessage:
    """Encrypt an email entity to the key as an RFC 3156 multipart/encrypted entity."""
    check, cert = _inspect(armored.encode("utf-8", errors="replace"), datetime.now(UTC))
    if cert is None or not check.usable:
        raise ValueError(check.problem)
    # CRLF is the canonical form RFC 3156 signs and encrypts; it also keeps bytes exact.
    plaintext = inner.as_bytes(policy=email.policy.SMTP)
    try:
        ciphertext = pysequoia.encrypt(plaintext, [cert])
    except Exception as exc:  # pysequoia raises bare RuntimeError from Rust
        raise ValueError(f"the key cannot encrypt: {_first_line(exc)}") from exc

    control = EmailMessage()
    control["Content-Type"] = "application/pgp-encrypted"
    control["Content-Description"] = "PGP/MIME version identification"
    control.set_payload("Version: 1\r\n")

    body = EmailMessage()
    body["Content-Type"] = 'application/octet-stream; name="encrypted.asc"'
    body["Content-Description"] = "OpenPGP encrypted message"
    body["Content-Disposition"] = 'inline; filename="encrypted.asc"'
    body.set_payload(ciphertext.decode("ascii"))

    outer = EmailMessage()
    outer["MIME-Version"] = "1.0"
    outer["Content-Type"] = 'multipart/encrypted; protocol="application/pgp-encrypted"'
    outer.preamble = "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)"
    outer.attach(control)
    outer.attach(body)
    return outer


def _inspect(data: bytes, now: datetime) -> tuple[KeyCheck, Cert | None]:
    """Check data as a key and return the parsed certificate when it is one."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if len(data) > MAX_KEY_BYTES:
        return _unreadable("the file is larger than 1 MiB, too big for an OpenPGP public key"), None
    if _holds_secret(data):
        return _unreadable(PRIVATE_KEY_GIVEN), None
    try:
        certs = Cert.split_bytes(data)
    except Exception:  # any parse error means the same to an admin: not a key
        return _unreadable(NO_KEY), None
    if not certs:
        return _unreadable(NO_KEY), None
    if len(certs) > 1:
        return _unreadable(f"the file holds {len(certs)} keys; give exactly one"), None

    cert = certs[0]
    try:
        armored, fingerprint = str(cert), cert.fingerprint
        # Raises when the primary key has no self-signature the standard policy accepts.
        expires_at = cert.expiration
    except Exception as exc:
        return _unreadable(f"the key is not valid: {_first_line(exc)}"), None

    def found(problem: str) -> tuple[KeyCheck, Cert]:
        return KeyCheck(armored, fingerprint, expires_at, problem), cert

    if cert.is_revoked:
        return found("the key is revoked")
    if expires_at is not None and expires_at <= now:
        return found(f"the key expired on {_day(expires_at)}")
    problem = _encryption_problem(cert, now)
    if problem:
        return found(problem)
    try:
        # The last word is the library's: it also rejects algorithms it cannot encrypt with.
        pysequoia.encrypt(b"probe", [cert])
    except Exception as exc:
        return found(f"the key cannot encrypt: {_first_line(exc)}")
    return found("")


def _holds_secret(data: bytes) -> bool:
    """Tell whether data carries secret key material."""
    # The packet parser reads only the first armored block, so a later one shows in the header.
    if b"PRIVATE KEY BLOCK" in data:
        return True
    try:
        packets: list[Packet] = list(PacketPile.from_bytes(data))
    except Exception:
        return False
    return any(packet.tag in (Tag.SecretKey, Tag.SecretSubkey) for packet in packets)


def _encryption_problem(cert: Cert, now: datetime) -> str:
    """Say why no key of the certificate can encrypt at now, or "" when one can."""
    try:
        keys = _keys(cert)
    except Exception as exc:
        return f"the key cannot be read: {_first_line(exc)}"
    revoked = False
    expired: list[datetime] = []
    for key in keys:
        binding = _binding(key.bindings, now)
        if key.created is None or binding is None:
            continue
        flags = binding.key_flags
        if flags is None or not (flags.transport_encryption or flags.storage_encryption):
            continue
        if key.revoked:
            revoked = True
            continue
        # A zero validity period means the key never expires.
        period = binding.key_validity_period
        if period and key.created + period <= now:
            expired.append(key.created + period)
            continue
        if key.created <= now:
            return ""
    if expired:
        return f"the key's encryption subkey expired on {_day(max(expired))}"
    if revoked:
        return "the key's encryption subkey is revoked"
    return NO_ENCRYPTION


def _keys(cert: Cert) -> list[_Key]:
    """List the certificate's keys, primary first, with their self-signatures."""
    # Sequoia's canonical form orders packets: primary key, User IDs, subkeys, each followed by
    # its signatures. Signatures are not verified here, only their issuer is matched: a forged
    # binding could at worst hide an expired subkey, never add a key, since Sequoia's encrypt
    # only uses keys whose bindings it verified.
    packets: list[Packet] = list(PacketPile.from_bytes(bytes(cert)))
    keys: list[_Key] = []
    primary: _Key | None = None
    primary_ids: set[str] = set()
    current: _Key | None = None
    for packet in packets:
        if packet.tag == Tag.PublicKey:
            primary = current = _Key(packet.key_created)
            keys.append(primary)
            primary_ids = {i for i in (packet.fingerprint, packet.key_id) if i}
        elif packet.tag == Tag.PublicSubkey:
            current = _Key(packet.key_created)
            keys.append(current)
        elif packet.tag in (Tag.UserID, Tag.UserAttribute):
            # Self-signatures on a User ID state the primary key's flags and lifetime.
            current = primary
        elif packet.tag == Tag.Signature and current is not None:
            issuer = packet.issuer_fingerprint or packet.issuer_key_id
            if issuer is not None and issuer not in primary_ids:
                continue  # a third party's certification says nothing about usage
            if packet.signature_type in _BINDINGS:
                current.bindings.append(packet)
            elif packet.signature_type == SignatureType.SubkeyRevocation:
                current.revoked = True
    return keys


def _binding(signatures: list[Packet], now: datetime) -> Packet | None:
    """Pick the self-signature in force at now, as Sequoia does: the newest one made by then."""
    made = [s for s in signatures if _made(s) <= now]
    if not made:
        return None
    newest = max(made, key=_made)
    ends = newest.signature_expiration_time
    return newest if ends is None or ends > now else None


def _made(signature: Packet) -> datetime:
    """Return when a signature was made; one without a date counts as made in the future."""
    return signature.signature_created or datetime.max.replace(tzinfo=UTC)


def _unreadable(problem: str) -> KeyCheck:
    """Return a check for input that is not one usable public key at all."""
    return KeyCheck(armored="", fingerprint="", expires_at=None, problem=problem)


def _day(moment: datetime) -> str:
    """Format a moment as its UTC date."""
    return moment.astimezone(UTC).date().isoformat()


def _first_line(exc: BaseException) -> str:
    """Return the first line of an error message."""
    # With RUST_BACKTRACE set, pysequoia's messages go on with a whole Rust backtrace.
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
