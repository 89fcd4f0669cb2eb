"""A throwaway Dovecot IMAP server on 127.0.0.1 for mail-in tests (see RECIPES.md)."""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port

DOVECOT = Path("/usr/sbin/dovecot")
HOST = "127.0.0.1"
USER = "tips"
PASSWORD = "secret"
START_SECONDS = 10.0
STOP_SECONDS = 10.0

CONFIG = """\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = {host}
ssl = no
disable_plaintext_auth = no
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {d}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
}}
service anvil {{
  chroot =
}}
"""


@dataclass(frozen=True)
class Dovecot:
    """A running Dovecot: where it listens, its one account, and helpers to look inside."""

    host: str
    port: int
    user: str
    password: str
    folder: Path
    process: subprocess.Popen[bytes]

    @contextlib.contextmanager
    def client(self) -> Iterator[imaplib.IMAP4]:
        """Log in as the mailbox user; log out after."""
        imap = imaplib.IMAP4(self.host, self.port, timeout=5)
        try:
            imap.login(self.user, self.password)
            yield imap
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                imap.logout()

    def append(self, raw: bytes, folder: str = "INBOX", flags: str | None = None) -> None:
        """Put a message in a folder, as mail arriving there would be."""
        with self.client() as imap:
            status, _ = imap.append(folder, flags, None, raw)
            assert status == "OK", f"APPEND to {folder} failed"

    def list_uids(self, folder: str) -> list[int]:
        """Return the UIDs of the messages in a folder, in order."""
        with self.client() as imap:
            status, _ = imap.select(folder, readonly=True)
            assert status == "OK", f"no folder {folder}"
            _, data = imap.uid("SEARCH", "ALL")
        return sorted(int(uid) for uid in (data[0] or b"").split())

    def messages(self, folder: str) -> list[bytes]:
        """Return the raw messages in a folder, in UID order."""
        with self.client() as imap:
            status, _ = imap.select(folder, readonly=True)
            assert status == "OK", f"no folder {folder}"
            _, data = imap.uid("SEARCH", "ALL")
            found: list[bytes] = []
            for uid in sorted(int(u) for u in (data[0] or b"").split()):
                _, parts = imap.uid("FETCH", str(uid), "(BODY.PEEK[])")
                found += [part[1] for part in parts if isinstance(part, tuple)]
        return found

    def stored_files(self) -> list[Path]:
        """Return the message files in the user's INBOX on disk (readable with the server down)."""
        maildir = self.folder / "home" / self.user / "Maildir"
        return sorted([*maildir.glob("new/*"), *maildir.glob("cur/*")])

    def crash(self) -> None:
        """Kill the server and its open sessions at once, as an outage would; keep its files."""
        # SIGTERM would not do: Dovecot's master stops, but open sessions carry on.
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_SECONDS)

    def log(self) -> str:
        """Return what Dovecot wrote to its log."""
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def ensure_installed() -> None:
    """Install Debian's Dovecot IMAP server if it is missing (CI runs as root on Debian 12)."""
    if DOVECOT.exists():
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)  # noqa: S607
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "dovecot-imapd"],  # noqa: S607
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def _mail_owner() -> pwd.struct_passwd:
    """Return the account Dovecot runs as: `nobody` for root (it refuses uid 0), else us."""
    return pwd.getpwnam("nobody") if os.getuid() == 0 else pwd.getpwuid(os.getuid())


def _write_config(folder: Path, port: int, extra_config: str) -> Path:
    """Write dovecot.conf and the one-account passwd file; hand the folder to the mail owner."""
    owner = _mail_owner()
    config = folder / "dovecot.conf"
    config.write_text(
        CONFIG.format(
            d=folder,
            host=HOST,
            port=port,
            user=owner.pw_name,
            group=grp.getgrgid(owner.pw_gid).gr_name,
            uid=owner.pw_uid,
            gid=owner.pw_gid,
        )
        + extra_config
    )
    passwd = folder / "passwd"
    passwd.write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    passwd.chmod(0o644)
    (folder / "home").mkdir()
    for path in (folder, folder / "home", config, passwd):
        os.chown(path, owner.pw_uid, owner.pw_gid)
    return config


def _greets(port: int) -> bool:
    """Say whether an IMAP server on the port sends its "* OK" greeting."""
    try:
        with socket.create_connection((HOST, port), timeout=1) as conn:
            return conn.recv(64).startswith(b"* OK")
    except OSError:
        return False


def _wait_for_greeting(process: subprocess.Popen[bytes], port: int, folder: Path) -> None:
    """Wait until Dovecot greets on the port; fail with its log if it exits or takes too long."""
    deadline = time.monotonic() + START_SECONDS
    while not _greets(port):
        log = folder / "dovecot.log"
        if process.poll() is not None:
            detail = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"dovecot exited with {process.returncode}:\n{detail}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"dovecot did not greet on port {port} in {START_SECONDS} s")
        time.sleep(0.02)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop Dovecot with SIGTERM; kill it if it has not stopped in time."""
    if process.poll() is not None:
        return
    # To all its processes: the master alone takes a second waiting for its children.
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_SECONDS)


@contextlib.contextmanager
def running_dovecot(port: int | None = None, extra_config: str = "") -> Iterator[Dovecot]:
    """Run a Dovecot with one mailbox (tips/secret) on 127.0.0.1; stop it and remove its files."""
    ensure_installed()
    port = port or free_port()
    # Not pytest's tmp_path: its 0700 parents are closed to `nobody`.
    folder = Path(tempfile.mkdtemp(prefix="dovecot-", dir="/tmp"))
    try:
        config = _write_config(folder, port, extra_config)
        # A session of its own, so that a signal can reach every process it forks.
        process = subprocess.Popen(  # noqa: S603
            [str(DOVECOT), "-F", "-c", str(config)], start_new_session=True
        )
        try:
            _wait_for_greeting(process, port, folder)
            yield Dovecot(HOST, port, USER, PASSWORD, folder, process)
        finally:
            _stop(process)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
