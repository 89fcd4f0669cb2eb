"""The webhook transport: signatures, the request-forgery defence, delivery to a receiver.

Every connection goes to a receiver on 127.0.0.1 started here; refused URLs are checked to
reach nothing. Names other than localhost are answered by a stand-in for the resolver.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from intake.webhooks import Outcome, Refused, chat_body, check_url, new_secret, post, resolve, sign

SLOW = 0.5  # the client's timeout in the tests of slow receivers
PAYLOAD = json.dumps({"type": "submission.created", "data": {"subject": "Тест"}}).encode()

GetAddrInfo = list[tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[str, int]]]


@dataclass(frozen=True)
class Seen:
    """One request as the receiver got it."""

    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A webhook receiver on 127.0.0.1 that records what arrives and answers as told."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.seen: list[Seen] = []
        self.status = 200
        self.answer = b"thanks"
        self.location = ""
        self.delay = 0.0
        self.trickle = False
        self.release = threading.Event()  # ends every wait, so teardown is quick
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = int(self.server.socket.getsockname()[1])
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str = "/hook", host: str = "127.0.0.1", scheme: str = "http") -> str:
        """Return a URL of this receiver under the given host name."""
        return f"{scheme}://{host}:{self.port}{path}"

    def start(self) -> None:
        """Serve in a thread."""
        self.thread.start()

    def stop(self) -> None:
        """Release waiting answers and close the server."""
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    """Make the request handler class that records into and answers for this receiver."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            """Record the request, then answer as the receiver is told to."""
            length = int(self.headers.get("Content-Length") or 0)
            headers = dict(self.headers.items())
            receiver.seen.append(Seen(self.path, headers, self.rfile.read(length)))
            # The client may have given up and gone; that is what some tests are about.
            with contextlib.suppress(OSError):
                if receiver.trickle:
                    self.trickle()
                    return
                receiver.release.wait(receiver.delay)
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", str(len(receiver.answer)))
                self.end_headers()
                self.wfile.write(receiver.answer)

        def trickle(self) -> None:
            """Send an answer a byte at a time, each well within any read timeout."""
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"." * 200:
                if receiver.release.wait(0.05):
                    return
                self.wfile.write(bytes([byte]))

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Run a plain HTTP receiver for one test."""
    one = Receiver()
    one.start()
    yield one
    one.stop()


class FakeResolver:
    """Answer for made-up names with loopback addresses, and count the questions."""

    def __init__(self, real: Any, answers: dict[str, list[str]]) -> None:
        self.real = real
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, host: str, port: int, *args: Any, **kwargs: Any) -> GetAddrInfo:
        """Return the next address for a known name, or ask the real resolver."""
        if host not in self.answers:
            result: GetAddrInfo = self.real(host, port, *args, **kwargs)
            return result
        self.asked.append(host)
        # A later question gets the next answer: a DNS rebinding attack, if ever asked twice.
        address = self.answers[host][min(len(self.asked), len(self.answers[host])) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> FakeResolver:
    """Make hooks.test, other.test and rebind.test name this machine (127.0.0.2 on a retry)."""
    answer = ["127.0.0.1", "127.0.0.2"]
    fake = FakeResolver(
        socket.getaddrinfo, {"hooks.test": answer, "other.test": answer, "rebind.test": answer}
    )
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Make a self-signed certificate for hooks.test, and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(  # noqa: S603 - fixed arguments, no shell
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + ["-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2"]
        + ["-subj", "/CN=hooks.test", "-addext", "subjectAltName=DNS:hooks.test"],  # noqa: S607
        check=True,
        capture_output=True,
        timeout=10,
    )
    return cert, key


@pytest.fixture
def tls_receiver(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Receiver]:
    """Run an HTTPS receiver for hooks.test, with its certificate trusted for this test."""
    cert, key = certificate
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    original = ssl.create_default_context

    def trusting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        return original(cafile=str(cert))

    monkeypatch.setattr(ssl, "create_default_context", trusting)
    one = Receiver(tls=server_side)
    one.start()
    yield one
    one.stop()


def closed_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def deliver(url: str, timeout: float = 5.0, secret: str = "") -> Outcome:
    """POST the test payload, signed, letting private addresses through (the receiver's)."""
    headers = sign(secret or new_secret(), "msg_1", datetime.now(UTC), PAYLOAD)
    return post(url, PAYLOAD, headers, allow_private=True, timeout=timeout)


# Secrets and signatures


def test_a_new_secret_is_whsec_and_at_least_24_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) >= 24
    assert new_secret() != secret


def test_a_signed_post_verifies_at_the_receiver_with_the_body_byte_exact(
    receiver: Receiver,
) -> None:
    secret = new_secret()
    outcome = deliver(receiver.url("/hook?desk=news"), secret=secret)
    assert outcome == Outcome(ok=True, status=200, error="", retry=False)
    [seen] = receiver.seen
    assert seen.path == "/hook?desk=news"
    assert seen.body == PAYLOAD
    assert seen.headers["content-type"] == "application/json"
    assert Webhook(secret).verify(seen.body, seen.headers) == json.loads(PAYLOAD)


def test_a_different_secret_fails_verification(receiver: Receiver) -> None:
    deliver(receiver.url())
    [seen] = receiver.seen
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(seen.body, seen.headers)


def test_sign_signs_the_instant_whatever_the_timestamps_zone() -> None:
    secret, at = new_secret(), datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    elsewhere = at.astimezone(timezone(timedelta(hours=3)))
    assert sign(secret, "msg_1", elsewhere, PAYLOAD) == sign(secret, "msg_1", at, PAYLOAD)
    assert sign(secret, "msg_1", at, PAYLOAD)["webhook-timestamp"] == str(int(at.timestamp()))


def test_sign_refuses_a_timestamp_without_a_zone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sign(new_secret(), "msg_1", datetime(2026, 3, 1, 12, 0), PAYLOAD)  # noqa: DTZ001


# What the receiver's answer means


@pytest.mark.parametrize(
    ("status", "ok", "retry"),
    [
        (200, True, False),
        (204, True, False),
        (500, False, True),
        (503, False, True),
        (429, False, True),
        (408, False, True),
        (404, False, True),  # the spec: receivers expect a retry on any failure
        (410, False, False),  # Gone: never again
    ],
)
def test_the_answers_status_decides_ok_and_retry(
    receiver: Receiver, status: int, ok: bool, retry: bool
) -> None:
    receiver.status = status
    receiver.answer = b"" if status == 204 else b"answer"
    outcome = deliver(receiver.url())
    assert (outcome.ok, outcome.status, outcome.retry) == (ok, status, retry)
    assert (outcome.error == "") == ok


def test_an_unsuccessful_answer_never_quotes_what_the_receiver_said(receiver: Receiver) -> None:
    # Receivers that refuse a payload often echo it back: the error line goes to the log
    # and the outbox page, where a reader's words must not.
    receiver.status = 400
    receiver.answer = (
        b'invalid payload: {"body": "\xd0\xa1\xd0\xb5\xd0\xba\xd1\x80\xd0\xb5\xd1\x82"}'
    )
    outcome = deliver(receiver.url())
    assert outcome.error == "HTTP 400 Bad Request"


def test_an_unsuccessful_answer_without_a_body_says_just_its_status(receiver: Receiver) -> None:
    receiver.status, receiver.answer = 503, b""
    assert deliver(receiver.url()).error == "HTTP 503 Service Unavailable"


def test_a_redirect_to_an_unreadable_location_is_still_an_outcome(receiver: Receiver) -> None:
    receiver.status, receiver.location = 301, "http://[not-an-address/"
    outcome = deliver(receiver.url())
    assert (outcome.ok, outcome.status, outcome.retry) == (False, 301, True)
    assert "redirect refused" in outcome.error


def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.status = 302
    receiver.location = receiver.url("/elsewhere/secret-token")
    outcome = deliver(receiver.url())
    assert len(receiver.seen) == 1
    assert (outcome.ok, outcome.status) == (False, 302)
    assert "redirect refused" in outcome.error
    assert "secret-token" not in outcome.error


def test_a_slow_receiver_times_out_and_is_retried(receiver: Receiver) -> None:
    receiver.delay = 30
    started = time.monotonic()
    outcome = deliver(receiver.url(), timeout=SLOW)
    assert time.monotonic() - started < SLOW + 2
    assert (outcome.ok, outcome.status, outcome.retry) == (False, None, True)
    assert f"within {SLOW:g} s" in outcome.error


def test_a_receiver_trickling_its_answer_is_cut_off_at_the_deadline(receiver: Receiver) -> None:
    receiver.trickle = True
    started = time.monotonic()
    outcome = deliver(receiver.url(), timeout=SLOW)
    assert time.monotonic() - started < SLOW + 1
    assert (outcome.ok, outcome.status, outcome.retry) == (False, None, True)


def test_a_refused_connection_is_retried() -> None:
    outcome = deliver(f"http://127.0.0.1:{closed_port()}/hook")
    assert (outcome.ok, outcome.status, outcome.retry) == (False, None, True)
    assert outcome.error == "connection refused (127.0.0.1)"


# Where the request goes


def test_the_host_header_is_the_urls_host(receiver: Receiver) -> None:
    assert deliver(receiver.url(host="localhost")).ok
    assert receiver.seen[0].headers["Host"] == f"localhost:{receiver.port}"


def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(
    receiver: Receiver, names: FakeResolver
) -> None:
    # A second lookup would get 127.0.0.2, where nothing listens.
    assert deliver(receiver.url(host="rebind.test")).ok
    assert names.asked == ["rebind.test"]
    assert receiver.seen[0].headers["Host"] == f"rebind.test:{receiver.port}"


def test_https_checks_the_certificate_for_the_urls_host_at_the_checked_address(
    tls_receiver: Receiver, names: FakeResolver
) -> None:
    outcome = deliver(tls_receiver.url(host="hooks.test", scheme="https"))
    assert outcome == Outcome(ok=True, status=200, error="", retry=False)
    assert names.asked == ["hooks.test"]
    assert tls_receiver.seen[0].headers["Host"] == f"hooks.test:{tls_receiver.port}"


def test_https_refuses_a_certificate_for_another_name(
    tls_receiver: Receiver, names: FakeResolver
) -> None:
    outcome = deliver(tls_receiver.url(host="other.test", scheme="https"))
    assert (outcome.ok, outcome.status, outcome.retry) == (False, None, True)
    assert "certificate" in outcome.error
    assert tls_receiver.seen == []


# The URL's form


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://hooks.example.com/intake?desk=news", ""),
        ("http://hooks.example.com:8080/", ""),
        ("https://[2001:db8::1]/hook", ""),  # the form is fine; its address is not
        ("ftp://hooks.example.com/", "https://"),
        ("", "https://"),
        ("https:///hook", "no host"),
        ("https://user:secret@hooks.example.com/", "user name or password"),
        ("https://:secret@hooks.example.com/", "user name or password"),
        ("https://hooks.example.com:0/", "port"),
        ("https://hooks.example.com:70000/", "port"),
        ("https://hooks.example.com:http/", "port"),
        ("https://hooks.example.com/a b", "spaces"),
        (" https://hooks.example.com/", "spaces"),
        ("https://hooks.example.com/\x00", "control"),
        ("https://hooks.example.com/\u200b", "control"),
        ("https://[::1/", "host"),
        ("https://hooks..example.com/", "host"),
        ("https://hooks.example.com/" + "a" * 2000, "longer than 2000"),
    ],
)
def test_check_url_says_what_is_wrong_with_the_form(url: str, problem: str) -> None:
    found = check_url(url)
    assert (found == "") == (problem == "")
    assert problem in found


def test_check_url_accepts_2000_characters() -> None:
    url = "https://hooks.example.com/"
    assert check_url(url + "a" * (2000 - len(url))) == ""


def test_a_malformed_url_is_an_outcome_not_retried() -> None:
    outcome = deliver("ftp://127.0.0.1/hook")
    assert (outcome.ok, outcome.status, outcome.retry) == (False, None, False)
    assert outcome.error == check_url("ftp://127.0.0.1/hook")


def test_allow_private_does_not_relax_the_forms_rules(receiver: Receiver) -> None:
    outcome = deliver(receiver.url(host="user:pw@127.0.0.1"))
    assert (outcome.ok, outcome.retry) == (False, False)
    assert receiver.seen == []


# Addresses that are not public

NOT_PUBLIC = [
    "127.0.0.1",
    "localhost",
    "[::1]",
    "10.0.0.1",
    "192.168.1.1",
    "172.16.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",  # noqa: S104 - a destination to refuse, not an address to bind
    "[::]",
    "[::ffff:127.0.0.1]",
    "[fe80::1]",
    "2130706433",
    "0177.0.0.1",
    "0x7f.1",
    "127.1",
]
NOT_PUBLIC_EITHER = [
    "224.0.0.1",  # multicast, which is_global calls global
    "[ff02::1]",
    "240.0.0.1",  # reserved
    "192.0.2.1",  # documentation
    "[fc00::1]",  # unique local
    "[fec0::1]",  # site-local, which is_global calls global
    "[::ffff:10.0.0.1]",
    "[::127.0.0.1]",  # the old IPv4-compatible form
    "[64:ff9b::a00:1]",  # NAT64 to 10.0.0.1
    "[2002:a00:1::1]",  # 6to4 wrapping 10.0.0.1
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",  # Teredo
]


@pytest.mark.parametrize("host", NOT_PUBLIC + NOT_PUBLIC_EITHER)
def test_resolve_refuses_a_host_that_is_not_public(host: str) -> None:
    with pytest.raises(Refused, match="public internet addresses"):
        resolve(f"https://{host}/hook", allow_private=False, timeout=2)


@pytest.mark.parametrize("host", NOT_PUBLIC)
def test_post_to_a_host_that_is_not_public_connects_nowhere(receiver: Receiver, host: str) -> None:
    headers = sign(new_secret(), "msg_1", datetime.now(UTC), PAYLOAD)
    outcome = post(receiver.url(host=host), PAYLOAD, headers, allow_private=False, timeout=2)
    assert (outcome.ok, outcome.status, outcome.retry) == (False, None, False)
    assert "public internet addresses" in outcome.error
    assert receiver.seen == []


@pytest.mark.parametrize("host", ["2130706433", "0177.0.0.1", "0x7f.1", "127.1"])
def test_numeric_host_forms_are_refused_for_the_address_they_resolve_to(host: str) -> None:
    with pytest.raises(Refused, match=r"\(127\.0\.0\.1\) is a loopback address"):
        resolve(f"http://{host}/", allow_private=False, timeout=2)


@pytest.mark.parametrize(
    "host", ["8.8.8.8", "[2606:4700::1111]", "[::ffff:8.8.8.8]", "[64:ff9b::808:808]"]
)
def test_resolve_lets_a_public_address_through(host: str) -> None:
    # Numeric hosts: getaddrinfo answers them without asking any server.
    [(_family, sockaddr)] = resolve(f"https://{host}/hook", allow_private=False, timeout=2)
    assert sockaddr[0] == host.strip("[]")
    assert sockaddr[1] == 443


def test_allow_private_lets_loopback_through(receiver: Receiver) -> None:
    url = receiver.url()
    assert resolve(url, allow_private=True, timeout=2) == [
        (socket.AF_INET, ("127.0.0.1", receiver.port))
    ]
    assert deliver(url).ok


def test_a_name_that_resolves_to_nothing_is_a_clean_outcome() -> None:
    # .invalid never resolves (RFC 2606); at most the local resolver is asked.
    started = time.monotonic()
    outcome = deliver("https://hooks.invalid/hook", timeout=2)
    assert time.monotonic() - started < 2 + 2
    assert (outcome.ok, outcome.status, outcome.retry) == (False, None, True)
    assert outcome.error.startswith("cannot look up hooks.invalid")
    assert outcome.error.isprintable()


def test_resolve_raises_oserror_for_a_name_that_resolves_to_nothing() -> None:
    with pytest.raises(OSError, match="hooks.invalid|not known|resolution"):
        resolve("https://hooks.invalid/hook", allow_private=False, timeout=2)


# Chat alerts


def test_chat_body_is_the_text_in_json_with_cyrillic_kept() -> None:
    body = chat_body("Новый материал для отдела «Город»")
    assert json.loads(body) == {"text": "Новый материал для отдела «Город»"}
    assert "Новый".encode() in body
