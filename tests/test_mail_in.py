"""Mail into intake through `receive-mail` (an MTA pipe): what each kind of email becomes."""

from __future__ import annotations

import io
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from PIL import Image

from intake.extensions import db
from intake.models import Attachment, Event, InboundMessage, OutboxEmail, Submission
from tests.conftest import (
    ADMIN_TOTP,
    STAFF,
    AuthActions,
    SMTPSink,
    add_staff,
    get_submission,
    make_submission,
)

READER = "olena@example.org"
UKRAINIAN_REPLY = "Так, фото маю. Надішлю сьогодні ввечері, коли буде світло."
QUOTED = (
    "\n\nПн, 1 груд. 2026 р. о 10:00 World News <worldnews@example.org> пише:\n"
    "> Дякуємо! Чи можете надіслати фото?\n"
)


def receive(app: Flask, raw: bytes) -> tuple[int, str]:
    """Pipe one message into `flask intake receive-mail`; return its exit code and stderr."""
    result = app.test_cli_runner().invoke(args=["intake", "receive-mail"], input=raw)
    return result.exit_code, result.output


def email(
    body: str,
    *,
    sender: str = READER,
    subject: str = "Re: your tip",
    in_reply_to: str = "",
    headers: dict[str, str] | None = None,
    photo: bytes | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = f"Olena <{sender}>"
    message["To"] = "tips@example.org"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mail.example.net")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if photo is not None:
        message.add_attachment(photo, maintype="image", subtype="jpeg", filename="photo.jpg")
    return message.as_bytes()


def sent_to_reader(app: Flask, reference: str) -> OutboxEmail:
    """Return the receipt we queued for the reader of a submission."""
    with app.app_context():
        row = db.session.scalars(
            sa.select(OutboxEmail)
            .join(Submission)
            .where(Submission.reference == reference, OutboxEmail.purpose == "reader_ack")
        ).one()
        db.session.expunge(row)
        return row


def events(app: Flask, reference: str, kind: str) -> list[Event]:
    return [e for e in get_submission(app, reference).events if e.kind == kind]


def count(app: Flask, model: type[Submission] | type[InboundMessage]) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


@pytest.fixture
def reference(app: Flask) -> str:
    """A Ukrainian tip from a reader who left an address and agreed to be contacted."""
    return make_submission(
        app, email=READER, consent_contact=True, locale="uk", author_slug="iryna"
    )


def test_a_reply_with_our_token_joins_its_thread_without_the_quote(
    app: Flask, reference: str
) -> None:
    receipt = sent_to_reader(app, reference)
    status, _ = receive(app, email(UKRAINIAN_REPLY + QUOTED, in_reply_to=receipt.message_id))
    assert status == 0
    [message] = events(app, reference, "reader_message")
    assert message.detail == UKRAINIAN_REPLY
    assert get_submission(app, reference).reader_replied_at is not None
    notices = events(app, reference, "emailed")
    assert "notice of the reader's message" in notices[-1].detail
    assert count(app, Submission) == 1


def test_the_same_message_twice_is_taken_once(app: Flask, reference: str) -> None:
    raw = email(UKRAINIAN_REPLY, in_reply_to=sent_to_reader(app, reference).message_id)
    assert receive(app, raw)[0] == 0
    assert receive(app, raw)[0] == 0
    assert len(events(app, reference, "reader_message")) == 1
    assert count(app, InboundMessage) == 1


@pytest.mark.parametrize(
    "forge",
    [
        lambda real: real.replace(real[3:7], "0000"),  # another nonce, same signature
        lambda real: real[:-30] + "0" * 8 + real[-22:],  # a changed signature
        lambda real: "<t.0123456789abcdef.0123456789abcdef01234567@example.org>",
    ],
    ids=["nonce", "signature", "made up"],
)
def test_a_forged_token_opens_no_thread(app: Flask, reference: str, forge: object) -> None:
    real = sent_to_reader(app, reference).message_id
    forged = forge(real)  # type: ignore[operator]
    assert forged != real
    status, said = receive(app, email("Let me into that thread.", in_reply_to=forged))
    assert status == 0 and said.startswith("new ")
    assert events(app, reference, "reader_message") == []
    assert count(app, Submission) == 2


def test_the_reference_in_the_subject_works_only_from_the_readers_address(
    app: Flask, reference: str
) -> None:
    stranger = email("I know this one too.", sender="mallory@example.com", subject=reference)
    assert receive(app, stranger)[1].startswith("new ")
    assert events(app, reference, "reader_message") == []
    same = email("More detail from me.", subject=f"Re: {reference.lower()}")
    assert receive(app, same)[1].startswith("reply ")
    assert [e.detail for e in events(app, reference, "reader_message")] == ["More detail from me."]


def test_anything_else_becomes_a_new_tip_routed_and_acknowledged(app: Flask) -> None:
    raw = email(
        "У Харкові знову обстріл, світла немає з ранку, люди стоять у чергах.",
        sender="petro@example.net",
        subject="Новини з Харкова",
    )
    status, said = receive(app, raw)
    assert status == 0
    new_reference = said.split()[1]
    submission = get_submission(app, new_reference)
    assert (submission.email, submission.consent_contact) == ("petro@example.net", True)
    assert submission.language == "uk" and submission.locale == "uk"
    assert submission.subject == "Новини з Харкова"
    with app.app_context():
        receipt = db.session.scalars(
            sa.select(OutboxEmail).where(
                OutboxEmail.submission_id == submission.id, OutboxEmail.purpose == "reader_ack"
            )
        ).one()
    assert receipt.recipient == "petro@example.net"
    assert new_reference in receipt.subject and "Ми отримали" in receipt.subject


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"X-Autoreply": "yes"},
        {"List-Id": "<news.lists.example.org>"},
    ],
)
def test_automatic_mail_is_ignored(app: Flask, headers: dict[str, str]) -> None:
    status, said = receive(app, email("I am out of the office until Monday.", headers=headers))
    assert (status, said.strip()) == (0, "ignored")
    assert count(app, Submission) == 0


def test_our_own_email_coming_back_is_ignored(app: Flask, reference: str) -> None:
    receipt = sent_to_reader(app, reference)
    assert receipt.raw is not None
    assert receive(app, receipt.raw)[1].strip() == "ignored"
    assert count(app, Submission) == 1


def bounce_for(original: bytes) -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes one, for our email."""
    headers = original.split(b"\r\n\r\n", 1)[0].decode()
    return (
        "From: MAILER-DAEMON@mail.example.net (Mail Delivery System)\r\n"
        "To: tips@example.org\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {make_msgid(domain='mail.example.net')}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\n"
        "This is the mail system. Your message could not be delivered.\r\n"
        "\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mail.example.net\r\n\r\n"
        "Final-Recipient: rfc822; olena@example.org\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 No such user\r\n"
        "\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"{headers}\r\n"
        "\r\n--B--\r\n"
    ).encode()


def test_a_bounce_marks_our_email_failed_with_its_status(app: Flask, reference: str) -> None:
    receipt = sent_to_reader(app, reference)
    assert receipt.raw is not None
    status, said = receive(app, bounce_for(receipt.raw))
    assert (status, said.strip()) == (0, f"bounce {reference}")
    with app.app_context():
        row = db.session.get(OutboxEmail, receipt.id)
        assert row is not None
        assert row.state == "failed" and row.last_error.startswith("bounced: 5.1.1")
    [failed] = events(app, reference, "delivery_failed")
    assert "bounced (5.1.1)" in failed.detail and "@" not in failed.detail


def test_a_reporters_reply_to_a_notice_is_an_internal_note(app: Flask, reference: str) -> None:
    with app.app_context():
        notice = db.session.scalars(
            sa.select(OutboxEmail).where(OutboxEmail.purpose == "reporter_notice")
        ).one()
    raw = email(
        "Checked with the city council: the cut is planned.",
        sender="iryna.koval@example.org",
        in_reply_to=notice.message_id,
    )
    assert receive(app, raw)[1].startswith("note ")
    [note] = events(app, reference, "note")
    assert note.detail.startswith("Checked with the city council")
    assert events(app, reference, "reader_message") == []
    with app.app_context():
        purposes = set(db.session.scalars(sa.select(OutboxEmail.purpose)))
    assert "reply" not in purposes  # never sent on to the reader


def exif_photo() -> bytes:
    image = Image.new("RGB", (16, 16), "red")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_a_photo_in_a_reply_is_cleaned_like_a_form_upload(app: Flask, reference: str) -> None:
    raw = email(
        UKRAINIAN_REPLY, in_reply_to=sent_to_reader(app, reference).message_id, photo=exif_photo()
    )
    assert receive(app, raw)[0] == 0
    with app.app_context():
        [stored] = db.session.scalars(sa.select(Attachment)).all()
        assert stored.cleaned and "EXIF" in stored.note
        data = (Path(app.config["INTAKE_UPLOADS"]) / stored.stored_name).read_bytes()
    assert b"PhoneMaker" not in data


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"not an email at all", "no headers"),
    ],
)
def test_what_cannot_be_read_is_refused_with_a_reason(app: Flask, raw: bytes, reason: str) -> None:
    status, said = receive(app, raw)
    assert status == 65 and reason in said


def test_a_message_larger_than_the_form_allows_is_refused(app: Flask) -> None:
    app.config["INTAKE_MAX_TOTAL_MB"] = 1
    status, said = receive(app, email("x" * 10, photo=b"\xff\xd8" + b"0" * 2_000_000))
    assert status == 65 and "larger than" in said
    assert count(app, Submission) == 0


def test_a_database_that_is_away_means_try_again_later(app: Flask) -> None:
    with app.app_context():
        db.session.execute(sa.text("DROP TABLE inbound_messages"))
        db.session.commit()
    status, said = receive(app, email("Anyone there?"))
    assert status == 75 and "try again later" in said


def test_a_staff_action_clears_the_reader_replied_mark(
    app: Flask, reference: str, staff: dict[str, str]
) -> None:
    receive(app, email("More.", in_reply_to=sent_to_reader(app, reference).message_id))
    client = app.test_client()
    AuthActions(app, client).login(staff["editor"])
    assert "reader replied" in client.get("/staff/").get_data(as_text=True)
    version = str(get_submission(app, reference).version)
    client.post(f"/staff/s/{reference}/note", data={"text": "Seen.", "version": version})
    assert get_submission(app, reference).reader_replied_at is None


def test_the_reply_email_threads_and_asks_to_write_above_the_line(
    mail_app: Flask, smtp: SMTPSink, password_hash: str
) -> None:
    add_staff(mail_app, password_hash, admin_totp=ADMIN_TOTP)
    ref = make_submission(mail_app, email=READER, consent_contact=True, locale="uk")
    client = mail_app.test_client()
    AuthActions(mail_app, client).login(STAFF["editor"][0])
    version = str(get_submission(mail_app, ref).version)
    client.post(f"/staff/s/{ref}/reply", data={"text": "Дякуємо!", "version": version})
    mail_app.test_cli_runner().invoke(args=["intake", "worker", "--once"])
    [reply] = [m for m in smtp.received if "Дякуємо!" in m.text()]
    assert reply.message["Auto-Submitted"] is None  # a person wrote it
    assert reply.message["Subject"] == f"Про ваше повідомлення ({ref})"
    assert reply.text().startswith("-- Напишіть відповідь над цим рядком --")
    assert reply.message["Reply-To"] == "tips@example.org"
    assert reply.message["Message-ID"].strip().startswith("<t.")


@pytest.mark.parametrize("locale", ["en", "ru", "uk"])
def test_our_replies_carry_the_separator_the_stripper_cuts_at(app: Flask, locale: str) -> None:
    from intake.mailin.quotes import SEPARATORS

    template = Path(app.root_path) / "templates" / "email" / f"reply.{locale}.txt"
    first_line = template.read_text(encoding="utf-8").splitlines()[0]
    assert first_line in SEPARATORS


def test_an_erased_conversation_takes_no_more_mail(app: Flask, reference: str) -> None:
    receipt = sent_to_reader(app, reference)
    assert (
        app.test_cli_runner().invoke(args=["intake", "purge", "--reference", reference]).exit_code
        == 0
    )
    status, said = receive(app, email("Is anyone there?", in_reply_to=receipt.message_id))
    assert status == 0 and said.startswith("new ")
    assert events(app, reference, "reader_message") == []
    assert get_submission(app, reference).reader_replied_at is None


def test_control_characters_in_ids_do_not_stop_the_door(app: Flask) -> None:
    raw = email("A tip with a broken header, long enough to keep.").replace(
        b"Message-ID: <", b"Message-ID: <\x00"
    )
    raw = raw.replace(b"Subject:", b"References: <a\x00b@example.net>\nSubject:", 1)
    status, _said = receive(app, raw)
    assert status == 0
    assert count(app, Submission) == 1
