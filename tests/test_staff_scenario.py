"""The issue's scenario, start to end: an editor works one Ukrainian tip from the inbox."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from intake.extensions import db
from intake.models import OutboxEmail
from tests.conftest import DESK_HOURS, AuthActions, make_submission


def test_editor_works_a_ukrainian_tip_and_another_desk_cannot_see_it(
    app: Flask, client: FlaskClient, auth: AuthActions, staff: dict[str, str]
) -> None:
    tip = make_submission(
        app,
        body="Де зараз фронт? Під Покровськом вночі чули вибухи, світла немає з ранку.",
        email="reader@example.org",
        consent_contact=True,
        now=DESK_HOURS,  # nobody on shift: it waits, unassigned, in the World inbox
    )
    make_submission(
        app, body="When will the peace talks start? Who is mediating them?", now=DESK_HOURS
    )

    auth.login(staff["editor"])
    inbox = client.get("/staff/?topic=russia-ukraine-war&assignee=unassigned&language=uk")
    html = inbox.get_data(as_text=True)
    assert re.findall(r">([TQ]-\w{4}-\w{4})</a>", html) == [tip]

    page = client.get(f"/staff/s/{tip}").get_data(as_text=True)
    version = re.search(r'id="status_version" name="version" type="hidden" value="(\d+)"', page)
    assert version
    steps = [
        ("assign", {"target": "reporter:iryna"}),
        ("note", {"text": "Iryna knows the area; checking with the city council."}),
        ("reply", {"text": "Дякуємо! Чи можете сказати, звідки ви це знаєте?"}),
    ]
    for action, data in steps:
        response = client.post(
            f"/staff/s/{tip}/{action}", data={**data, "version": version.group(1)}
        )
        assert response.status_code == 303, response.get_data(as_text=True)
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        version = re.search(r'id="status_version" name="version" type="hidden" value="(\d+)"', page)
        assert version

    history = page[page.index('id="history-h"') :]
    for kind in ("created", "routed", "reassigned", "emailed", "note", "reply"):
        assert f"<strong>{kind}</strong>" in history
    assert "to Iryna Koval (World News)" in history
    assert "checking with the city council" in history
    with app.app_context():
        purposes = {(e.purpose, e.recipient) for e in db.session.scalars(sa.select(OutboxEmail))}
    assert ("reporter_notice", "iryna.koval@example.org") in purposes
    assert ("reply", "reader@example.org") in purposes

    other = app.test_client()
    assert AuthActions(app, other).login(staff["politics_reporter"]).status_code == 303
    assert other.get(f"/staff/s/{tip}").status_code == 404
    assert tip not in other.get("/staff/").get_data(as_text=True)
