"""Attachments: accepted by content, cleaned of metadata, stored safely, served as downloads."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageCms, PngImagePlugin, TiffImagePlugin
from werkzeug.http import parse_options_header

from intake.attachments import (
    ALLOWED,
    EXTENSIONS,
    AttachmentError,
    Incoming,
    Limits,
    download_name,
    receive,
)
from intake.extensions import db
from intake.models import Attachment, OutboxEmail, Submission
from tests.conftest import AuthActions, field_errors, make_app, post_multipart, valid_form

GPS_IFD = 0x8825


def photo_with_gps() -> bytes:
    """Return a JPEG that carries GPS, camera make and a 90-degree orientation in EXIF."""
    image = Image.new("RGB", (40, 20), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    exif[0x0112] = 6  # shown rotated 90 degrees
    exif[GPS_IFD] = {1: "N", 2: (50.0, 0.0, 0.0), 3: "E", 4: (36.0, 14.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120


def post(client: FlaskClient, *files: tuple[bytes, str], **fields: str) -> tuple[int, str]:
    data: dict[str, object] = {
        **valid_form(reporter="iryna", **fields),
        "files": [(io.BytesIO(content), name) for content, name in files],
    }
    response = post_multipart(client, "/", data)
    return response.status_code, response.get_data(as_text=True)


def stored(app: Flask) -> list[Attachment]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Attachment).order_by(Attachment.id)))


def uploads(app: Flask) -> Path:
    return Path(app.config["INTAKE_UPLOADS"])


def test_photo_loses_gps_and_camera_data_but_keeps_its_orientation(
    app: Flask, client: FlaskClient
) -> None:
    original = photo_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)
    status, _ = post(client, (original, "IMG_0001.jpg"))
    assert status == 303
    [item] = stored(app)
    path = uploads(app) / item.stored_name
    with Image.open(path) as image:
        assert not image.getexif()
        assert not image.getexif().get_ifd(GPS_IFD)
        assert "exif" not in image.info
        assert image.size == (20, 40)  # turned upright, as the phone showed it
    assert b"SecretCam" not in path.read_bytes()
    assert item.cleaned and "GPS position" in item.note and item.media_type == "image/jpeg"
    with app.app_context():
        events = db.session.scalars(sa.select(Submission)).one().events
        assert any(e.kind == "attachment" and "GPS position" in e.detail for e in events)


@pytest.mark.parametrize(
    ("content", "name", "media_type"),
    [
        (PDF, "scan.jpg", "application/pdf"),  # a PDF renamed .jpg is a PDF
        ("Список загиблих, перевірено.\n".encode(), "notes.exe", "text/plain"),
    ],
)
def test_files_are_judged_by_content_not_name(
    app: Flask, client: FlaskClient, content: bytes, name: str, media_type: str
) -> None:
    status, _ = post(client, (content, name))
    assert status == 303
    [item] = stored(app)
    assert item.media_type == media_type
    assert (uploads(app) / item.stored_name).read_bytes() == content


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (ELF, "report.pdf", "is not a kind of file we accept"),
        (b"MZ\x90\x00" + b"\x00" * 200, "photo.jpg", "is not a kind of file we accept"),
        (
            b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
            "IMG.HEIC",
            "iPhone HEIC photos cannot be cleaned",
        ),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "broken.jpg", "could not be read"),
        (b"", "empty.txt", "is empty"),
    ],
)
def test_refused_file_is_a_field_error_and_the_text_is_kept(
    app: Flask, client: FlaskClient, content: bytes, name: str, message: str
) -> None:
    status, html = post(client, (content, name), body="Текст, який треба зберегти повністю.")
    assert status == 400
    assert message in field_errors(html)["files"]
    assert "Текст, який треба зберегти повністю." in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 0
    assert not any(uploads(app).glob("*")) if uploads(app).exists() else True


def test_path_traversal_in_a_file_name_is_harmless(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    status, _ = post(client, (b"plain text here", "../../../../etc/cron.d/evil.txt"))
    assert status == 303
    [item] = stored(app)
    assert item.original_name == "evil.txt"
    assert len(item.stored_name) == 32 and item.stored_name.isalnum()
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.read_bytes() == b"plain text here"]
    assert files == [uploads(app) / item.stored_name]
    assert (uploads(app) / item.stored_name).stat().st_mode & 0o077 == 0


@pytest.fixture
def small_app(tmp_path: Path) -> Iterator[Flask]:
    """An app that takes at most 2 files of 1 MB, 1 MB in all."""
    app = make_app(tmp_path, INTAKE_MAX_FILES=2, INTAKE_MAX_FILE_MB=1, INTAKE_MAX_TOTAL_MB=1)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ([10, 10, 10], "Send at most 2 files with one message."),
        ([1024 * 1024 + 1], "is larger than 1 MB"),
        ([700 * 1024, 700 * 1024], "All files together can be at most 1 MB."),
    ],
)
def test_limits_on_count_and_size(small_app: Flask, sizes: list[int], message: str) -> None:
    files = [(b"a" * size, f"f{i}.txt") for i, size in enumerate(sizes)]
    status, html = post(small_app.test_client(), *files)
    assert status == 400
    assert message in field_errors(html)["files"]
    assert not any(uploads(small_app).glob("*"))


def test_a_failed_transaction_leaves_no_file_behind(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        db.session.execute(sa.text("DROP TABLE outbox_emails"))
        db.session.commit()
    status, _ = post(client, (PDF, "scan.pdf"))
    assert status == 503
    assert not any(uploads(app).glob("*"))


def test_staff_download_is_an_attachment_never_inline(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    post(client, (PDF, "Звіт <script>.pdf"))
    [item] = stored(app)
    with app.app_context():
        reference = db.session.scalars(sa.select(Submission.reference)).one()
    url = f"/staff/s/{reference}/files/{item.id}"
    assert client.get(url).status_code == 302  # anonymous: sign in first
    auth.login(staff["politics_reporter"])
    assert client.get(url).status_code == 404  # another desk: not even confirmed
    auth.logout()
    auth.login(staff["world_reporter"])
    page = client.get(f"/staff/s/{reference}").get_data(as_text=True)
    assert "Звіт &lt;script&gt;.pdf" in page and item.sha256 in page
    with client.get(url) as response:
        assert response.status_code == 200
        assert response.data == PDF
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"].startswith("no-store")
    assert client.get(f"/staff/s/{reference}/files/{item.id + 1}").status_code == 404


def test_reporter_email_counts_files_but_never_names_them(app: Flask, client: FlaskClient) -> None:
    post(client, (PDF, "secret-ministry-memo.pdf"), (b"notes", "source-name.txt"))
    with app.app_context():
        notice = db.session.scalars(
            sa.select(OutboxEmail).where(OutboxEmail.purpose == "reporter_notice")
        ).one()
    assert "2 attached (open them in intake)" in notice.body
    assert "ministry-memo" not in notice.body and "source-name" not in notice.body


# --- Download names follow the sniffed type (review finding 6) ----------------------------

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize(
    ("name", "media_type", "expected"),
    [
        ("evidence.js", "text/plain", "evidence.js.txt"),
        ("update.hta", "text/plain", "update.hta.txt"),
        ("fix.bat", "text/plain", "fix.bat.txt"),
        ("run.ps1", "text/plain", "run.ps1.txt"),
        ("logo.svg", "text/plain", "logo.svg.txt"),
        ("x.png", "image/jpeg", "x.png.jpg"),
        ("scan.jpg", "application/pdf", "scan.jpg.pdf"),
        ("memo.docm", DOCX, "memo.docm.docx"),
        ("notes", "text/plain", "notes.txt"),
        ("notes.txt", "text/plain", "notes.txt"),
        ("IMG_0001.JPG", "image/jpeg", "IMG_0001.JPG"),
        ("photo.jpeg", "image/jpeg", "photo.jpeg"),
        ("Звіт.docx", DOCX, "Звіт.docx"),
        ("interview.m4a", "audio/mp4", "interview.m4a"),
        ("clip.mov", "video/quicktime", "clip.mov"),
        ("unknown", "application/x-never-accepted", "unknown.bin"),
    ],
)
def test_download_name_ends_in_the_extension_of_the_sniffed_type(
    name: str, media_type: str, expected: str
) -> None:
    assert download_name(name, media_type) == expected


def test_every_accepted_type_has_a_download_extension() -> None:
    assert set(ALLOWED) <= set(EXTENSIONS)


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"document.location = 'https://example.org/';\n", "evidence.js", "evidence.js.txt"),
        (photo_with_gps(), "x.png", "x.png.jpg"),
        (PDF, "scan.pdf", "scan.pdf"),
    ],
)
def test_staff_download_is_named_for_its_sniffed_type(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    staff: dict[str, str],
    content: bytes,
    name: str,
    expected: str,
) -> None:
    post(client, (content, name))
    [item] = stored(app)
    with app.app_context():
        reference = db.session.scalars(sa.select(Submission.reference)).one()
    auth.login(staff["world_reporter"])
    with client.get(f"/staff/s/{reference}/files/{item.id}") as response:
        disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert (disposition, options["filename"]) == ("attachment", expected)


# --- Cleaning re-encodes from pixels only (review finding 7) ------------------------------

EXIF_IFD = 0x8769
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">SecretXMP</x:xmpmeta>'
RED = (255, 0, 0)
# TIFF tags that tell who made it, with what, where and about what (with the EXIF and GPS
# folders, XMP, IPTC and the ICC profile); its structural tags are fine.
TIFF_METADATA_TAGS = {269, 270, 271, 272, 285, 305, 306, 315, 316, 33432}
TIFF_METADATA_TAGS |= {EXIF_IFD, GPS_IFD, 700, 33723, 34377, 34675}


def swapped_profile() -> bytes:
    """Return an ICC profile that is sRGB with red and green swapped, so conversion shows."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack(">I", profile[128:132])
    where = {bytes(profile[132 + 12 * i : 136 + 12 * i]): 136 + 12 * i for i in range(count)}
    red, green = where[b"rXYZ"], where[b"gXYZ"]
    profile[red : red + 8], profile[green : green + 8] = (
        profile[green : green + 8],
        profile[red : red + 8],
    )
    return bytes(profile)


def full_exif() -> Image.Exif:
    """Return EXIF with a camera, an author, an owner's name and a GPS position."""
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    exif[0x013B] = "SecretArtist"
    exif[EXIF_IFD] = {0xA430: "SecretOwner"}
    exif[GPS_IFD] = {1: "N", 2: (50.0, 0.0, 0.0), 3: "E", 4: (36.0, 14.0, 0.0)}
    loaded = Image.Exif()
    loaded.load(exif.tobytes())  # TIFF's writer reads nested IFDs only from loaded EXIF
    return loaded


def jpeg_with_everything() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), RED).save(
        out,
        "JPEG",
        exif=full_exif(),
        xmp=XMP,
        comment=b"SecretComment",
        icc_profile=swapped_profile(),
    )
    return out.getvalue()


def png_with_everything() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "SecretText")
    info.add_text("Description", "SecretZText", zip=True)
    info.add_itxt("Title", "SecretIText", lang="en", tkey="Title")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    out = io.BytesIO()
    Image.new("RGB", (8, 8), RED).save(
        out, "PNG", exif=full_exif(), pnginfo=info, icc_profile=swapped_profile()
    )
    return out.getvalue()


def gif_with_everything() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), RED).convert("P").save(out, "GIF", comment=b"SecretComment")
    return out.getvalue()


def webp_with_everything() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), RED).save(
        out, "WEBP", lossless=True, exif=full_exif(), xmp=XMP, icc_profile=swapped_profile()
    )
    return out.getvalue()


def tiff_with_everything() -> bytes:
    tags = full_exif()
    tags[270] = "SecretDescription"  # ImageDescription
    tags[305] = "SecretSoftware"
    tags[33432] = "SecretCopyright"
    tags[700] = XMP
    out = io.BytesIO()
    Image.new("RGB", (8, 8), RED).save(out, "TIFF", exif=tags, icc_profile=swapped_profile())
    return out.getvalue()


def bmp_with_trailing_data() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), RED).save(out, "BMP")
    return out.getvalue() + b"SecretTrailer"  # readers ignore bytes after the pixels


def metadata_left(image: Image.Image) -> list[str]:
    """List what an opened image still carries besides its pixels."""
    keys = ("exif", "xmp", "XML:com.adobe.xmp", "comment", "icc_profile", "photoshop")
    left = [key for key in keys if image.info.get(key)]
    if isinstance(image, PngImagePlugin.PngImageFile) and image.text:
        left.append(f"text chunks {sorted(image.text)}")
    if isinstance(image, TiffImagePlugin.TiffImageFile):
        left += [f"TIFF tag {tag}" for tag in sorted(TIFF_METADATA_TAGS & set(image.tag_v2))]
    elif image.getexif():
        left.append("EXIF tags")
    return left


ICC_CONVERTED = "ICC profile (colours converted to sRGB)"


@pytest.mark.parametrize(
    ("content", "name", "note"),
    [
        (
            jpeg_with_everything(),
            "a.jpg",
            f"EXIF tags, GPS position, XMP, comment, {ICC_CONVERTED}",
        ),
        (
            png_with_everything(),
            "a.png",
            f"EXIF tags, GPS position, XMP, text chunks, {ICC_CONVERTED}",
        ),
        (gif_with_everything(), "a.gif", "comment"),
        (webp_with_everything(), "a.webp", f"EXIF tags, GPS position, XMP, {ICC_CONVERTED}"),
        (
            tiff_with_everything(),
            "a.tif",
            "TIFF tags (Artist, Copyright, ImageDescription, Make, Software), EXIF tags, "
            f"GPS position, XMP, {ICC_CONVERTED}",
        ),
        (bmp_with_trailing_data(), "a.bmp", ""),
    ],
    ids=["JPEG", "PNG", "GIF", "WebP", "TIFF", "BMP"],
)
def test_stored_image_keeps_none_of_the_metadata_the_note_says_was_removed(
    app: Flask, client: FlaskClient, content: bytes, name: str, note: str
) -> None:
    assert b"Secret" in content or metadata_left(Image.open(io.BytesIO(content)))
    status, _ = post(client, (content, name))
    assert status == 303
    [item] = stored(app)
    assert item.note == (f"metadata removed: {note}" if note else "no metadata found")
    raw = (uploads(app) / item.stored_name).read_bytes()
    with Image.open(io.BytesIO(raw)) as image:
        assert metadata_left(image) == []
        assert image.size == (8, 8)
    for trace in (b"Secret", b"acsp", b"Exif", b"xmpmeta", b"ns.adobe.com"):
        assert trace not in raw


def corners(image: Image.Image) -> list[int]:
    """Return how opaque the odd pixel in the corner is, then the RGBA colour of the rest."""
    rgba = image.convert("RGBA")
    return [rgba.getchannel("A").tobytes()[0], *rgba.crop((4, 4, 5, 5)).tobytes()]


def red_image(mode: str, corner: tuple[int, int, int, int]) -> Image.Image:
    """Return an 8x8 red image in a mode, with one pixel of another colour in its corner."""
    image = Image.new("RGBA", (8, 8), (255, 0, 0, 255))
    image.putpixel((0, 0), corner)
    return image.convert("RGB").quantize(2) if mode == "P" else image.convert(mode)


@pytest.mark.parametrize(
    ("fmt", "mode", "options"),
    [
        ("JPEG", "RGB", {"quality": 100}),
        ("PNG", "RGB", {}),
        ("PNG", "P", {}),
        ("PNG", "RGBA", {}),
        ("WEBP", "RGB", {"lossless": True}),
        ("TIFF", "RGB", {}),
    ],
)
def test_colours_are_converted_to_srgb_before_the_profile_is_dropped(
    app: Flask, client: FlaskClient, fmt: str, mode: str, options: dict[str, object]
) -> None:
    out = io.BytesIO()
    red_image(mode, (0, 0, 255, 255)).save(out, fmt, icc_profile=swapped_profile(), **options)
    post(client, (out.getvalue(), f"a.{fmt.lower()}"))
    [item] = stored(app)
    with Image.open(uploads(app) / item.stored_name) as cleaned:
        assert cleaned.mode == mode
        red, green, blue = cleaned.convert("RGB").crop((4, 4, 5, 5)).tobytes()
    assert red < 20 and green > 235 and blue < 20  # the profile said this red is green


@pytest.mark.parametrize(
    ("fmt", "mode", "options"),
    [
        ("PNG", "RGBA", {}),
        ("PNG", "LA", {}),
        ("PNG", "P", {"transparency": 0}),
        ("GIF", "P", {"transparency": 0}),
        ("WEBP", "RGBA", {"lossless": True}),
        ("TIFF", "RGBA", {}),
        ("BMP", "P", {}),
    ],
)
def test_cleaning_keeps_transparency_and_palettes(
    app: Flask, client: FlaskClient, fmt: str, mode: str, options: dict[str, object]
) -> None:
    image = red_image(mode, (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, fmt, **options)
    post(client, (out.getvalue(), f"a.{fmt.lower()}"))
    [item] = stored(app)
    with Image.open(io.BytesIO(out.getvalue())) as sent:
        expected = corners(sent)
    with Image.open(uploads(app) / item.stored_name) as cleaned:
        assert cleaned.mode == mode
        kept = corners(cleaned)
    assert kept == pytest.approx(expected, abs=2)  # WebP is re-encoded lossy


# --- Decompression bombs are refused from the header (review finding 9) -------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def blank_png(width: int, height: int, pixels: bool = True) -> bytes:
    """Return a black 1-bit PNG, cheap to make at any size; without pixels, only its header."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = bytes((1 + (width + 7) // 8) * height)  # each row: filter byte, then 8 pixels a byte
    data = png_chunk(b"IDAT", zlib.compress(rows, 9)) if pixels else b""
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + data + png_chunk(b"IEND", b"")


TOO_LARGE = "is too large an image: we accept at most 40 megapixels."


@pytest.mark.parametrize(
    "content",
    [blank_png(9400, 9400), blank_png(9400, 9400, pixels=False)],
    ids=["88-megapixel PNG", "its header alone"],
)
def test_a_decompression_bomb_is_refused_from_its_header(
    app: Flask, client: FlaskClient, content: bytes
) -> None:
    assert len(content) < 50_000
    status, html = post(client, (content, "bomb.png"))
    assert status == 400
    message = field_errors(html)["files"]
    assert f"“bomb.png” {TOO_LARGE}" in message and "Send a smaller version" in message
    assert not stored(app) and not any(uploads(app).glob("*"))


def test_an_image_just_under_the_pixel_cap_is_accepted(app: Flask, client: FlaskClient) -> None:
    status, _ = post(client, (blank_png(6324, 6324), "scan.png"))  # 39,992,976 pixels
    assert status == 303
    [item] = stored(app)
    assert item.cleaned and item.media_type == "image/png"


def test_images_over_the_submission_pixel_cap_together_are_refused(
    app: Flask, client: FlaskClient
) -> None:
    images = [(blank_png(6000, 6000), f"page{i}.png") for i in range(3)]  # 108 megapixels
    status, html = post(client, *images)
    assert status == 400
    assert "at most 80 megapixels in all" in field_errors(html)["files"]
    assert not stored(app) and not any(uploads(app).glob("*"))


@pytest.mark.parametrize(
    ("sizes", "refused_because"),
    [
        ([(10, 10)], None),
        ([(10, 11)], "“0.png” is too large an image: we accept at most 0.0001 megapixels"),
        ([(10, 10), (10, 5)], None),
        ([(10, 10), (10, 6)], "at most 0.00015 megapixels in all"),
    ],
)
def test_pixel_caps_per_image_and_per_submission(
    app: Flask, tmp_path: Path, sizes: list[tuple[int, int]], refused_because: str | None
) -> None:
    files = [Incoming(f"{i}.png", io.BytesIO(blank_png(*size))) for i, size in enumerate(sizes)]
    limits = Limits(image_pixels=100, total_pixels=150)
    folder = tmp_path / "uploads"
    with app.test_request_context():
        if refused_because is None:
            assert len(receive(files, folder, limits)) == len(sizes)
            return
        with pytest.raises(AttachmentError, match=refused_because):
            receive(files, folder, limits)
    assert not any(folder.iterdir())
