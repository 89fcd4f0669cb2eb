"""Which story links a reader sent may be shown as links: only the newsroom's own sites.

`article` comes from the form, so a reader (or whoever sent them a crafted link) chooses
it. Staff pages and emails link it only when its host is one of the newsroom's; any other
address is shown as plain text, and in email defanged so mail clients do not link it.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def default_hosts(public_url: str) -> tuple[str, ...]:
    """Derive the newsroom's domain from where intake runs: tips.example.org -> example.org."""
    host = (urlsplit(public_url).hostname or "").lower().rstrip(".")
    if not host:
        return ()
    try:
        ipaddress.ip_address(host)
        return (host,)  # an address, not a name: only itself
    except ValueError:
        pass
    labels = host.split(".")
    return (".".join(labels[1:]),) if len(labels) > 2 else (host,)


def parse_hosts(setting: str) -> tuple[str, ...]:
    """Read INTAKE_ARTICLE_HOSTS: domains separated by commas or spaces."""
    found = (part.strip().lower().rstrip(".") for part in setting.replace(",", " ").split())
    return tuple(dict.fromkeys(h.removeprefix("*.") for h in found if h))


def newsroom_hosts(setting: str, public_url: str) -> tuple[str, ...]:
    """Return the hosts whose links may be shown: the setting, or else the default."""
    return parse_hosts(setting) or default_hosts(public_url)


def is_newsroom_link(url: str, hosts: tuple[str, ...]) -> bool:
    """Say whether a URL is http(s) on one of the hosts or a subdomain of one."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        return False
    return any(host == h or host.endswith("." + h) for h in hosts)


def linkable(url: str, setting: str, public_url: str) -> bool:
    """Say whether a story link may be shown as a link, by INTAKE_ARTICLE_HOSTS or default."""
    return is_newsroom_link(url, newsroom_hosts(setting, public_url))


def defang(url: str) -> str:
    """Write an address so that no mail client turns it into a link."""
    return url.replace("://", "[:]//").replace(".", "[.]")
