"""Mail-in over IMAP, against a real Dovecot: what reaches the handler and where mail is filed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from intake.mailin.imap import (
    FetchReport,
    ImapSettings,
    LoginRefused,
    MailboxError,
    SettingsError,
    Taken,
    fetch_forever,
    fetch_once,
)
from tests.conftest import free_port
from tests.dovecot import PASSWORD, USER, Dovecot, running_dovecot

# Dovecot without MOVE: intake must fall back to UID COPY, STORE and EXPUNGE.
WITHOUT_MOVE = "imap_capability = IMAP4rev1 UIDPLUS LITERAL+\n"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """Run a fresh Dovecot with an empty mailbox for the test."""
    with running_dovecot() as server:
        yield server


def tip(n: int) -> bytes:
    """Return a reader's email as a mail server stores it (CRLF line endings, 8-bit UTF-8)."""
    message = EmailMessage()
    message["From"] = f"Olena Reader {n} <olena.reader{n}@example.net>"
    message["To"] = "tips@newsroom.example"
    message["Subject"] = f"Tip {n}: the bridge on Lisova street"
    message["Message-ID"] = f"<tip-{n}@example.net>"
    message.set_content(f"Світла немає з ранку. Tip number {n}.\n", cte="8bit")
    return message.as_bytes(policy=SMTP)


@dataclass
class Handler:
    """A handler that keeps what it was given and answers as told for each tip number."""

    answers: dict[int, Taken | Exception] = field(default_factory=dict)
    seen: list[bytes] = field(default_factory=list)
    then: Callable[[], None] | None = None

    def __call__(self, raw: bytes) -> Taken:
        """Record the message, then answer for it ("taken" unless told otherwise)."""
        self.seen.append(raw)
        if self.then:
            self.then()
        for n, answer in self.answers.items():
            if raw == tip(n):
                if isinstance(answer, Exception):
                    raise answer
                return answer
        return "taken"


def settings_for(server: Dovecot, **changes: object) -> ImapSettings:
    """Point intake at the test server (plain IMAP on loopback, short timeouts)."""
    values: dict[str, object] = {
        "INTAKE_IMAP_HOST": server.host,
        "INTAKE_IMAP_PORT": server.port,
        "INTAKE_IMAP_USER": server.user,
        "INTAKE_IMAP_PASSWORD": server.password,
        "INTAKE_IMAP_TLS": "false",
        "INTAKE_IMAP_TIMEOUT": 5,
    }
    return ImapSettings.from_config({**values, **changes})


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait for a condition another thread brings about, failing after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_settings_name_the_missing_ones() -> None:
    with pytest.raises(SettingsError, match="INTAKE_IMAP_HOST, INTAKE_IMAP_PASSWORD"):
        ImapSettings.from_config({"INTAKE_IMAP_USER": "tips"})


@pytest.mark.parametrize(("tls", "port"), [(None, 993), (True, 993), ("false", 143)])
def test_the_port_follows_tls_unless_given(tls: object, port: int) -> None:
    config: dict[str, object] = {
        "INTAKE_IMAP_HOST": "imap.example",
        "INTAKE_IMAP_USER": "tips",
        "INTAKE_IMAP_PASSWORD": "secret",
    }
    if tls is not None:
        config["INTAKE_IMAP_TLS"] = tls
    settings = ImapSettings.from_config(config)
    assert (settings.port, settings.folder, settings.done_folder) == (port, "INBOX", "intake-done")


def test_settings_never_show_the_password() -> None:
    settings = ImapSettings("imap.example", 993, "tips", "hunter2-secret")
    assert "hunter2-secret" not in repr(settings)


def test_each_message_reaches_the_handler_as_stored_and_taken_ones_are_filed(
    dovecot: Dovecot,
) -> None:
    for n in (1, 2, 3):
        dovecot.append(tip(n))
    handler = Handler()
    report = fetch_once(settings_for(dovecot), handler)
    # Appended with CRLF line endings, served with CRLF: byte for byte the same.
    assert handler.seen == [tip(1), tip(2), tip(3)]
    assert report == FetchReport(taken=3)
    assert dovecot.list_uids("INBOX") == []
    assert dovecot.messages("intake-done") == [tip(1), tip(2), tip(3)]


@pytest.mark.parametrize(
    ("answer", "folder"), [("ignored", "intake-done"), ("refused", "intake-refused")]
)
def test_each_answer_files_the_message_in_its_folder(
    dovecot: Dovecot, answer: Taken, folder: str
) -> None:
    dovecot.append(tip(1))
    fetch_once(settings_for(dovecot), Handler({1: answer}))
    assert dovecot.list_uids("INBOX") == []
    assert dovecot.messages(folder) == [tip(1)]


def test_a_message_for_later_stays_and_is_offered_again_on_the_next_pass(
    dovecot: Dovecot,
) -> None:
    dovecot.append(tip(1))
    settings = settings_for(dovecot)
    first = fetch_once(settings, Handler({1: "later"}))
    assert first == FetchReport(later=1)
    assert dovecot.messages("INBOX") == [tip(1)]
    again = Handler()
    fetch_once(settings, again)
    assert again.seen == [tip(1)]
    assert dovecot.list_uids("INBOX") == []


def test_the_messages_after_one_for_later_wait_too_keeping_their_order(dovecot: Dovecot) -> None:
    for n in (1, 2, 3):
        dovecot.append(tip(n))
    settings = settings_for(dovecot)
    handler = Handler({2: "later"})
    assert fetch_once(settings, handler) == FetchReport(taken=1, later=1)
    assert handler.seen == [tip(1), tip(2)]
    assert dovecot.messages("INBOX") == [tip(2), tip(3)]
    again = Handler()
    fetch_once(settings, again)
    assert again.seen == [tip(2), tip(3)]


def test_a_handler_that_raises_leaves_its_message_and_the_others_go_on(dovecot: Dovecot) -> None:
    for n in (1, 2, 3):
        dovecot.append(tip(n))
    handler = Handler({2: RuntimeError("database said no")})
    report = fetch_once(settings_for(dovecot), handler)
    assert report == FetchReport(taken=2, failed=1)
    assert dovecot.messages("INBOX") == [tip(2)]
    assert dovecot.messages("intake-done") == [tip(1), tip(3)]


def test_a_second_pass_with_nothing_new_hands_over_nothing(dovecot: Dovecot) -> None:
    for n in (1, 2):
        dovecot.append(tip(n))
    settings = settings_for(dovecot)
    fetch_once(settings, Handler())
    handler = Handler()
    assert fetch_once(settings, handler) == FetchReport()
    assert handler.seen == []


def test_without_move_a_message_is_copied_and_only_it_is_expunged() -> None:
    with running_dovecot(extra_config=WITHOUT_MOVE) as server:
        server.append(tip(1), flags=r"(\Deleted)")  # a person's, marked but not yet expunged
        server.append(tip(2))
        handler = Handler()
        fetch_once(settings_for(server), handler)
        assert handler.seen == [tip(2)]
        assert server.messages("intake-done") == [tip(2)]
        assert server.messages("INBOX") == [tip(1)]


def test_a_wrong_password_is_a_clear_error_not_a_hang(dovecot: Dovecot) -> None:
    started = time.monotonic()
    with pytest.raises(LoginRefused, match="refused the login.*INTAKE_IMAP_PASSWORD"):
        fetch_once(settings_for(dovecot, INTAKE_IMAP_PASSWORD="wrong"), Handler())
    assert time.monotonic() - started < 5  # Dovecot delays a failed login by 2 s


def test_tls_against_a_server_without_it_is_a_clear_error(dovecot: Dovecot) -> None:
    with pytest.raises(MailboxError, match=f"cannot reach .*:{dovecot.port} .*SSL"):
        fetch_once(settings_for(dovecot, INTAKE_IMAP_TLS=True), Handler())


def test_a_server_that_goes_away_mid_pass_is_an_error_and_the_message_stays(
    dovecot: Dovecot,
) -> None:
    dovecot.append(tip(1))
    with pytest.raises(MailboxError, match=f"lost the IMAP session with .*:{dovecot.port}"):
        fetch_once(settings_for(dovecot), Handler(then=dovecot.crash))
    assert len(dovecot.stored_files()) == 1  # still in INBOX, read from disk


def test_fetch_forever_waits_for_a_server_that_is_down_then_takes_its_mail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="intake.mailin")
    port = free_port()
    settings = ImapSettings("127.0.0.1", port, USER, PASSWORD, tls=False, timeout=5)
    handler, stop = Handler(), threading.Event()
    worker = threading.Thread(target=fetch_forever, args=(settings, handler, 0.05, stop))
    worker.start()
    try:
        wait_until(lambda: "trying again" in caplog.text)
        with running_dovecot(port=port) as server:
            server.append(tip(1))
            wait_until(lambda: len(handler.seen) == 1)
            wait_until(lambda: server.list_uids("INBOX") == [])
            assert server.messages("intake-done") == [tip(1)]
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()


def test_fetch_forever_stops_on_a_refused_login(dovecot: Dovecot) -> None:
    settings = settings_for(dovecot, INTAKE_IMAP_PASSWORD="wrong")
    with pytest.raises(LoginRefused):
        fetch_forever(settings, Handler(), 0.05, threading.Event())


def test_the_log_holds_nothing_of_the_messages(
    dovecot: Dovecot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for n in (1, 2, 3):
        dovecot.append(tip(n))
    stop = threading.Event()
    failure = ValueError(
        "no reporter for Tip 1: the bridge on Lisova street <olena.reader1@example.net>"
    )
    handler = Handler({1: failure, 3: "refused"}, then=stop.set)
    fetch_forever(settings_for(dovecot), handler, 0.05, stop)
    assert "the handler failed on UID 1 (builtins.ValueError)" in caplog.text
    assert "1 taken, 0 ignored, 1 refused, 0 for later, 1 failed" in caplog.text
    for secret in ("lisova", "example.net", "olena", "світла", "tip 1", "no reporter"):
        assert secret not in caplog.text.lower()
