"""The development mail catcher saves every message where a person can read it."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

from intake.mailcatcher import start
from tests.conftest import free_port


def test_catcher_writes_each_message_as_an_eml_file(tmp_path: Path) -> None:
    port = free_port()
    controller = start(tmp_path / "mail", port)
    try:
        message = EmailMessage()
        message["From"] = "tips@example.org"
        message["To"] = "iryna.koval@example.org"
        message["Subject"] = "[Tip] Russia-Ukraine war (T-2345-6789)"
        message.set_content("Світла немає з ранку.")
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            client.send_message(message)
            client.send_message(message)
    finally:
        controller.stop()
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2
    saved = files[0].read_bytes()
    assert saved.startswith(b"X-Envelope-To: iryna.koval@example.org\r\n")
    assert b"Subject: [Tip] Russia-Ukraine war (T-2345-6789)" in saved
