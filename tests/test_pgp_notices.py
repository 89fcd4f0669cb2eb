"""Notices to a reporter with an OpenPGP key: the whole text and files, encrypted (RFC 3156).

Real keys made by Debian's gpg in a throwaway home; every encrypted notice is decrypted by
that gpg, from the outbox row and from what a real SMTP server received.
"""

from __future__ import annotations

import email
import email.policy
import io
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from intake import workflow
from intake.attachments import Incoming, Limits
from intake.directory import DirectoryError, load_file, parse_newsroom
from intake.directory.tables import SyncReport
from intake.extensions import db
from intake.models import Desk, OutboxEmail, Reporter, Submission
from intake.pgp import check_key
from intake.workflow import MailLimits
from tests.conftest import (
    ADMIN_TOTP,
    EXAMPLE_NEWSROOM,
    AuthActions,
    SMTPSink,
    add_staff,
    get_submission,
    make_submission,
)
from tests.test_pgp import GPGCONF, PAST, Gpg

IRYNA = "iryna.koval@example.org"
LEE = "lee.park@example.org"
SAM = "sam.okafor@example.org"
# 14:00 UTC on a November Tuesday: 16:00 in Kyiv (Iryna's shift), 09:00 in New York (Lee's),
# 14:00 in London (Sam's); Isa (22:00 in Kuala Lumpur) and Noor (06:00 in Los Angeles) are off.
ON_SHIFT = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)

SECRET = "Джерело в Херсоні: склад пального біля порту, охорона змінюється о 23:00."
PLAIN_TIP = "У Харкові знову вимкнули світло після обстрілу, люди стоять у чергах по воду."
BUSINESS_TIP = "The pipeline operator falsified the oil delivery records, a manager told me."
MIDDLE_EAST_TIP = "Aid trucks for Gaza have waited three days at the crossing without papers."
READER_AGAIN = "Маю фото складу й графік охорони, надішлю ввечері."
# A PDF with binary bytes in it: stored as sent, so the notice must carry exactly these.
PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n"
    b"% \x00\x01\xff\xfe\r\n\x1a\n"
    b"trailer << /Root 1 0 R >>\n%%EOF\n"
)


# --- gpg in a throwaway home (tests/test_pgp.py's) -----------------------------------------


@pytest.fixture(scope="module")
def gpg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gpg]:
    """Give a gpg with an empty home of its own (mode 0700); stop its agent afterwards."""
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    tool = Gpg(home)
    yield tool
    tool.run("--kill", "gpg-agent", program=GPGCONF)


@pytest.fixture(scope="module")
def keys(gpg: Gpg) -> dict[str, bytes]:
    """Make the key files reporters hand in: good ones, and ones that cannot be used."""
    iryna = gpg.generate(f"Iryna Koval <{IRYNA}>", "future-default", "default", "never")
    lee = gpg.generate(f"Lee Park <{LEE}>", "future-default", "default", "never")
    expired = gpg.generate(
        f"Iryna Koval (2019) <{IRYNA}>", "future-default", "default", "1d", at=PAST
    )
    revoked = gpg.generate(f"Iryna Koval (lost) <{IRYNA}>", "future-default", "default", "never")
    certificate = (gpg.home / "openpgp-revocs.d" / f"{revoked}.rev").read_text()
    # gpg guards the stored certificate against import with a ':' before its BEGIN line.
    gpg.run("--import", data=certificate.replace(":-----BEGIN", "-----BEGIN").encode())
    return {
        "iryna": gpg.export(iryna),
        "lee": gpg.export(lee),
        "expired": gpg.export(expired),
        "revoked": gpg.export(revoked),
        "garbage": "Це не ключ, а список покупок.\n".encode() * 20,
    }


# --- the app, the directory file, and what the outbox holds --------------------------------


@pytest.fixture
def app(mail_app: Flask) -> Flask:
    """Every app here sends through the SMTP sink, so a notice can also be delivered."""
    return mail_app


def write_directory(folder: Path, keys: Mapping[str, bytes | None]) -> Path:
    """Copy the example newsroom into folder, giving each named reporter a key file.

    `keys`: reporter slug -> the bytes of keys/<slug>.asc (None: the file is missing).
    """
    text = EXAMPLE_NEWSROOM.read_text(encoding="utf-8")
    (folder / "keys").mkdir(exist_ok=True)
    for slug, key in keys.items():
        entry = f'slug = "{slug}"\n'
        assert text.count(entry) == 1, slug
        text = text.replace(entry, f'{entry}pgp_key = "keys/{slug}.asc"\n')
        key_file = folder / "keys" / f"{slug}.asc"
        if key is None:
            key_file.unlink(missing_ok=True)
        else:
            key_file.write_bytes(key)
    path = folder / "newsroom.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(app: Flask, path: Path) -> SyncReport:
    """Load the directory file as an admin's command does."""
    with app.app_context():
        _newsroom, report = load_file(db.session, path, actor="test")
    return report


@pytest.fixture
def iryna_key(app: Flask, tmp_path: Path, keys: dict[str, bytes]) -> Path:
    """Load the example newsroom with Iryna's real public key; return the directory file."""
    path = write_directory(tmp_path, {"iryna": keys["iryna"]})
    assert load(app, path).warnings == []
    return path


@dataclass(frozen=True)
class Notice:
    """One email of the outbox, as stored."""

    subject: str
    body: str
    raw: bytes


def outbox(app: Flask, reference: str, purpose: str, recipient: str) -> Notice:
    """Return the one email of this purpose to this address about a submission."""
    with app.app_context():
        row = db.session.scalars(
            sa.select(OutboxEmail)
            .join(Submission)
            .where(
                Submission.reference == reference,
                OutboxEmail.purpose == purpose,
                OutboxEmail.recipient == recipient,
            )
        ).one()
        assert row.raw is not None
        return Notice(row.subject, row.body, row.raw)


def reporter(app: Flask, slug: str) -> Reporter:
    """Load a reporter row (its columns stay readable after the context ends)."""
    with app.app_context():
        return db.session.scalars(sa.select(Reporter).where(Reporter.slug == slug)).one()


def assignee(app: Flask, reference: str) -> str:
    """Return the slug of the reporter a submission is assigned to."""
    found = get_submission(app, reference).assignee
    assert found is not None
    return found.slug


def desk(app: Flask, reference: str) -> Desk:
    """Return the desk a submission is on."""
    found = get_submission(app, reference).desk
    assert found is not None
    return found


def parse(raw: bytes) -> EmailMessage:
    """Parse an email as a mail client would."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def words(text: str) -> list[str]:
    """Return the words of a text (four letters or more), lower-cased."""
    return [word.lower() for word in re.findall(r"[^\W\d_]{4,}", text)]


def readable(raw: bytes) -> str:
    """Return all that can be read of an email without a key: bytes, headers, decoded parts."""
    message = parse(raw)
    shown = [raw.decode("utf-8", errors="replace")]
    for part in message.walk():
        shown.extend(str(value) for value in part.values())
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            shown.append(payload.decode(part.get_content_charset() or "utf-8", errors="replace"))
    return "\n".join(shown).lower()


def assert_no_word_of(text: str, notice: Notice) -> None:
    """Assert that none of the text's words is in the clear anywhere in the notice."""
    clear = "\n".join([readable(notice.raw), notice.subject.lower(), notice.body.lower()])
    leaked = [word for word in words(text) if word in clear]
    assert leaked == []


def decrypt(gpg: Gpg, raw: bytes) -> EmailMessage:
    """Check an RFC 3156 multipart/encrypted email and decrypt its body with gpg."""
    outer = parse(raw)
    assert outer.get_content_type() == "multipart/encrypted"
    assert outer.get_param("protocol") == "application/pgp-encrypted"
    control, body = list(outer.iter_parts())
    assert control.get_content_type() == "application/pgp-encrypted"
    assert b"Version: 1" in control.get_content()
    assert body.get_content_type() == "application/octet-stream"
    ciphertext = body.get_payload(decode=True)
    assert isinstance(ciphertext, bytes)
    assert ciphertext.startswith(b"-----BEGIN PGP MESSAGE-----")
    return parse(gpg.decrypt(ciphertext))


def text_of(message: EmailMessage) -> str:
    """Return the plain-text part of a (decrypted) notice."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def assert_link_only(notice: Notice, reference: str, text: str) -> None:
    """Assert a notice is plain, carries the staff link, and no word of the text."""
    assert parse(notice.raw).get_content_type() == "text/plain"
    assert f"/staff/s/{reference}" in notice.body
    assert_no_word_of(text, notice)


def admin_page(app: Flask, client: FlaskClient, password_hash: str) -> str:
    """Sign in as the admin and return the newsroom page's text, without its markup."""
    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    AuthActions(app, client).login("admin@example.org")
    response = client.get("/staff/admin/newsroom")
    assert response.status_code == 200
    text = re.sub(r"<[^>]+>", "", response.get_data(as_text=True))
    return " ".join(unescape(text).split())


# --- 1. A sensitive tip: encrypted in the outbox and on the wire ---------------------------


def test_a_sensitive_tip_reaches_a_reporter_with_a_key_encrypted_with_its_whole_text(
    app: Flask, iryna_key: Path, gpg: Gpg
) -> None:
    reference = make_submission(app, now=ON_SHIFT, body=SECRET, sensitive=True)
    assert assignee(app, reference) == "iryna"

    notice = outbox(app, reference, "reporter_notice", IRYNA)

    assert_no_word_of(SECRET, notice)
    assert notice.body.startswith("(encrypted to the OpenPGP key ")
    assert SECRET in text_of(decrypt(gpg, notice.raw))


def test_the_encrypted_notice_is_delivered_as_stored_and_decrypts_on_arrival(
    app: Flask, iryna_key: Path, gpg: Gpg, smtp: SMTPSink, runner: FlaskCliRunner
) -> None:
    reference = make_submission(app, now=ON_SHIFT, body=SECRET, sensitive=True)

    result = runner.invoke(args=["intake", "worker", "--once"])

    assert result.exit_code == 0, result.output
    [received] = [m for m in smtp.received if m.rcpt_tos == [IRYNA]]
    assert str(received.message["Subject"]).endswith(f"({reference})")
    assert_no_word_of(SECRET, Notice(str(received.message["Subject"]), "", received.raw))
    assert SECRET in text_of(decrypt(gpg, received.raw))


# --- 2. Files ride along, encrypted --------------------------------------------------------


def test_the_encrypted_notice_carries_the_tips_file_byte_for_byte(
    app: Flask, iryna_key: Path, gpg: Gpg
) -> None:
    with app.test_request_context():
        reference = workflow.submit(
            db.session,
            workflow.NewSubmission(
                kind="tip",
                topic="russia-ukraine-war",
                subject="",
                body=SECRET,
                name="",
                email="",
                consent_contact=False,
                consent_publish=False,
                sensitive=True,
                article="",
                author_slug="",
            ),
            now=ON_SHIFT,
            files=[Incoming("Склад у порту.pdf", io.BytesIO(PDF))],
            uploads=Path(app.config["INTAKE_UPLOADS"]),
        )
    assert assignee(app, reference) == "iryna"

    notice = decrypt(gpg, outbox(app, reference, "reporter_notice", IRYNA).raw)

    [attachment] = list(notice.iter_attachments())
    assert attachment.get_filename() == "Склад у порту.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF
    assert SECRET in text_of(notice)


# --- 3. A link-only desk: the key's holder gets the text all the same ----------------------


def test_a_reporter_with_a_key_on_a_link_only_desk_gets_the_whole_text_encrypted(
    app: Flask, tmp_path: Path, keys: dict[str, bytes], gpg: Gpg
) -> None:
    assert load(app, write_directory(tmp_path, {"lee": keys["lee"]})).warnings == []
    reference = make_submission(app, now=ON_SHIFT, topic="energy-markets", body=BUSINESS_TIP)
    assert desk(app, reference).slug == "business"
    assert assignee(app, reference) == "lee"

    notice = outbox(app, reference, "reporter_notice", LEE)

    assert_no_word_of(BUSINESS_TIP, notice)
    assert BUSINESS_TIP in text_of(decrypt(gpg, notice.raw))


# --- 4. Without a key, nothing changes -----------------------------------------------------


@pytest.mark.parametrize(("sensitive", "text_shown"), [(False, True), (True, False)])
def test_a_reporter_without_a_key_gets_the_notices_as_before(
    app: Flask, iryna_key: Path, sensitive: bool, text_shown: bool
) -> None:
    reference = make_submission(
        app, now=ON_SHIFT, topic="middle-east", body=MIDDLE_EAST_TIP, sensitive=sensitive
    )
    assert assignee(app, reference) == "sam"

    notice = outbox(app, reference, "reporter_notice", SAM)

    assert parse(notice.raw).get_content_type() == "text/plain"
    assert "encrypted" not in notice.body
    if text_shown:
        assert MIDDLE_EAST_TIP in notice.body
        assert all(word in readable(notice.raw) for word in words(MIDDLE_EAST_TIP))
        assert MIDDLE_EAST_TIP in text_of(parse(notice.raw))
    else:
        assert "marked this tip as sensitive" in notice.body
        assert_no_word_of(MIDDLE_EAST_TIP, notice)


# --- 5. A key that cannot be used: loaded with a warning, notices link-only -----------------

UNUSABLE = [
    pytest.param("expired", "the key expired on 2020-01-02", id="expired"),
    pytest.param("revoked", "the key is revoked", id="revoked"),
    pytest.param("garbage", "the file holds no OpenPGP public key", id="not a key"),
    pytest.param(None, "No such file or directory", id="missing file"),
]


@pytest.mark.parametrize(("case", "problem"), UNUSABLE)
def test_an_unusable_key_loads_with_a_warning_on_the_command_line(
    app: Flask,
    runner: FlaskCliRunner,
    tmp_path: Path,
    keys: dict[str, bytes],
    case: str | None,
    problem: str,
) -> None:
    path = write_directory(tmp_path, {"iryna": keys[case] if case else None})

    result = runner.invoke(args=["intake", "load-newsroom", str(path)])

    assert result.exit_code == 0, result.output
    [warning] = [line for line in result.stderr.splitlines() if "pgp_key" in line]
    assert warning.startswith("warning: reporter 'iryna': pgp_key keys/iryna.asc: ")
    assert problem in warning
    loaded = reporter(app, "iryna")
    assert loaded.pgp_key == "keys/iryna.asc"
    assert problem in loaded.pgp_problem
    assert loaded.pgp_cert == ""


@pytest.mark.parametrize(("case", "problem"), UNUSABLE)
def test_an_unusable_key_is_shown_to_the_admin(
    app: Flask,
    client: FlaskClient,
    password_hash: str,
    tmp_path: Path,
    keys: dict[str, bytes],
    case: str | None,
    problem: str,
) -> None:
    report = load(app, write_directory(tmp_path, {"iryna": keys[case] if case else None}))
    assert len(report.warnings) == 1 and problem in report.warnings[0]

    page = admin_page(app, client, password_hash)

    assert "The OpenPGP key of Iryna Koval (keys/iryna.asc) cannot be used: " in page
    assert problem in page


@pytest.mark.parametrize(("case", "problem"), UNUSABLE)
def test_with_an_unusable_key_a_full_text_desks_notice_is_link_only(
    app: Flask, tmp_path: Path, keys: dict[str, bytes], case: str | None, problem: str
) -> None:
    load(app, write_directory(tmp_path, {"iryna": keys[case] if case else None}))
    reference = make_submission(app, now=ON_SHIFT, body=PLAIN_TIP)
    assert desk(app, reference).email_content == "full"
    assert assignee(app, reference) == "iryna"

    notice = outbox(app, reference, "reporter_notice", IRYNA)
    assert_link_only(notice, reference, PLAIN_TIP)
    # World carries the text: the reason it is missing is the key, not the desk.
    assert "This desk receives references only" not in notice.body


# --- 6. A key that goes bad after it was loaded ---------------------------------------------


@pytest.mark.parametrize(
    ("case", "problem"),
    [("expired", "the key expired on 2020-01-02"), ("revoked", "the key is revoked")],
)
def test_a_key_that_went_bad_since_loading_makes_the_next_notice_link_only(
    app: Flask,
    iryna_key: Path,
    client: FlaskClient,
    password_hash: str,
    keys: dict[str, bytes],
    case: str,
    problem: str,
) -> None:
    with app.app_context():
        # As if the key, usable when loaded, expired or was revoked since.
        row = db.session.scalars(sa.select(Reporter).where(Reporter.slug == "iryna")).one()
        row.pgp_cert = check_key(keys[case], datetime.now(UTC)).armored
        db.session.commit()

    reference = make_submission(app, now=ON_SHIFT, body=PLAIN_TIP)

    assert assignee(app, reference) == "iryna"
    assert_link_only(outbox(app, reference, "reporter_notice", IRYNA), reference, PLAIN_TIP)
    assert reporter(app, "iryna").pgp_problem == problem
    assert reporter(app, "iryna").pgp_cert == ""
    assert f"The OpenPGP key of Iryna Koval (keys/iryna.asc) cannot be used: {problem}" in (
        admin_page(app, client, password_hash)
    )
    later = make_submission(app, now=ON_SHIFT, body=PLAIN_TIP)
    assert_link_only(outbox(app, later, "reporter_notice", IRYNA), later, PLAIN_TIP)


# --- 7. The reader writes again -------------------------------------------------------------


def reader_writes_on_the_followup_page(app: Flask, reference: str) -> None:
    with app.test_request_context(), app.app_context():
        submission = db.session.scalars(
            sa.select(Submission).where(Submission.reference == reference)
        ).one()
        workflow.followup_message(
            db.session,
            submission,
            READER_AGAIN,
            [],
            Path(app.config["INTAKE_UPLOADS"]),
            Limits(),
        )


def reader_writes_by_mail(app: Flask, reference: str) -> None:
    message = EmailMessage()
    message["From"] = "Олена <olena@example.net>"
    message["To"] = "tips@example.org"
    message["Subject"] = f"Ще про склад ({reference})"
    message["Message-ID"] = make_msgid(domain="example.net")
    message.set_content(READER_AGAIN)
    with app.test_request_context(), app.app_context():
        taken = workflow.take_mail(
            db.session,
            message.as_bytes(),
            str(app.secret_key),
            Path(app.config["INTAKE_UPLOADS"]),
            MailLimits.from_config(app.config),
        )
    assert (taken.outcome, taken.reference) == ("reply", reference)


@pytest.mark.parametrize("writes", [reader_writes_on_the_followup_page, reader_writes_by_mail])
def test_the_readers_new_message_reaches_a_reporter_with_a_key_encrypted(
    app: Flask, iryna_key: Path, gpg: Gpg, writes: Callable[[Flask, str], None]
) -> None:
    reference = make_submission(
        app,
        now=ON_SHIFT,
        body=SECRET,
        sensitive=True,
        email="olena@example.net",
        consent_contact=True,
    )
    assert assignee(app, reference) == "iryna"

    writes(app, reference)

    notice = outbox(app, reference, "reader_replied", IRYNA)
    assert_no_word_of(READER_AGAIN, notice)
    assert READER_AGAIN in text_of(decrypt(gpg, notice.raw))


# --- 8. Taking the key out of the file ------------------------------------------------------


@pytest.mark.parametrize("case", ["iryna", "expired"])
def test_removing_the_key_from_the_file_puts_the_notices_back_to_normal(
    app: Flask, tmp_path: Path, keys: dict[str, bytes], case: str
) -> None:
    load(app, write_directory(tmp_path, {"iryna": keys[case]}))
    assert reporter(app, "iryna").pgp_key == "keys/iryna.asc"

    assert load(app, write_directory(tmp_path, {})).warnings == []

    loaded = reporter(app, "iryna")
    assert (loaded.pgp_key, loaded.pgp_cert, loaded.pgp_fingerprint, loaded.pgp_problem) == (
        "",
        "",
        "",
        "",
    )
    plain = make_submission(app, now=ON_SHIFT, body=PLAIN_TIP)
    notice = outbox(app, plain, "reporter_notice", IRYNA)
    assert parse(notice.raw).get_content_type() == "text/plain"
    assert PLAIN_TIP in notice.body
    sensitive = make_submission(app, now=ON_SHIFT, body=SECRET, sensitive=True)
    assert_link_only(outbox(app, sensitive, "reporter_notice", IRYNA), sensitive, SECRET)


# --- A problem that names a long path -------------------------------------------------------


def test_a_missing_key_at_a_long_path_still_loads_with_a_warning_that_fits_its_column(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    # The directory allows key paths of up to 500 characters; the problem names the path.
    long_path = "keys/" + "/".join(["world-desk-reporters-public-keys"] * 13) + "/iryna.asc"
    assert len(long_path) <= 500
    text = EXAMPLE_NEWSROOM.read_text(encoding="utf-8").replace(
        'slug = "iryna"\n', f'slug = "iryna"\npgp_key = "{long_path}"\n'
    )
    path = tmp_path / "newsroom.toml"
    path.write_text(text, encoding="utf-8")

    result = runner.invoke(args=["intake", "load-newsroom", str(path)])

    assert result.exit_code == 0, result.output
    assert "No such file or directory" in result.stderr
    problem = reporter(app, "iryna").pgp_problem
    assert "No such file or directory" in problem
    # It fits its column: PostgreSQL refuses a longer value, and the whole load with it.
    column = Reporter.__table__.c.pgp_problem.type
    assert isinstance(column, sa.String) and column.length is not None
    assert len(problem) <= column.length


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.asc", "keys/../../outside.asc"])
def test_a_key_path_out_of_the_directorys_folder_refuses_the_file(path: str) -> None:
    text = EXAMPLE_NEWSROOM.read_text(encoding="utf-8").replace(
        'slug = "iryna"\n', f'slug = "iryna"\npgp_key = "{path}"\n'
    )
    with pytest.raises(DirectoryError, match="pgp_key: must be a path inside"):
        parse_newsroom(text)


def test_a_key_that_links_out_of_the_folder_is_not_read(
    app: Flask, tmp_path: Path, keys: dict[str, bytes]
) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside.asc"
    outside.write_bytes(keys["iryna"])
    path = write_directory(tmp_path, {"iryna": None})
    (tmp_path / "keys" / "iryna.asc").symlink_to(outside)
    [warning] = load(app, path).warnings
    assert "leads out of the folder" in warning
    assert reporter(app, "iryna").pgp_cert == ""


def test_a_fifo_as_a_key_does_not_hang_the_load(app: Flask, tmp_path: Path) -> None:
    path = write_directory(tmp_path, {"iryna": None})
    os.mkfifo(tmp_path / "keys" / "iryna.asc")
    [warning] = load(app, path).warnings  # returns at once: nobody writes to the FIFO
    assert "not a regular file" in warning


def test_a_key_path_naming_a_folder_loads_with_a_warning(app: Flask, tmp_path: Path) -> None:
    path = write_directory(tmp_path, {"iryna": None})
    path.write_text(
        path.read_text(encoding="utf-8").replace('"keys/iryna.asc"', '"keys"'), encoding="utf-8"
    )
    [warning] = load(app, path).warnings
    assert "not a regular file" in warning


def test_a_key_path_with_a_line_break_refuses_the_file() -> None:
    text = EXAMPLE_NEWSROOM.read_text(encoding="utf-8").replace(
        'slug = "iryna"\n', 'slug = "iryna"\npgp_key = "keys/a\\nWARNING forged"\n'
    )
    with pytest.raises(DirectoryError, match="pgp_key"):
        parse_newsroom(text)
