"""Attachments: accepted by content, cleaned of metadata, stored safely, served as downloads."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

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
