"""A local SMTP server for development that saves every message as a .eml file."""

from __future__ import annotations

import itertools
import os
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class SaveToFolder:
    """aiosmtpd handler: write each message to `folder` as <time>-<n>.eml."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # Owner-only: the messages hold readers' words.
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        """Save the message with its envelope recipients and accept it."""
        with self._lock:
            number = next(self._counter)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.folder / f"{stamp}-{number:05d}.eml"
        content = envelope.content
        raw = content if isinstance(content, bytes) else content.encode("utf-8")
        recipients = ", ".join(envelope.rcpt_tos)
        data = f"X-Envelope-To: {recipients}\r\n".encode() + raw
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return "250 OK"


def start(folder: Path, port: int, host: str = "127.0.0.1") -> Controller:
    """Start the catcher in a background thread; the caller stops it."""
    controller = Controller(SaveToFolder(folder), hostname=host, port=port)
    controller.start()
    return controller
