"""A NUL character in any parameter is a clear 400, never a crash (PostgreSQL refuses it)."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.conftest import ADMIN_TOTP, AuthActions, add_staff, make_submission


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("POST", "/staff/login", {"email": "admin\x00@example.org", "password": "x"}),
        ("GET", "/staff/?q=a%00b", None),
        ("POST", "/staff/bulk", {"pick": "T-AAAA-AAAA\x00:1", "action": "status:closed"}),
        ("POST", "/staff/canned/new", {"desk": "world\x00", "title": "t", "text_en": "x"}),
        ("POST", "/staff/tokens/revoke", {"name": "a\x00b"}),
        ("POST", "/staff/admin/newsroom/reporters/a%00b/move-items", None),
        ("GET", "/api/v1/submissions?desk=world%00", None),
    ],
)
def test_a_nul_anywhere_is_400(
    app: Flask, password_hash: str, method: str, path: str, data: dict[str, str] | None
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash would be a 500, not raised
    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    make_submission(app)
    client = app.test_client()
    if path != "/staff/login":
        AuthActions(app, client).login("admin@example.org")
    response = client.open(path, method=method, data=data)
    assert response.status_code == 400
