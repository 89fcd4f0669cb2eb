"""Read readers' emails from an IMAP mailbox and file each one by what intake made of it.

A message leaves the folder only after the handler has answered for it (having committed
its own transaction first), so nothing is lost when intake or the server goes away
mid-pass. The other side of that: a message whose answer came but whose move did not is
offered again on the next pass, so the handler must accept seeing a message twice.
Run one fetcher per mailbox.

No message content, subject or address is ever logged: only UIDs, counts and error types.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, get_args

from intake.logs import describe

log = logging.getLogger(__name__)
NumberT = TypeVar("NumberT", int, float)

Taken = Literal["taken", "ignored", "refused", "later"]
"""The handler's answer: taken/ignored are filed as done, refused set aside, later kept."""

OUTCOMES: frozenset[str] = frozenset(get_args(Taken))
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
REQUIRED = ("INTAKE_IMAP_HOST", "INTAKE_IMAP_USER", "INTAKE_IMAP_PASSWORD")
# A server that stays away is asked again at most every five minutes.
MAX_RETRY_SECONDS = 300.0


class SettingsError(ValueError):
    """The INTAKE_IMAP_* settings are missing or wrong; the message names the setting."""


class MailboxError(Exception):
    """The mailbox could not be read or changed; the message says where and what failed."""


class LoginRefused(MailboxError):
    """The server refused the user name or password (trying again will not help)."""


def _flag(value: Any, name: str) -> bool:
    """Read a yes/no setting given as a bool or as a word (unset or empty: yes)."""
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() not in FALSE_WORDS
    raise SettingsError(f"{name} must be true or false")


def _number(value: Any, name: str, kind: Callable[[Any], NumberT]) -> NumberT:
    """Read a number setting, naming it when it is not one."""
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{name} must be a number, not {value!r}") from None


def _check_folder_name(name: str, setting: str) -> None:
    """Refuse folder names imaplib cannot send as they are (non-ASCII needs modified UTF-7)."""
    if not name or not name.isascii() or not name.isprintable():
        raise SettingsError(f"{setting} must be a non-empty ASCII folder name")


@dataclass(frozen=True)
class ImapSettings:
    """Where the readers' emails arrive, and where handled ones are filed."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    done_folder: str = "intake-done"
    tls: bool = True
    timeout: float = 30.0
    # A person looks in here at what intake would not take.
    refused_folder: str = "intake-refused"

    def __post_init__(self) -> None:
        """Check the folder names before any connection is made."""
        _check_folder_name(self.folder, "INTAKE_IMAP_FOLDER")
        _check_folder_name(self.done_folder, "INTAKE_IMAP_DONE_FOLDER")
        _check_folder_name(self.refused_folder, "INTAKE_IMAP_REFUSED_FOLDER")
        if not self.timeout > 0:
            # Zero would make the sockets non-blocking, not fast.
            raise SettingsError("INTAKE_IMAP_TIMEOUT must be more than 0 seconds")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ImapSettings:
        """Read the INTAKE_IMAP_* settings; name any that is missing or wrong."""
        missing = [key for key in REQUIRED if not config.get(key)]
        if missing:
            raise SettingsError(f"fetching mail needs {', '.join(missing)}")
        tls = _flag(config.get("INTAKE_IMAP_TLS"), "INTAKE_IMAP_TLS")
        port = config.get("INTAKE_IMAP_PORT") or (993 if tls else 143)
        return cls(
            host=str(config["INTAKE_IMAP_HOST"]),
            port=_number(port, "INTAKE_IMAP_PORT", int),
            user=str(config["INTAKE_IMAP_USER"]),
            password=str(config["INTAKE_IMAP_PASSWORD"]),
            folder=str(config.get("INTAKE_IMAP_FOLDER") or "INBOX"),
            done_folder=str(config.get("INTAKE_IMAP_DONE_FOLDER") or "intake-done"),
            tls=tls,
            timeout=_number(
                config.get("INTAKE_IMAP_TIMEOUT") or 30.0, "INTAKE_IMAP_TIMEOUT", float
            ),
            refused_folder=str(config.get("INTAKE_IMAP_REFUSED_FOLDER") or "intake-refused"),
        )

    @property
    def server(self) -> str:
        """Name the server for messages: host and port, no account."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class FetchReport:
    """How many messages one pass handed over, by the handler's answer.

    `failed` counts messages whose handler raised or gave no known answer (left in place).
    """

    taken: int = 0
    ignored: int = 0
    refused: int = 0
    later: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        """Count every message handed to the handler."""
        return self.taken + self.ignored + self.refused + self.later + self.failed


def _quoted(folder: str) -> str:
    """Quote a folder name for an IMAP command (imaplib sends arguments as they are)."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _reply_text(error: BaseException) -> str:
    """Return the server's short reply carried by an imaplib error, as text."""
    reply = error.args[0] if error.args else ""
    text = reply.decode("ascii", "replace") if isinstance(reply, bytes) else str(reply)
    return text[:200]


def _ok(response: tuple[str, list[Any]], what: str) -> list[Any]:
    """Return a command's data, or raise naming what the server would not do."""
    status, data = response
    if status != "OK":
        raise MailboxError(f"the IMAP server would not {what}")
    return data


def _connect(settings: ImapSettings) -> imaplib.IMAP4:
    """Open a connection whose every read and write is bounded by the settings' timeout."""
    if settings.tls:
        context = ssl.create_default_context()
        return imaplib.IMAP4_SSL(
            settings.host, settings.port, ssl_context=context, timeout=settings.timeout
        )
    return imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout)


def _login(imap: imaplib.IMAP4, settings: ImapSettings) -> None:
    """Log in; a refusal names the settings to check (a temporary one may be retried)."""
    try:
        imap.login(settings.user, settings.password)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as error:
        reply = _reply_text(error)
        kind = MailboxError if "[UNAVAILABLE]" in reply else LoginRefused
        raise kind(
            f"the IMAP server at {settings.server} refused the login ({reply}); "
            "check INTAKE_IMAP_USER and INTAKE_IMAP_PASSWORD"
        ) from None


def _logout(imap: imaplib.IMAP4) -> None:
    """Say goodbye if the connection still allows it; close it either way."""
    with contextlib.suppress(imaplib.IMAP4.error, OSError):
        imap.logout()
    with contextlib.suppress(OSError):
        imap.shutdown()


@contextlib.contextmanager
def _session(settings: ImapSettings) -> Iterator[imaplib.IMAP4]:
    """Connect and log in; turn network and protocol failures into a MailboxError."""
    try:
        imap = _connect(settings)
    except (OSError, imaplib.IMAP4.error) as error:
        raise MailboxError(f"cannot reach {settings.server} ({describe(error)})") from error
    try:
        _login(imap, settings)
        yield imap
    except (OSError, imaplib.IMAP4.error) as error:
        raise MailboxError(
            f"lost the IMAP session with {settings.server} ({describe(error)})"
        ) from error
    finally:
        _logout(imap)


def _capabilities(imap: imaplib.IMAP4) -> set[str]:
    """Ask what the server offers now (after login it offers more, MOVE among them)."""
    data = _ok(imap.capability(), "list its capabilities")
    # imaplib also keeps the login reply's list, if any; the last one answers this command.
    words = data[-1] if data and isinstance(data[-1], bytes) else b""
    return set(words.decode("ascii", "replace").upper().split())


def _ensure_folder(imap: imaplib.IMAP4, folder: str) -> None:
    """Create a folder unless it exists, and subscribe to it so mail clients show it."""
    found = _ok(imap.list('""', _quoted(folder)), f"list folder {folder}")
    if found and found[0] is not None:
        return
    status, data = imap.create(_quoted(folder))
    # Another fetcher may have created it since we looked.
    if status != "OK" and b"[ALREADYEXISTS]" not in (data[0] or b""):
        raise MailboxError(f"the IMAP server would not create folder {folder}")
    imap.subscribe(_quoted(folder))


def _waiting_uids(imap: imaplib.IMAP4) -> list[str]:
    """List the UIDs in the selected folder, oldest first; skip those marked for deletion."""
    data = _ok(imap.uid("SEARCH", "UNDELETED"), "search the folder")
    words = data[0] if data and isinstance(data[0], bytes) else b""
    return [str(uid) for uid in sorted(int(word) for word in words.split())]


def _raw_message(imap: imaplib.IMAP4, uid: str) -> bytes | None:
    """Fetch a message's bytes without marking it read; None if it has gone meanwhile."""
    data = _ok(imap.uid("FETCH", uid, "(BODY.PEEK[])"), f"fetch message {uid}")
    for part in data:
        if isinstance(part, tuple) and b"BODY[]" in part[0]:
            return bytes(part[1])
    return None


def _offer(handle: Callable[[bytes], Taken], uid: str, raw: bytes) -> Taken | None:
    """Hand a message to the handler; None when it raised or gave no known answer."""
    try:
        answer = handle(raw)
    except Exception as error:
        # The exception's message may quote the email: its type only.
        log.error("mail-in: the handler failed on UID %s (%s); left in place", uid, describe(error))
        return None
    if answer not in OUTCOMES:
        log.error("mail-in: the handler gave no known answer for UID %s; left in place", uid)
        return None
    return answer


class _Mover:
    """Move messages by UID: with MOVE if offered, else COPY, flag and expunge that one only."""

    def __init__(self, imap: imaplib.IMAP4) -> None:
        self.imap = imap
        capabilities = _capabilities(imap)
        self.can_move = "MOVE" in capabilities
        if not self.can_move and "UIDPLUS" not in capabilities:
            # Without UIDPLUS only a plain EXPUNGE is left, which would remove messages a
            # person marked for deletion too.
            raise MailboxError("the IMAP server offers neither MOVE nor UIDPLUS")

    def move(self, uid: str, folder: str) -> None:
        """Move one message to a folder."""
        what = f"move message {uid} to {folder}"
        if self.can_move:
            _ok(self.imap.uid("MOVE", uid, _quoted(folder)), what)
            return
        _ok(self.imap.uid("COPY", uid, _quoted(folder)), what)
        _ok(self.imap.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), what)
        _ok(self.imap.uid("EXPUNGE", uid), what)


def _destination(settings: ImapSettings, answer: Taken) -> str | None:
    """Return the folder a message goes to after this answer; None to leave it in place."""
    if answer in ("taken", "ignored"):
        return settings.done_folder
    if answer == "refused":
        return settings.refused_folder
    return None


def fetch_once(settings: ImapSettings, handle: Callable[[bytes], Taken]) -> FetchReport:
    """Hand each waiting message to `handle`, oldest first, and file it by the answer.

    taken/ignored: moved to the done folder; refused: moved to the refused folder;
    later (a temporary failure, such as the database being away): it and every message
    after it stay for the next pass, which keeps their order. A handler that raises
    leaves its message in place and the pass goes on. Raises MailboxError (LoginRefused
    for a wrong user name or password) when the server cannot be used.
    """
    counts: Counter[str] = Counter()
    with _session(settings) as imap:
        for folder in (settings.done_folder, settings.refused_folder):
            _ensure_folder(imap, folder)
        _ok(imap.select(_quoted(settings.folder)), f"open folder {settings.folder}")
        mover = _Mover(imap)
        for uid in _waiting_uids(imap):
            raw = _raw_message(imap, uid)
            if raw is None:
                continue
            answer = _offer(handle, uid, raw)
            counts[answer or "failed"] += 1
            if answer == "later":
                break
            destination = _destination(settings, answer) if answer else None
            if destination:
                mover.move(uid, destination)
    return FetchReport(**counts)


def _retry_delay(interval: float, failures: int) -> float:
    """Wait longer after each failure in a row: interval, twice that, ... up to a ceiling."""
    base = max(interval, 0.1)
    return min(base * 2.0 ** min(failures - 1, 16), max(MAX_RETRY_SECONDS, interval))


def _log_report(report: FetchReport) -> None:
    """Log a pass's counts, if it handled anything."""
    if report.handled:
        log.info(
            "mail-in: %d taken, %d ignored, %d refused, %d for later, %d failed",
            report.taken,
            report.ignored,
            report.refused,
            report.later,
            report.failed,
        )


def fetch_forever(
    settings: ImapSettings,
    handle: Callable[[bytes], Taken],
    interval: float,
    stop: threading.Event,
) -> None:
    """Fetch mail every `interval` seconds until `stop` is set.

    A server that is down or a connection that drops is logged and tried again, waiting
    longer each time; a refused login is raised, as waiting will not mend it.
    """
    failures = 0
    while not stop.is_set():
        try:
            report = fetch_once(settings, handle)
        except LoginRefused:
            raise
        except MailboxError as error:
            failures += 1
            delay = _retry_delay(interval, failures)
            log.warning("mail-in: %s; trying again in %.1f s", error, delay)
            stop.wait(delay)
            continue
        if failures:
            log.info("mail-in: the mailbox at %s answers again", settings.server)
        failures = 0
        _log_report(report)
        stop.wait(interval)
