"""The public form keeps no IP address: not in the database, not in the logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import stored_text, valid_form

READER_IP = "203.0.113.77"
FORWARDED_IP = "198.51.100.23"


def test_no_ip_address_in_the_database_file_or_the_log(
    app: Flask, client: FlaskClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = client.post(
        "/",
        data=valid_form(body="A tip about the ministry, long enough to be stored."),
        environ_base={"REMOTE_ADDR": READER_IP},
        headers={"X-Forwarded-For": FORWARDED_IP, "X-Real-IP": FORWARDED_IP},
    )
    assert response.status_code == 303
    client.get(response.headers["Location"], environ_base={"REMOTE_ADDR": READER_IP})

    stored = stored_text(app, tmp_path)
    assert b"ministry" in stored  # the database really holds the submission
    for ip in (READER_IP, FORWARDED_IP):
        assert ip.encode() not in stored
        assert ip not in caplog.text
    assert "POST / 303" in caplog.text  # the request was logged, without the address


def test_request_log_names_the_route_not_the_query_or_text(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="intake.requests")
    client.get("/?article=https://example.org/secret-story&reporter=iryna")
    client.get("/thanks/T-2345-6789")
    lines = [r.getMessage() for r in caplog.records if r.name == "intake.requests"]
    assert lines[0].startswith("GET / 200 ")
    assert lines[1].startswith("GET /thanks/<reference> 200 ")
    assert "secret-story" not in caplog.text
    assert "T-2345-6789" not in caplog.text


def test_log_has_no_reader_text_email_or_file_name(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    import io

    from tests.conftest import post_multipart

    caplog.set_level(logging.DEBUG)
    data = {
        **valid_form(
            subject="Subject-marker-41",
            body="Body-marker-42 long enough to be stored.",
            name="Name-marker-43",
            email="marker44@example.org",
            reporter="iryna",
        ),
        "files": [(io.BytesIO(b"file body"), "Filename-marker-45.txt")],
    }
    assert post_multipart(client, "/", data).status_code == 303
    for marker in ("marker-41", "marker-42", "marker-43", "marker44", "marker-45", READER_IP):
        assert marker not in caplog.text
