"""Send signed webhooks and chat alerts to URLs that admins configure, and nowhere else.

An admin types the URL, so it may name this machine, the office network or the cloud's
metadata service; a request there would let whoever controls the URL (or its DNS) reach what
only intake should. So every host is looked up once, every address it has must be public,
and the connection goes to the very address that was checked, never to the name again.

Pure transport: no Flask, no database. Standard library HTTP plus `standardwebhooks`, the
library receivers verify with, so what we sign is what they check.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import ipaddress
import json
import math
import secrets
import socket
import ssl
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from standardwebhooks.webhooks import Webhook

MAX_URL = 2000
MAX_ANSWER = 64 * 1024  # enough for any receiver's error message; more is not read
MAX_ERROR = 300
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes
USER_AGENT = "intake-webhooks"
# Name lookups run in threads (getaddrinfo has no timeout); a resolver that hangs keeps its
# thread, so at most this many may be stuck before further lookups give up at once.
MAX_LOOKUPS = 16

SockAddr = tuple[str, int] | tuple[str, int, int, int]
Address = tuple[socket.AddressFamily, SockAddr]
IP = ipaddress.IPv4Address | ipaddress.IPv6Address

# Carrier-grade NAT space: is_global is False for it, but so is is_private on older Pythons.
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
# NAT64's well-known prefix: the gateway turns it into the IPv4 address in its last 32 bits.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_lookups = threading.BoundedSemaphore(MAX_LOOKUPS)


class Refused(Exception):
    """A URL intake will not send to; the message says why, for the admin who set it."""


@dataclass(frozen=True)
class Outcome:
    """What became of one POST: `retry` says whether trying again later may go better."""

    ok: bool
    status: int | None
    error: str
    retry: bool


class _Target(NamedTuple):
    scheme: str
    host: str  # the ASCII (IDNA) form; an IPv6 address without its brackets
    port: int
    path: str  # path and query, as sent in the request line


def new_secret() -> str:
    """Return a new endpoint secret in the Standard Webhooks form, whsec_ and base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: datetime, body: bytes) -> dict[str, str]:
    """Return the headers that let a receiver verify this body: id, timestamp, signature."""
    if timestamp.utcoffset() is None:
        raise ValueError("sign needs a timezone-aware timestamp")
    # The library replaces the zone with UTC rather than converting, so hand it UTC already.
    at = timestamp.astimezone(UTC)
    # The spec signs the body's text; a payload that is not UTF-8 is a bug here, so it raises.
    signature = Webhook(secret).sign(msg_id=msg_id, timestamp=at, data=body.decode("utf-8"))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(math.floor(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def chat_body(text: str) -> bytes:
    """Return the JSON body of a Slack-compatible incoming webhook (Mattermost reads it too)."""
    return json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")


def _parse(url: str) -> tuple[_Target | None, str]:
    """Split a URL into where to send, or say what is wrong with its form."""
    if len(url) > MAX_URL:
        return None, f"The URL is longer than {MAX_URL} characters."
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return None, "The URL must not contain spaces or control characters."
    try:
        parts = urlsplit(url)
    except ValueError:  # urlsplit's complaint about a bracketed host that is no IPv6 address
        return None, "The URL's host is not valid."
    if parts.scheme not in ("http", "https"):
        return None, "The URL must start with https:// (or http://)."
    if "@" in parts.netloc:
        # Credentials in a URL end up in logs and error messages; receivers take a secret.
        return None, "The URL must not contain a user name or password."
    if not parts.hostname:
        return None, "The URL has no host name."
    try:
        port = parts.port  # raises for a port that is not a number up to 65535
    except ValueError:
        port = 0
    if port is not None and not 1 <= port <= 65535:
        return None, "The URL's port must be a number from 1 to 65535."
    host = parts.hostname
    if ":" not in host:  # a colon only in an IPv6 address, which IDNA has no business with
        try:
            # One ASCII form for the lookup, the Host header and TLS; bad labels fail here.
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None, "The URL's host name is not valid."
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    # The request line is ASCII; other characters go percent-encoded as UTF-8, as browsers do.
    path = "".join(ch if ch.isascii() else quote(ch) for ch in path)
    default = 443 if parts.scheme == "https" else 80
    return _Target(parts.scheme, host, port or default, path), ""


def shown_url(url: str) -> str:
    """Show a webhook URL without its path or query: those often carry its secret."""
    try:
        parts = urlsplit(url)
        where = f"{parts.scheme}://{parts.hostname or ''}" + (
            f":{parts.port}" if parts.port else ""
        )
    except ValueError:
        return "(an invalid address)"
    hidden = parts.path not in ("", "/") or parts.query or parts.fragment
    return where + ("/…" if hidden else "/")


def check_url(url: str) -> str:
    """Return "" when the URL's form is one intake sends to, else a sentence on what is wrong."""
    return _parse(url)[1]


def _why_not_public(ip: IP) -> str:
    """Say what kind of non-public address this is, or "" when a webhook may go there."""
    if isinstance(ip, ipaddress.IPv6Address):
        # ::ffff:a.b.c.d reaches a.b.c.d itself, so the IPv4 address decides.
        if ip.ipv4_mapped is not None:
            return _why_not_public(ip.ipv4_mapped)
        # Through a NAT64 gateway this reaches the IPv4 address it carries, so that decides.
        if ip in _NAT64:
            return _why_not_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        # 6to4 (2002::/16) tunnels to the IPv4 address it carries; a private one is refused.
        if ip.sixtofour is not None and (inner := _why_not_public(ip.sixtofour)):
            return f"a 6to4 address wrapping {ip.sixtofour}, {inner}"
        # Teredo is a tunnel to an address it hides, never a public service; refuse it whole.
        if ip.teredo is not None:
            return "a Teredo tunnel address"
        # Deprecated site-local space, still routed inside some networks; is_global misses it.
        if ip.is_site_local:
            return "a site-local address"
    if ip.is_unspecified:
        # Connecting to 0.0.0.0 or :: reaches this machine.
        return "the unspecified address, which reaches this machine"
    if ip.is_loopback:
        return "a loopback address (this machine)"
    if ip.is_link_local:
        return "a link-local address (where the cloud metadata service lives)"
    # is_global says yes to multicast on this Python, and a webhook is never multicast.
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "a carrier-grade NAT address (100.64.0.0/10)"
    # Before is_private: this covers the old IPv4-compatible ::a.b.c.d form, and 240/4.
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private or special-purpose address"
    # Whatever else the registry does not call globally reachable (documentation ranges...).
    if not ip.is_global:
        return "not a public internet address"
    return ""


def _addresses(host: str, port: int) -> list[Address]:
    """Ask the system resolver for the host's TCP addresses, each once, in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    found: list[Address] = []
    for family, _kind, _proto, _name, sockaddr in infos:
        if family == socket.AF_INET and len(sockaddr) == 2:
            found.append((family, (str(sockaddr[0]), int(sockaddr[1]))))
        elif family == socket.AF_INET6 and len(sockaddr) == 4:
            found.append((family, (str(sockaddr[0]), sockaddr[1], sockaddr[2], sockaddr[3])))
    return list(dict.fromkeys(found))


def _lookup(host: str, port: int, timeout: float) -> list[Address]:
    """Look the host up, giving up after `timeout` seconds however slow the resolver is."""
    started = time.monotonic()
    if not _lookups.acquire(timeout=max(timeout, 0.0)):
        raise TimeoutError(f"too many name lookups are waiting; {host} was not looked up")
    found: Future[list[Address]] = Future()

    def run() -> None:
        try:
            found.set_result(_addresses(host, port))
        except OSError as exc:
            found.set_exception(exc)
        except Exception as exc:  # a name the resolver's codecs reject is still just a name
            found.set_exception(OSError(str(exc)))
        finally:
            _lookups.release()

    # A daemon thread, not an executor: a hung lookup must not hold up the process's exit.
    threading.Thread(target=run, name="webhook-lookup", daemon=True).start()
    left = timeout - (time.monotonic() - started)
    try:
        addresses = found.result(timeout=max(left, 0.0))
    except TimeoutError:
        raise TimeoutError(f"looking up {host} took longer than {timeout:g} s") from None
    if not addresses:
        raise OSError(f"{host} has no address to connect to")
    return addresses


def _resolve(target: _Target, allow_private: bool, timeout: float) -> list[Address]:
    """Look the target's host up and refuse it unless every address it has is public."""
    addresses = _lookup(target.host, target.port, timeout)
    if allow_private:
        return addresses
    for _family, sockaddr in addresses:
        why = _why_not_public(ipaddress.ip_address(sockaddr[0]))
        if why:
            # Any one bad address is enough: which one a connection uses is not ours to pick.
            shown = target.host if target.host == sockaddr[0] else f"{target.host} ({sockaddr[0]})"
            raise Refused(f"{shown} is {why}; webhooks go only to public internet addresses.")
    return addresses


def resolve(url: str, allow_private: bool, timeout: float) -> list[Address]:
    """Return the URL host's addresses; raise Refused if one is not public, OSError if none."""
    target, problem = _parse(url)
    if target is None:
        raise Refused(problem)
    return _resolve(target, allow_private, timeout)


class _Watchdog:
    """Shut the connection's socket at the deadline, however slowly the peer trickles bytes."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self.fired = False
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def start(self) -> None:
        """Start counting down."""
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        """Make this the socket to shut at the deadline."""
        with self._lock:
            if self.fired:
                raise TimeoutError("the deadline passed")
            self._sock = sock

    def stop(self) -> None:
        """Stop counting down; the socket is about to be closed."""
        with self._lock:
            # Under the lock, so _fire never shuts a descriptor that was closed and reused.
            self._sock = None
        self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            if self._sock is not None:
                # Per-read timeouts restart with every byte; only a shutdown ends a trickle.
                # socket.socket's own shutdown, because SSLSocket's unwraps TLS first.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(self._sock, socket.SHUT_RDWR)


def _open(addresses: list[Address], deadline: float, watchdog: _Watchdog) -> socket.socket:
    """Connect to the first checked address that answers, within the deadline."""
    failure: OSError = OSError("no address to connect to")
    for family, sockaddr in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out connecting")
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.settimeout(left)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect(sockaddr)
            watchdog.watch(sock)
        except OSError as exc:
            sock.close()
            if isinstance(exc, TimeoutError):
                raise
            failure = exc  # refused or unreachable: the host's next address may answer
            continue
        return sock
    raise failure


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to addresses already checked: the name is only for the Host header."""

    def __init__(
        self, target: _Target, addresses: list[Address], deadline: float, watchdog: _Watchdog
    ) -> None:
        super().__init__(target.host, target.port, timeout=max(deadline - time.monotonic(), 0))
        self._addresses = addresses
        self._deadline = deadline
        self._watchdog = watchdog

    def connect(self) -> None:
        """Open the socket to a checked address, never looking the name up again."""
        self.sock = _open(self._addresses, self._deadline, self._watchdog)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to addresses already checked; the name still picks and checks the certificate."""

    def __init__(
        self, target: _Target, addresses: list[Address], deadline: float, watchdog: _Watchdog
    ) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(
            target.host,
            target.port,
            timeout=max(deadline - time.monotonic(), 0),
            context=self._tls,
        )
        self._addresses = addresses
        self._deadline = deadline
        self._watchdog = watchdog

    def connect(self) -> None:
        """Open the socket to a checked address, then TLS with the URL's host name (SNI)."""
        raw = _open(self._addresses, self._deadline, self._watchdog)
        try:
            # A trailing dot is valid in DNS but matches no certificate name.
            name = self.host.rstrip(".")
            sock = self._tls.wrap_socket(raw, server_hostname=name, do_handshake_on_connect=False)
        except BaseException:
            raw.close()
            raise
        try:
            # Watched before the handshake, which a peer could trickle out as well.
            self._watchdog.watch(sock)
            sock.do_handshake()
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def _line(text: str) -> str:
    """Make text one printable line of at most MAX_ERROR characters."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat if len(flat) <= MAX_ERROR else flat[: MAX_ERROR - 1] + "…"


def _explain(exc: Exception) -> str:
    """Say in a few words why a connection or an answer failed."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the receiver closed the connection without answering"
    if isinstance(exc, http.client.HTTPException):
        return f"not a valid HTTP answer ({type(exc).__name__})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _drain(response: http.client.HTTPResponse) -> None:
    """Read (and drop) the start of an unsuccessful answer's body; never fail.

    Never quoted: a receiver that refuses a payload often echoes it back, and the error
    line goes to the log and the outbox page, where a reader's words must not.
    """
    with contextlib.suppress(OSError, http.client.HTTPException):
        response.read(MAX_ANSWER)


def _judge(response: http.client.HTTPResponse, host: str) -> Outcome:
    """Turn the receiver's answer into an Outcome; its status decides, not its body."""
    status = response.status
    if 200 <= status < 300:
        return Outcome(ok=True, status=status, error="", retry=False)
    location = response.getheader("location")
    if 300 <= status < 400 and location is not None:
        # Following would send the signed body wherever the receiver says, unchecked.
        # Only the host is named: a webhook URL's path often carries a secret token.
        try:
            to = urlsplit(location).hostname or host
        except ValueError:
            to = "an invalid address"
        error = f"HTTP {status}: redirect refused (to {to}); set the URL to where it points."
    else:
        _drain(response)
        error = f"HTTP {status} {response.reason}"
    # 410 Gone is the receiver saying never again; every other failure may pass (the spec).
    return Outcome(ok=False, status=status, error=_line(error), retry=status != 410)


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_private: bool,
    timeout: float = 10.0,
) -> Outcome:
    """POST the body to a public address of the URL within `timeout` seconds in all."""
    deadline = time.monotonic() + timeout
    target, problem = _parse(url)
    if target is None:
        return Outcome(ok=False, status=None, error=_line(problem), retry=False)
    try:
        addresses = _resolve(target, allow_private, timeout)
    except Refused as exc:
        # The address (or the URL) will not become acceptable by waiting.
        return Outcome(ok=False, status=None, error=_line(str(exc)), retry=False)
    except OSError as exc:
        # Names come and go (a new domain, a resolver down): worth another try.
        error = f"cannot look up {target.host}: {_explain(exc)}"
        return Outcome(ok=False, status=None, error=_line(error), retry=True)
    watchdog = _Watchdog(deadline - time.monotonic())
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = kind(target, addresses, deadline, watchdog)
    sent = dict(headers)
    if not any(name.lower() == "user-agent" for name in sent):
        sent["user-agent"] = USER_AGENT
    watchdog.start()
    try:
        conn.request("POST", target.path, body=body, headers=sent)
        return _judge(conn.getresponse(), target.host)
    except (OSError, http.client.HTTPException) as exc:
        why = f"no complete answer within {timeout:g} s" if watchdog.fired else _explain(exc)
        return Outcome(ok=False, status=None, error=_line(f"{why} ({target.host})"), retry=True)
    finally:
        watchdog.stop()
        conn.close()
