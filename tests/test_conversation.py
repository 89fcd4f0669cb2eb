"""The conversation, end to end: a reporter writes from intake, the reader's mail client
answers into a real IMAP mailbox (Dovecot), and `fetch-mail` puts only the new text in."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
import sqlalchemy as sa
from flask import Flask

from intake.extensions import db
from intake.models import OutboxEmail
from tests.conftest import (
    ADMIN_TOTP,
    STAFF,
    AuthActions,
    SMTPSink,
    add_staff,
    get_submission,
    valid_form,
)
from tests.dovecot import Dovecot, running_dovecot

READER = "olena@example.org"
ANSWER = "Так, фото маю. Надішлю сьогодні ввечері, коли дадуть світло."


@pytest.fixture
def mailbox() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


def read_from(app: Flask, mailbox: Dovecot) -> None:
    """Point fetch-mail at the test's Dovecot (no TLS on loopback)."""
    app.config.update(
        INTAKE_IMAP_HOST=mailbox.host,
        INTAKE_IMAP_PORT=mailbox.port,
        INTAKE_IMAP_USER=mailbox.user,
        INTAKE_IMAP_PASSWORD=mailbox.password,
        INTAKE_IMAP_TLS=False,
    )


def answer_in_ukrainian_style(sent: bytes, text: str) -> bytes:
    """Write the reader's answer as a Ukrainian webmail does: new text, then the quote."""
    original = message_from_bytes(sent, policy=policy.default)
    body = original.get_body(preferencelist=("plain",))
    assert body is not None
    quoted = "\n".join("> " + line for line in str(body.get_content()).splitlines())
    message = EmailMessage()
    message["From"] = f"Олена <{READER}>"
    message["To"] = str(original["Reply-To"])
    message["Subject"] = "Re: " + str(original["Subject"])
    message["Message-ID"] = make_msgid(domain="ukr.net")
    message["In-Reply-To"] = str(original["Message-ID"]).strip()
    message["References"] = str(original["Message-ID"]).strip()
    header = "Пн, 1 груд. 2026 р. о 10:00 World News <worldnews@example.org> пише:"
    message.set_content(f"{text}\n\n{header}\n{quoted}\n")
    return message.as_bytes()


def test_a_ukrainian_reader_answers_a_reply_by_email(
    mail_app: Flask, smtp: SMTPSink, mailbox: Dovecot, password_hash: str
) -> None:
    read_from(mail_app, mailbox)
    add_staff(mail_app, password_hash, admin_totp=ADMIN_TOTP)
    reader = mail_app.test_client()
    form = valid_form(
        body="У Харкові знову вимкнули світло після обстрілу, люди стоять у чергах по воду.",
        email=READER,
        consent_contact="y",
        reporter="iryna",
    )
    response = reader.post("/?lang=uk", data={**form})
    reference = response.headers["Location"].removeprefix("/thanks/")

    editor = mail_app.test_client()
    AuthActions(mail_app, editor).login(STAFF["editor"][0])
    version = str(get_submission(mail_app, reference).version)
    reply = "Дякуємо! Чи можете надіслати фото?"
    editor.post(f"/staff/s/{reference}/reply", data={"text": reply, "version": version})
    runner = mail_app.test_cli_runner()
    runner.invoke(args=["intake", "worker", "--once"])
    [sent] = [m for m in smtp.received if reply in m.text()]

    mailbox.append(answer_in_ukrainian_style(sent.raw, ANSWER))
    result = runner.invoke(args=["intake", "fetch-mail", "--once"])
    assert result.exit_code == 0, result.output
    assert mailbox.list_uids("INBOX") == [] and len(mailbox.list_uids("intake-done")) == 1

    messages = [e for e in get_submission(mail_app, reference).events if e.kind == "reader_message"]
    assert [m.detail for m in messages] == [ANSWER]  # only the new text, no quote
    with mail_app.app_context():
        notice = db.session.scalars(
            sa.select(OutboxEmail).where(OutboxEmail.purpose == "reader_replied")
        ).one()
    assert notice.recipient == "iryna.koval@example.org"  # the assignee is told
    assert "reader replied" in editor.get("/staff/").get_data(as_text=True)
    # Fetching again finds nothing new, and nothing is stored twice.
    assert runner.invoke(args=["intake", "fetch-mail", "--once"]).exit_code == 0
    again = [e for e in get_submission(mail_app, reference).events if e.kind == "reader_message"]
    assert len(again) == 1


def test_the_same_message_by_pipe_and_by_imap_is_stored_once(
    mail_app: Flask, mailbox: Dovecot
) -> None:
    read_from(mail_app, mailbox)
    message = EmailMessage()
    message["From"] = "Petro <petro@example.net>"
    message["To"] = "tips@example.org"
    message["Subject"] = "Новини"
    message["Message-ID"] = make_msgid(domain="example.net")
    message.set_content("У Харкові знову обстріл, світла немає з ранку.")
    raw = message.as_bytes()
    runner = mail_app.test_cli_runner()
    assert runner.invoke(args=["intake", "receive-mail"], input=raw).exit_code == 0
    mailbox.append(raw)
    assert runner.invoke(args=["intake", "fetch-mail", "--once"]).exit_code == 0
    with mail_app.app_context():
        from intake.models import Submission

        assert db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 1
    assert len(mailbox.list_uids("intake-done")) == 1  # taken (as a duplicate), moved
