"""Readers' attachments: allowed by content, cleaned of image metadata, stored by random name."""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import filetype
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from PIL import (
    Image,
    ImageCms,
    ImageOps,
    PngImagePlugin,
    TiffImagePlugin,
    UnidentifiedImageError,
    features,
)

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
# The extension a download gets for each type (the first), and others it is known by; a name
# that ends otherwise gets the first added, so no `.js`, `.hta` or `.svg` opens as such.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "image/tiff": (".tif", ".tiff"),
    "image/bmp": (".bmp",),
    "application/pdf": (".pdf",),
    "text/plain": (".txt",),
    "application/rtf": (".rtf",),
    "application/msword": (".doc",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.oasis.opendocument.text": (".odt",),
    "application/vnd.ms-excel": (".xls",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
    "application/vnd.ms-powerpoint": (".ppt",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (".pptx",),
    "application/vnd.oasis.opendocument.presentation": (".odp",),
    "audio/mpeg": (".mp3",),
    "audio/mp4": (".m4a", ".mp4"),
    "audio/ogg": (".ogg", ".oga", ".opus"),
    "audio/x-wav": (".wav",),
    "audio/x-flac": (".flac",),
    "audio/aac": (".aac",),
    "audio/amr": (".amr",),
    "video/mp4": (".mp4", ".m4v"),
    "video/quicktime": (".mov", ".qt"),
    "video/webm": (".webm",),
    "video/x-matroska": (".mkv",),
    "video/3gpp": (".3gp", ".3gpp"),
    "video/x-m4v": (".m4v", ".mp4"),
}
UNKNOWN_EXTENSION = ".bin"
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
MEGAPIXEL = 1_000_000
EXIF_IFD = 0x8769
GPS_IFD = 0x8825
IPTC_TAGS = (33723, 34377)  # IPTC and Photoshop blocks in a TIFF
# TIFF tags that say who made an image, with what, when and about what; the rest describe
# the pixels and are written anew.
TIFF_DESCRIPTIVE = {
    269: "DocumentName",
    270: "ImageDescription",
    271: "Make",
    272: "Model",
    285: "PageName",
    305: "Software",
    306: "DateTime",
    315: "Artist",
    316: "HostComputer",
    33432: "Copyright",
}
# Modes LittleCMS converts, and the mode of their colour channels without alpha.
ICC_COLOURS = {"RGB": "RGB", "RGBA": "RGB", "L": "L", "LA": "L", "CMYK": "CMYK"}


class AttachmentError(Exception):
    """A file that cannot be accepted; the message tells the reader why and what to do."""


@dataclass(frozen=True)
class Limits:
    """How many files, and how large, one submission may carry."""

    count: int = 5
    each: int = 20 * 1024 * 1024
    total: int = 50 * 1024 * 1024
    # Decoding costs memory by pixels, not bytes: a small PNG can hold 88 megapixels.
    image_pixels: int = 40 * MEGAPIXEL
    total_pixels: int = 80 * MEGAPIXEL

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """Read the INTAKE_MAX_* settings (the form and mail in share them)."""
        return cls(
            count=int(config["INTAKE_MAX_FILES"]),
            each=int(config["INTAKE_MAX_FILE_MB"]) * 1024 * 1024,
            total=int(config["INTAKE_MAX_TOTAL_MB"]) * 1024 * 1024,
        )


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
    pixels: int = 0


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


def download_name(name: str, media_type: str) -> str:
    """Name a download so its extension is that of the type its bytes are, not the sender's."""
    known = EXTENSIONS.get(media_type, (UNKNOWN_EXTENSION,))
    stem, dot, extension = name.rpartition(".")
    if stem and dot and f".{extension.lower()}" in known:
        return name
    return name + known[0]


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


def _clean_image(
    path: Path, media_type: str, name: str, limits: Limits, pixels_left: int
) -> tuple[bytes, str, int]:
    """Re-encode an image from its pixels alone, so no metadata can come along; keep its look."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                # Image.open has read only the header: refuse before decoding costs memory.
                pixels = _check_pixels(image.size, name, limits, pixels_left)
                image.load()
                found = _metadata_found(image)
                upright = ImageOps.exif_transpose(image)
                if icc := image.info.get("icc_profile"):
                    in_srgb = _to_srgb(upright, icc)
                    found.append(
                        "ICC profile (colours converted to sRGB)"
                        if in_srgb
                        else "ICC profile (colours not converted, may look different)"
                    )
                    upright = in_srgb or upright
                out = io.BytesIO()
                options = {"quality": 95} if media_type == "image/jpeg" else {}
                _pixels_only(upright).save(out, format=CLEANABLE[media_type], **options)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise AttachmentError(_image_too_large(name, limits)) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise AttachmentError(
                _("This image could not be read, so it could not be cleaned of its metadata.")
            ) from None
    note = "metadata removed: " + ", ".join(found) if found else "no metadata found"
    return out.getvalue(), note, pixels


def _check_pixels(size: tuple[int, int], name: str, limits: Limits, pixels_left: int) -> int:
    """Refuse an image too large to decode, alone or with the others; return its pixels."""
    pixels = size[0] * size[1]
    if pixels > limits.image_pixels:
        raise AttachmentError(_image_too_large(name, limits))
    if pixels > pixels_left:
        raise AttachmentError(
            _(
                "The images together are too large: we accept at most %(max)s megapixels "
                "in all. Send fewer images, or smaller versions of them.",
                max=_megapixels(limits.total_pixels),
            )
        )
    return pixels


def _image_too_large(name: str, limits: Limits) -> str:
    return str(
        _(
            "“%(name)s” is too large an image: we accept at most %(max)s megapixels. Send a "
            "smaller version of it (a screenshot, or a copy saved at a lower resolution).",
            name=name,
            max=_megapixels(limits.image_pixels),
        )
    )


def _megapixels(pixels: int) -> str:
    return f"{pixels / MEGAPIXEL:g}"


def _metadata_found(image: Image.Image) -> list[str]:
    """Name the kinds of metadata an image carries, for the note staff read."""
    info = image.info
    exif = image.getexif()
    found = []
    if isinstance(image, TiffImagePlugin.TiffImageFile):
        # A TIFF's own tags are its EXIF folder's top level; name only those that tell tales.
        tags = sorted(label for tag, label in TIFF_DESCRIPTIVE.items() if tag in exif)
        if tags:
            found.append(f"TIFF tags ({', '.join(tags)})")
        if EXIF_IFD in exif:
            found.append("EXIF tags")
    elif exif or info.get("exif"):
        found.append("EXIF tags")
    if exif.get_ifd(GPS_IFD):
        found.append("GPS position")
    if info.get("xmp") or info.get("XML:com.adobe.xmp"):
        found.append("XMP")
    if info.get("photoshop") or any(tag in exif for tag in IPTC_TAGS):
        found.append("IPTC")
    if info.get("comment"):
        found.append("comment")
    if isinstance(image, PngImagePlugin.PngImageFile) and set(image.text) - {"XML:com.adobe.xmp"}:
        found.append("text chunks")
    return found


def _pixels_only(image: Image.Image) -> Image.Image:
    """Copy pixels, palette and transparency into a new image; nothing else comes along."""
    fresh = Image.new(image.mode, image.size)
    fresh.paste(image)
    if image.palette is not None and image.mode in ("P", "PA"):
        rawmode = image.palette.mode
        fresh.putpalette(image.getpalette(rawmode) or [], rawmode)
    if "transparency" in image.info:
        fresh.info["transparency"] = image.info["transparency"]
    return fresh


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image | None:
    """Convert colours from their ICC profile to sRGB, as viewers assume without one."""
    if not features.check_module("littlecms2"):
        return None
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if image.mode == "P":
            return _palette_to_srgb(image, source)
        return _colours_to_srgb(image, source)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None  # a broken or unusual profile: drop it unconverted rather than refuse


def _palette_to_srgb(image: Image.Image, source: ImageCms.ImageCmsProfile) -> Image.Image:
    """Convert a palette's colours, so the pixels keep their indices and transparency."""
    if image.palette is None:
        raise ValueError("palette image without a palette")
    rawmode = image.palette.mode
    entries = bytes(image.getpalette(rawmode) or [])
    strip = Image.frombytes(rawmode, (len(entries) // len(rawmode), 1), entries)
    converted = image.copy()
    converted.putpalette(_colours_to_srgb(strip, source).tobytes(), rawmode)
    return converted


def _colours_to_srgb(image: Image.Image, source: ImageCms.ImageCmsProfile) -> Image.Image:
    """Convert pixels to sRGB, keeping grey images grey and alpha as it was."""
    if "transparency" in image.info and image.mode in ("L", "RGB"):
        # A transparent colour would no longer match once converted: make it an alpha channel.
        image = image.convert(f"{image.mode}A")
    colours = ICC_COLOURS.get(image.mode)
    if colours is None:
        raise ValueError(f"no ICC conversion for mode {image.mode}")
    converted = ImageCms.profileToProfile(
        image.convert(colours), source, ImageCms.createProfile("sRGB"), outputMode="RGB"
    )
    if converted is None:
        raise ValueError("ICC conversion gave no image")
    if colours == "L":
        converted = converted.convert("L")
    if "A" in image.getbands():
        converted.putalpha(image.getchannel("A"))
    return converted


def receive(files: Sequence[Incoming], folder: Path, limits: Limits) -> list[Stored]:
    """Check and store files; raise AttachmentError (and store none) if one is refused."""
    files = [f for f in files if f.filename]
    if len(files) > limits.count:
        raise AttachmentError(_("Send at most %(n)s files with one message.", n=limits.count))
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stored: list[Stored] = []
    total = pixels = 0
    try:
        for incoming in files:
            item = _receive_one(incoming, folder, limits, limits.total_pixels - pixels)
            stored.append(item)
            total += item.size
            pixels += item.pixels
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


def _receive_one(incoming: Incoming, folder: Path, limits: Limits, pixels_left: int) -> Stored:
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
        cleaned, note, pixels = False, "kept as sent", 0
        if media_type in CLEANABLE:
            content, note, pixels = _clean_image(temp, media_type, name, limits, pixels_left)
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
        return Stored(
            stored_name, name, media_type, size, digest.hexdigest(), cleaned, note, pixels
        )
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
