"""Reporters' OpenPGP keys: real keys from Debian's gpg are checked, and notices decrypt in gpg."""

from __future__ import annotations

import email
import email.policy
import hashlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pysequoia
import pytest
from pysequoia import Cert

from intake.pgp import MAX_KEY_BYTES, check_key, encrypt_mime, read_key, recheck

GPG = "/usr/bin/gpg"
GPGCONF = "/usr/bin/gpgconf"
IRYNA = "Iryna Koval <iryna@example.org>"
TEXT = "Джерело в Херсоні: склад пального біля порту.\n"
ATTACHMENT = b"\x00\x01\r\n\xff\xfe\r\x1a" + bytes(range(256))
# gpg's faked clock: keys made then with a one-day lifetime are long expired.
PAST = "20200101T000000!"


@dataclass(frozen=True)
class Gpg:
    """Debian's gpg, confined to a throwaway home."""

    home: Path

    @property
    def env(self) -> dict[str, str]:
        """Return an environment that keeps gpg away from the machine's own keyring."""
        return {"GNUPGHOME": str(self.home), "HOME": str(self.home), "PATH": "/usr/bin:/bin"}

    def run(self, *args: str, data: bytes = b"", program: str = GPG) -> bytes:
        """Run gpg in batch mode and return its output."""
        batch = ("--batch", "--pinentry-mode", "loopback", "--passphrase", "")
        command = [program, *(batch if program == GPG else ()), *args]
        result = subprocess.run(  # noqa: S603 - Debian's gpg, arguments from this file
            command, input=data, capture_output=True, env=self.env, timeout=60, check=False
        )
        if result.returncode != 0:
            raise AssertionError(f"{command} failed: {result.stderr.decode(errors='replace')}")
        return result.stdout

    def generate(self, user_id: str, *spec: str, at: str | None = None) -> str:
        """Make a key without passphrase and return its fingerprint, upper-case as gpg names it."""
        clock = ("--faked-system-time", at) if at else ()
        self.run(*clock, "--quick-gen-key", user_id, *spec)
        return self.fingerprint(user_id)

    def fingerprint(self, user_id: str) -> str:
        """Return the fingerprint of the primary key of the one key with this user ID."""
        listing = self.run("--with-colons", "--list-keys", f"={user_id}").decode()
        return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))

    def export(self, fingerprint: str) -> bytes:
        """Return the armored public key."""
        return self.run("--armor", "--export", fingerprint)

    def decrypt(self, ciphertext: bytes) -> bytes:
        """Decrypt with the secret keys of this home, as the reporter's mail client would."""
        return self.run("--decrypt", data=ciphertext)


@pytest.fixture(scope="module")
def gpg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gpg]:
    """Give a gpg with an empty home of its own; stop its agent afterwards."""
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    tool = Gpg(home)
    yield tool
    tool.run("--kill", "gpg-agent", program=GPGCONF)


@pytest.fixture(scope="module")
def keys(gpg: Gpg) -> dict[str, bytes]:
    """Make each kind of key file a reporter or an admin might hand in."""
    good = gpg.generate(IRYNA, "default", "default", "never")

    expired = gpg.generate("Old <old@example.org>", "future-default", "default", "1d", at=PAST)

    revoked = gpg.generate("Revoked <revoked@example.org>", "future-default", "default", "never")
    certificate = (gpg.home / "openpgp-revocs.d" / f"{revoked}.rev").read_text()
    # gpg guards the stored certificate against import with a ':' before its BEGIN line.
    gpg.run("--import", data=certificate.replace(":-----BEGIN", "-----BEGIN").encode())

    sign_only = gpg.generate("Signer <signer@example.org>", "ed25519", "sign", "never")

    # The primary key must predate its subkey, so both are made on the faked clock.
    old_subkey = gpg.generate("Stale <stale@example.org>", "ed25519", "sign", "never", at=PAST)
    gpg.run(
        "--faked-system-time", "20200101T000001!", "--quick-add-key", old_subkey, "cv25519",
        "encr", "1d",
    )  # fmt: skip

    cut_subkey = gpg.generate("Cut <cut@example.org>", "future-default", "default", "never")
    revoke_first_subkey = b"key 1\nrevkey\ny\n0\n\ny\nsave\n"
    gpg.run("--command-fd", "0", "--edit-key", cut_subkey, data=revoke_first_subkey)

    garbage = b"".join(hashlib.sha256(bytes([n])).digest() for n in range(32))
    return {
        "good": gpg.export(good),
        "expired": gpg.export(expired),
        "revoked": gpg.export(revoked),
        "sign-only": gpg.export(sign_only),
        "encryption subkey expired": gpg.export(old_subkey),
        "encryption subkey revoked": gpg.export(cut_subkey),
        "two keys": gpg.export(good) + gpg.export(sign_only),
        "secret key": gpg.run("--armor", "--export-secret-keys", good),
        "secret key, binary": gpg.run("--export-secret-keys", good),
        "garbage": garbage,
        "empty": b"",
        "too big": b"A" * (MAX_KEY_BYTES + 1),
    }


def now() -> datetime:
    """Return the present moment in UTC."""
    return datetime.now(UTC)


def test_a_good_key_is_usable_with_its_lowercase_fingerprint(
    gpg: Gpg, keys: dict[str, bytes]
) -> None:
    check = check_key(keys["good"], now())
    assert check.usable
    assert check.problem == ""
    assert check.fingerprint == gpg.fingerprint(IRYNA).lower()
    assert check.expires_at is None


def test_a_good_key_is_kept_as_an_armored_public_key(keys: dict[str, bytes]) -> None:
    armored = check_key(keys["good"], now()).armored
    assert armored.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert recheck(armored, now()).usable


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        ("expired", "the key expired on 2020-01-02"),
        ("revoked", "the key is revoked"),
        ("sign-only", "the key has no subkey that can encrypt"),
        ("encryption subkey expired", "the key's encryption subkey expired on 2020-01-02"),
        ("encryption subkey revoked", "the key's encryption subkey is revoked"),
        ("two keys", "the file holds 2 keys; give exactly one"),
        ("secret key", "a private key must never be given to intake"),
        ("secret key, binary", "a private key must never be given to intake"),
        ("garbage", "the file holds no OpenPGP public key"),
        ("empty", "the file holds no OpenPGP public key"),
        ("too big", "larger than 1 MiB"),
    ],
)
def test_an_unusable_key_file_gives_a_problem_and_does_not_raise(
    keys: dict[str, bytes], case: str, problem: str
) -> None:
    check = check_key(keys[case], now())
    assert not check.usable
    assert problem in check.problem


@pytest.mark.parametrize("case", ["secret key", "secret key, binary"])
def test_a_secret_key_is_not_kept_in_any_form(keys: dict[str, bytes], case: str) -> None:
    check = check_key(keys[case], now())
    assert check.armored == ""
    assert check.fingerprint == ""


def test_expires_at_is_the_primary_keys_expiry_in_utc(keys: dict[str, bytes]) -> None:
    assert check_key(keys["expired"], now()).expires_at == datetime(2020, 1, 2, tzinfo=UTC)


def test_recheck_judges_a_stored_key_at_the_time_given(keys: dict[str, bytes]) -> None:
    armored = check_key(keys["expired"], now()).armored
    assert recheck(armored, datetime(2020, 1, 1, 12, tzinfo=UTC)).usable
    assert recheck(armored, datetime(2020, 1, 2, tzinfo=UTC)).problem == (
        "the key expired on 2020-01-02"
    )


def test_read_key_checks_the_file(tmp_path: Path, keys: dict[str, bytes]) -> None:
    path = tmp_path / "iryna.asc"
    path.write_bytes(keys["good"])
    assert read_key(path, now()) == check_key(keys["good"], now())


def test_read_key_of_a_missing_file_names_the_path() -> None:
    check = read_key(Path("keys/missing.asc"), now())
    assert check.problem == "cannot read keys/missing.asc: No such file or directory"
    assert check.armored == ""


@pytest.mark.parametrize("case", ["expired", "revoked", "encryption subkey expired"])
def test_pysequoia_alone_would_encrypt_to_a_key_intake_refuses(
    keys: dict[str, bytes], case: str
) -> None:
    # Why intake checks for itself: if this starts failing, pysequoia began refusing such keys.
    assert pysequoia.encrypt(b"probe", [Cert.from_bytes(keys[case])])
    assert not check_key(keys[case], now()).usable


def inner_notice() -> EmailMessage:
    """Build a notice as the caller does: Ukrainian text and a binary attachment."""
    inner = EmailMessage()
    inner.set_content(TEXT)
    inner.add_attachment(
        ATTACHMENT, maintype="application", subtype="octet-stream", filename="map.bin"
    )
    return inner


def test_encrypt_mime_builds_an_rfc_3156_entity_without_address_headers(
    keys: dict[str, bytes],
) -> None:
    outer = encrypt_mime(inner_notice(), check_key(keys["good"], now()).armored)
    control, body = outer.iter_parts()
    assert outer.get_content_type() == "multipart/encrypted"
    assert outer.get_param("protocol") == "application/pgp-encrypted"
    assert outer["From"] is None and outer["To"] is None and outer["Subject"] is None
    assert control.get_content_type() == "application/pgp-encrypted"
    assert control.get_content().strip() == b"Version: 1"
    assert body.get_content_type() == "application/octet-stream"
    assert body.get_param("name") == "encrypted.asc"
    assert body.get_content_disposition() == "inline"
    assert body.get_filename() == "encrypted.asc"
    assert body.get_content().startswith(b"-----BEGIN PGP MESSAGE-----")


def test_a_notice_encrypted_by_intake_decrypts_in_gpg_byte_exact(
    gpg: Gpg, keys: dict[str, bytes]
) -> None:
    inner = inner_notice()
    outer = encrypt_mime(inner, check_key(keys["good"], now()).armored)
    outer["From"] = "Newsroom <tips@newsroom.example>"
    outer["To"] = IRYNA
    outer["Subject"] = "Ваше повідомлення"
    sent = email.message_from_bytes(
        outer.as_bytes(policy=email.policy.SMTP), policy=email.policy.default
    )
    assert isinstance(sent, EmailMessage)
    assert sent.get_content_type() == "multipart/encrypted"
    encrypted = list(sent.iter_parts())[1].get_payload(decode=True)
    assert isinstance(encrypted, bytes)

    plaintext = gpg.run("--decrypt", data=encrypted)

    assert plaintext == inner.as_bytes(policy=email.policy.SMTP)
    notice = email.message_from_bytes(plaintext, policy=email.policy.default)
    assert isinstance(notice, EmailMessage)
    text, attachment = notice.iter_parts()
    assert isinstance(text, EmailMessage) and isinstance(attachment, EmailMessage)
    assert text.get_content() == TEXT
    assert attachment.get_filename() == "map.bin"
    assert attachment.get_content() == ATTACHMENT


@pytest.mark.parametrize("case", ["expired", "revoked", "sign-only", "encryption subkey expired"])
def test_encrypt_mime_raises_value_error_for_a_key_that_cannot_encrypt(
    keys: dict[str, bytes], case: str
) -> None:
    armored = check_key(keys[case], now()).armored
    with pytest.raises(ValueError, match="the key"):
        encrypt_mime(inner_notice(), armored)


def test_encrypt_mime_raises_value_error_for_stored_text_that_is_no_key() -> None:
    with pytest.raises(ValueError, match="no OpenPGP public key"):
        encrypt_mime(inner_notice(), "not a key")
