"""Public reference codes: short, unguessable, easy to read aloud (e.g. Q-7K3F-9P2M)."""

from __future__ import annotations

import re
import secrets

# 32 symbols without 0/O and 1/I, which are misheard and misread: 5 bits a symbol.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
PREFIXES = {"tip": "T", "question": "Q"}
GROUP = 4
GROUPS = 2  # 8 symbols: 40 random bits, about 1.1e12 codes per kind

PATTERN = re.compile(rf"^[{''.join(PREFIXES.values())}](?:-[{ALPHABET}]{{{GROUP}}}){{{GROUPS}}}$")


def new_reference(kind: str) -> str:
    """Return a fresh random reference for a submission of this kind."""
    groups = ("".join(secrets.choice(ALPHABET) for _ in range(GROUP)) for _ in range(GROUPS))
    return "-".join([PREFIXES[kind], *groups])


def normalise(text: str) -> str | None:
    """Return the reference a person typed, in canonical form, or None if it is not one."""
    compact = re.sub(r"[\s\-]", "", text.upper())
    if len(compact) != 1 + GROUP * GROUPS:
        return None
    body = compact[1:]
    candidate = "-".join([compact[0], *(body[i : i + GROUP] for i in range(0, len(body), GROUP))])
    return candidate if PATTERN.match(candidate) else None


def kind_of(reference: str) -> str | None:
    """Return the kind a well-formed reference stands for."""
    if not PATTERN.match(reference):
        return None
    return next(kind for kind, prefix in PREFIXES.items() if reference.startswith(prefix))
