"""Readers' attachments: allowed by content, cleaned of image metadata, stored by random name."""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import filetype
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

# What readers may send, by the type their bytes show (never by name or browser claim).
ALLOWED = {
    "image/jpeg": "photo",
    "image/png": "image",
    "image/gif": "image",
    "image/webp": "image",
    "image/tiff": "image",
    "image/bmp": "image",
    "application/pdf": "PDF",
    "text/plain": "text",
    "application/rtf": "document",
    "application/msword": "document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
    "application/vnd.oasis.opendocument.text": "document",
    "application/vnd.ms-excel": "spreadsheet",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "spreadsheet",
    "application/vnd.oasis.opendocument.spreadsheet": "spreadsheet",
    "application/vnd.ms-powerpoint": "presentation",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "presentation",
    "application/vnd.oasis.opendocument.presentation": "presentation",
    "audio/mpeg": "audio",
    "audio/mp4": "audio",
    "audio/ogg": "audio",
    "audio/x-wav": "audio",
    "audio/x-flac": "audio",
    "audio/aac": "audio",
    "audio/amr": "audio",
    "video/mp4": "video",
    "video/quicktime": "video",
    "video/webm": "video",
    "video/x-matroska": "video",
    "video/3gpp": "video",
    "video/x-m4v": "video",
}
# Images Pillow can re-encode without their metadata, and the format to write them in.
CLEANABLE = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/tiff": "TIFF",
    "image/bmp": "BMP",
}
REFUSED_BECAUSE = {
    "image/heic": _l(
        "iPhone HEIC photos cannot be cleaned of their location here: "
        "send it as JPEG (a screenshot of it works too)."
    ),
    "image/avif": _l("AVIF images cannot be cleaned of their metadata here: send a JPEG or PNG."),
}
SNIFF_BYTES = 8192
TEXT_SNIFF = 64 * 1024
NAME_MAX = 200


class AttachmentError(Exception):
    """A file that cannot be accepted; the message tells the reader why and what to do."""


@dataclass(frozen=True)
class Limits:
    """How many files, and how large, one submission may carry."""

    count: int = 5
    each: int = 20 * 1024 * 1024
    total: int = 50 * 1024 * 1024


@dataclass(frozen=True)
class Stored:
    """A file written to the uploads folder, ready for its database row."""

    stored_name: str
    original_name: str
    media_type: str
    size: int
    sha256: str
    cleaned: bool
    note: str


@dataclass(frozen=True)
class Incoming:
    """A file as the form received it."""

    filename: str
    stream: IO[bytes]


def safe_name(filename: str) -> str:
    """Keep a file name for display and download only: no folders, no control characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip(" .")
    return base[:NAME_MAX] or "attachment"


def _sniff(head: bytes) -> str | None:
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut by the sniff window is still text.
            if exc.start < len(head) - 4:
                return None
        return "text/plain"
    return None


def _clean_image(path: Path, media_type: str) -> tuple[bytes, str]:
    """Re-encode an image without EXIF, GPS, XMP or comments; keep how it looks."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                image.load()
                found = sorted(
                    key
                    for key in ("exif", "xmp", "XML:com.adobe.xmp", "comment", "icc_profile")
                    if image.info.get(key)
                )
                if image.getexif():
                    found.append("EXIF tags")
                gps = image.getexif().get_ifd(0x8825)
                upright = ImageOps.exif_transpose(image)
                out = io.BytesIO()
                options = {"quality": 95} if media_type == "image/jpeg" else {}
                upright.save(out, format=CLEANABLE[media_type], **options)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise AttachmentError(
                _("This image is too large to check; send a smaller one.")
            ) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise AttachmentError(
                _("This image could not be read, so it could not be cleaned of its metadata.")
            ) from None
    parts = sorted(set(found)) + (["GPS position"] if gps else [])
    note = "metadata removed: " + ", ".join(parts) if parts else "no metadata found"
    return out.getvalue(), note


def receive(files: Sequence[Incoming], folder: Path, limits: Limits) -> list[Stored]:
    """Check and store files; raise AttachmentError (and store none) if one is refused."""
    files = [f for f in files if f.filename]
    if len(files) > limits.count:
        raise AttachmentError(_("Send at most %(n)s files with one message.", n=limits.count))
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stored: list[Stored] = []
    total = 0
    try:
        for incoming in files:
            item = _receive_one(incoming, folder, limits)
            stored.append(item)
            total += item.size
            if total > limits.total:
                raise AttachmentError(
                    _(
                        "All files together can be at most %(size)s MB.",
                        size=limits.total // (1024 * 1024),
                    )
                )
    except BaseException:
        discard(stored, folder)
        raise
    return stored


def _receive_one(incoming: Incoming, folder: Path, limits: Limits) -> Stored:
    name = safe_name(incoming.filename)
    handle, temp_name = tempfile.mkstemp(dir=folder, prefix=".incoming-")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            copied = _copy_capped(incoming.stream, out, limits.each)
        if copied > limits.each:
            raise AttachmentError(
                _(
                    "“%(name)s” is larger than %(size)s MB; send a smaller file.",
                    name=name,
                    size=limits.each // (1024 * 1024),
                )
            )
        if copied == 0:
            raise AttachmentError(_("“%(name)s” is empty.", name=name))
        with temp.open("rb") as data:
            head = data.read(TEXT_SNIFF)
        media_type = _sniff(head[:SNIFF_BYTES]) or ""
        if media_type == "text/plain":
            media_type = _sniff(head) or ""
        if media_type in REFUSED_BECAUSE:
            raise AttachmentError(f"“{name}”: {REFUSED_BECAUSE[media_type]}")
        if media_type not in ALLOWED:
            raise AttachmentError(
                _(
                    "“%(name)s” is not a kind of file we accept. Send photos, PDF, text, "
                    "office documents, audio or video.",
                    name=name,
                )
            )
        cleaned, note = False, "kept as sent"
        if media_type in CLEANABLE:
            content, note = _clean_image(temp, media_type)
            temp.write_bytes(content)
            cleaned = True
        digest = hashlib.sha256()
        size = 0
        with temp.open("rb") as data:
            for block in iter(lambda: data.read(1024 * 1024), b""):
                digest.update(block)
                size += len(block)
        stored_name = secrets.token_hex(16)
        os.chmod(temp, 0o600)
        os.replace(temp, folder / stored_name)
        return Stored(stored_name, name, media_type, size, digest.hexdigest(), cleaned, note)
    finally:
        temp.unlink(missing_ok=True)


def _copy_capped(source: IO[bytes], target: IO[bytes], cap: int) -> int:
    """Copy at most cap + 1 bytes, so an oversized file is noticed without reading it all."""
    copied = 0
    while copied <= cap:
        block = source.read(min(1024 * 1024, cap + 1 - copied))
        if not block:
            break
        target.write(block)
        copied += len(block)
    return copied


def discard(stored: Iterable[Stored], folder: Path) -> None:
    """Delete stored files whose submission was not saved."""
    for item in stored:
        (folder / item.stored_name).unlink(missing_ok=True)


def remove_orphans(folder: Path, known: set[str], older_than: float) -> int:
    """Delete files that no row names and that are old enough (left by a crash mid-submit)."""
    removed = 0
    if not folder.is_dir():
        return 0
    for path in folder.iterdir():
        if path.is_file() and path.name not in known and path.stat().st_mtime < older_than:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
