"""The rota, seen: who is on shift per desk and hour, what they read and cover, every gap."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from intake import rota
from intake.directory import parse_newsroom, routing_directory
from tests.conftest import STAFF, AuthActions, add_staff

NIGHT_GAP = """
[newsroom]
name = "Example Daily"
public_url = "https://news.example.org"
sender = "tips@news.example.org"
default_desk = "world"

[[desks]]
slug = "world"
name = "World News"
email = "world@news.example.org"
timezone = "Europe/Kyiv"

[[topics]]
slug = "war"
label = "Russia-Ukraine war"
desk = "world"

[[reporters]]
slug = "iryna"
name = "Iryna Koval"
email = "iryna@news.example.org"
desks = ["world"]
topics = ["war"]
languages = ["uk", "en"]
timezone = "UTC"
shift = "06:00-22:00"

[[reporters]]
slug = "mark"
name = "Mark Hale"
email = "mark@news.example.org"
desks = ["world"]
topics = ["war"]
languages = ["en"]
timezone = "UTC"
shift = "22:00-06:00"
"""
MONDAY = "2026-11-30T00:00:00+00:00"


def test_rota_json_names_the_night_without_a_ukrainian_reader(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "newsroom.toml"
    path.write_text(NIGHT_GAP, encoding="utf-8")
    runner = app.test_cli_runner()
    loaded = runner.invoke(args=["intake", "load-newsroom", str(path)])
    assert loaded.exit_code == 0, loaded.output
    result = runner.invoke(
        args=["intake", "rota", "--from", MONDAY, "--days", "7", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    [desk] = [d for d in json.loads(result.output)["desks"] if d["slug"] == "world"]
    assert len(desk["hours"]) == 7 * 24
    uk = [g for g in desk["gaps"] if g["kind"] == "language" and g["value"] == "uk"]
    assert [(g["start"], g["end"], len(g["days"])) for g in uk] == [
        ("00:00", "06:00", 7),
        ("22:00", "24:00", 7),
    ]
    assert uk[0]["text"] == (
        "no one reading uk on shift 00:00–06:00 UTC (02:00–08:00 Europe/Kyiv), every day"
    )
    assert not [g for g in desk["gaps"] if g["kind"] in ("anyone", "topic")]


def test_loading_a_file_warns_of_its_gaps_and_still_loads(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "newsroom.toml"
    path.write_text(NIGHT_GAP, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["intake", "load-newsroom", str(path)])
    assert result.exit_code == 0
    assert "Loaded 'Example Daily'" in result.output
    assert "warning: World News: no one reading uk on shift 22:00–24:00 UTC" in result.output


def test_rota_text_shows_each_hour_with_local_time(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["intake", "rota", "--from", "2026-11-30T09:30:00+00:00"]
    )
    assert result.exit_code == 0, result.output
    assert "World News (world; UTC)" in result.output
    assert "Mon 2026-11-30 09:00 UTC (09:00 local)" in result.output


def test_rota_refuses_a_time_without_a_zone(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["intake", "rota", "--from", "2026-11-30T09:00"])
    assert result.exit_code == 2 and "give the time zone" in result.output


@pytest.mark.parametrize(
    ("days", "said"),
    [
        (("Mon", "Tue", "Wed", "Thu", "Fri"), "Mon–Fri"),
        (("Sat", "Sun"), "Sat, Sun"),
        (("Mon", "Tue", "Wed", "Fri"), "Mon–Wed, Fri"),
        (("Wed",), "Wed"),
        (rota.DAYS, "every day"),
    ],
)
def test_days_are_said_as_a_person_would(days: tuple[str, ...], said: str) -> None:
    assert rota._days(days, rota.DAYS) == said


def test_an_hour_with_nobody_is_one_gap_not_one_per_language() -> None:
    directory = routing_directory(parse_newsroom(NIGHT_GAP.replace("22:00-06:00", "23:00-06:00")))
    [desk] = rota.rota(directory, datetime(2026, 11, 30, tzinfo=UTC), 1)
    assert [g.text.split(" UTC")[0] for g in desk.gaps] == [
        "no one on shift 22:00–23:00",
        "no one reading uk on shift 00:00–06:00",
        "no one reading uk on shift 23:00–24:00",
    ]


def test_the_admin_rota_page_lists_the_gaps(
    app: Flask, client: FlaskClient, password_hash: str
) -> None:
    from tests.conftest import ADMIN_TOTP

    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    AuthActions(app, client).login(STAFF["admin"][0])
    page = client.get("/staff/admin/rota")
    assert page.status_code == 200
    assert "Rota and gaps" in page.text and "World News" in page.text
    assert client.get("/staff/admin/newsroom").status_code == 200


def test_gap_times_in_the_desks_zone_follow_summer_time() -> None:
    directory = routing_directory(parse_newsroom(NIGHT_GAP))
    july = datetime(2026, 7, 6, tzinfo=UTC)  # a Monday; Kyiv is UTC+3 in summer
    [desk] = rota.rota(directory, july, 1)
    uk = [g.text for g in desk.gaps if g.value == "uk"]
    assert uk[0].startswith("no one reading uk on shift 00:00–06:00 UTC (03:00–09:00 Europe/Kyiv)")


def test_an_editor_who_covers_no_topic_is_no_cover() -> None:
    editor = """
[[reporters]]
slug = "olena"
name = "Olena Bondar"
email = "olena@news.example.org"
desks = ["world"]
languages = ["uk"]
timezone = "UTC"
shift = "00:00-23:59"
"""
    directory = routing_directory(parse_newsroom(NIGHT_GAP + editor))
    [desk] = rota.rota(directory, datetime(2026, 11, 30, tzinfo=UTC), 1)
    assert any(g.value == "uk" and g.start == "00:00" for g in desk.gaps)
