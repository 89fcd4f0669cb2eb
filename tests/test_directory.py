"""Loading the newsroom directory: create, update, deactivate, and refuse bad files whole."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from intake.directory import DirectoryError, parse_newsroom
from intake.extensions import db
from intake.models import Desk, Newsroom, Reporter, Topic
from intake.routing import parse_shift
from tests.conftest import EXAMPLE_NEWSROOM

MINIMAL = """
[newsroom]
name = "Tiny Daily"
public_url = "http://127.0.0.1:5000/"
sender = "tips@example.org"
default_desk = "world"

[[desks]]
slug = "world"
name = "World News"
email = "world@example.org"

[[topics]]
slug = "russia-ukraine-war"
label = "Russia-Ukraine war"
desk = "world"
keywords = ["Ukrain", "київ"]

[[reporters]]
slug = "iryna"
name = "Iryna Koval"
email = "iryna@example.org"
desks = ["world"]
topics = ["russia-ukraine-war"]
languages = ["uk", "ru", "en"]
timezone = "Europe/Kyiv"
shift = "08:00-17:00"
"""


def write(tmp_path: Path, text: str, name: str = "newsroom.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def load(runner: FlaskCliRunner, path: str) -> tuple[int, str]:
    result = runner.invoke(args=["intake", "load-newsroom", path])
    return result.exit_code, result.output


def snapshot(app: Flask) -> dict[str, list[tuple[object, ...]]]:
    """Read every directory row, to show that a refused file changed nothing."""
    with app.app_context():
        return {
            "desks": [
                (d.slug, d.name, d.email, d.active)
                for d in db.session.scalars(sa.select(Desk).order_by(Desk.slug))
            ],
            "topics": [
                (t.slug, t.label, t.active, tuple(t.keywords))
                for t in db.session.scalars(sa.select(Topic).order_by(Topic.slug))
            ],
            "reporters": [
                (r.slug, r.name, r.shift, r.active, tuple(r.languages))
                for r in db.session.scalars(sa.select(Reporter).order_by(Reporter.slug))
            ],
        }


def test_example_newsroom_is_valid_and_covers_the_languages() -> None:
    newsroom = parse_newsroom(EXAMPLE_NEWSROOM.read_text(encoding="utf-8"))
    assert {"world"} <= {d.slug for d in newsroom.desks}
    assert {"russia-ukraine-war", "middle-east", "asia-pacific"} <= {
        t.slug for t in newsroom.topics
    }
    languages = {lang for r in newsroom.reporters for lang in r.languages}
    assert {"en", "ru", "uk"} <= languages
    assert len({r.timezone for r in newsroom.reporters}) >= 3


def test_load_creates_then_is_idempotent(tmp_path: Path, app: Flask) -> None:
    runner = app.test_cli_runner()
    with app.app_context():
        db.drop_all()
        db.create_all()
    code, output = load(runner, write(tmp_path, MINIMAL))
    assert code == 0, output
    assert "desks: 1 created, 0 changed, 0 deactivated" in output
    assert "reporters: 1 created, 0 changed, 0 deactivated" in output
    with app.app_context():
        iryna = db.session.scalars(sa.select(Reporter)).one()
        assert [d.slug for d in iryna.desks] == ["world"]
        assert [t.slug for t in iryna.topics] == ["russia-ukraine-war"]
        assert iryna.languages == ["uk", "ru", "en"]
        topic = db.session.scalars(sa.select(Topic)).one()
        assert topic.keywords == ["ukrain", "київ"]  # case-folded once, here
        settings = db.session.get(Newsroom, 1)
        assert settings is not None
        assert settings.public_url == "http://127.0.0.1:5000"
        assert settings.default_desk is not None and settings.default_desk.slug == "world"
    before = snapshot(app)
    code, output = load(runner, write(tmp_path, MINIMAL))
    assert code == 0
    assert "0 created, 0 changed, 0 deactivated" in output
    assert snapshot(app) == before


def test_load_updates_changed_entries(tmp_path: Path, runner: FlaskCliRunner, app: Flask) -> None:
    load(runner, write(tmp_path, MINIMAL))
    changed = MINIMAL.replace('shift = "08:00-17:00"', 'shift = "22:00-06:00"')
    code, output = load(runner, write(tmp_path, changed))
    assert code == 0
    assert "reporters: 0 created, 1 changed, 0 deactivated" in output
    with app.app_context():
        iryna = db.session.scalars(sa.select(Reporter).where(Reporter.slug == "iryna")).one()
        assert iryna.shift == "22:00-06:00"


def test_entries_missing_from_the_file_are_deactivated_not_deleted(
    tmp_path: Path, runner: FlaskCliRunner, app: Flask
) -> None:
    # The app fixture loaded the example newsroom: six reporters, three desks.
    code, output = load(runner, write(tmp_path, MINIMAL))
    assert code == 0
    assert "desks: 0 created, 1 changed, 2 deactivated" in output
    assert "reporters: 0 created, 1 changed, 5 deactivated" in output  # iryna's email
    with app.app_context():
        reporters = {r.slug: r.active for r in db.session.scalars(sa.select(Reporter))}
    assert len(reporters) == 6
    assert reporters["noor"] is False
    # Back in the file, back in service.
    code, output = load(runner, str(EXAMPLE_NEWSROOM))
    assert code == 0
    assert "reporters: 0 created, 6 changed, 0 deactivated" in output
    with app.app_context():
        assert all(r.active for r in db.session.scalars(sa.select(Reporter)))


DESK_LINE = 'email = "world@example.org"'
BAD_FILES = [
    (
        "acknowledgement time out of range",
        MINIMAL.replace(DESK_LINE, DESK_LINE + "\nack_minutes = 0", 1),
        "desks[1] 'world': ack_minutes: ack_minutes must be 1 to 1440, not 0",
    ),
    (
        "acknowledgement time as text",
        MINIMAL.replace(DESK_LINE, DESK_LINE + '\nack_minutes = "60"', 1),
        "desks[1] 'world': 'ack_minutes' must be a whole number",
    ),
    (
        "acknowledgement time as true",
        MINIMAL.replace(DESK_LINE, DESK_LINE + "\nack_minutes = true", 1),
        "desks[1] 'world': 'ack_minutes' must be a whole number",
    ),
    (
        "an editor who is no reporter",
        MINIMAL.replace(DESK_LINE, DESK_LINE + '\neditors = ["olena"]', 1),
        "desks[1] 'world': editor 'olena' is not a reporter in this file",
    ),
    (
        "a digest hour past midnight",
        MINIMAL.replace(DESK_LINE, DESK_LINE + "\ndigest_hour = 24", 1),
        "desks[1] 'world': digest_hour: digest_hour must be 0 to 23, not 24",
    ),
    (
        "a desk's unknown time zone",
        MINIMAL.replace(DESK_LINE, DESK_LINE + '\ntimezone = "Kyiv"', 1),
        "desks[1] 'world': timezone: unknown time zone 'Kyiv'",
    ),
    (
        "unknown key in a reporter",
        MINIMAL.replace('shift = "08:00-17:00"', 'shift = "08:00-17:00"\nphone = "+380"'),
        "reporters[1] 'iryna': unknown key 'phone'",
    ),
    (
        "unknown section",
        MINIMAL + '\n[[editors]]\nslug = "x"\n',
        "unknown section 'editors'",
    ),
    (
        "topic naming a missing desk",
        MINIMAL.replace('desk = "world"', 'desk = "sport"'),
        "topics[1] 'russia-ukraine-war': desk 'sport' is not a desk in this file",
    ),
    (
        "bad time zone",
        MINIMAL.replace("Europe/Kyiv", "Europe/Kiyv"),
        "reporters[1] 'iryna': timezone: unknown time zone 'Europe/Kiyv'",
    ),
    (
        "bad shift",
        MINIMAL.replace("08:00-17:00", "8am-5pm"),
        "reporters[1] 'iryna': shift: shift '8am-5pm' must be 'HH:MM-HH:MM'",
    ),
    (
        "shift of no length",
        MINIMAL.replace("08:00-17:00", "09:00-09:00"),
        "reporters[1] 'iryna': shift: shift '09:00-09:00'",
    ),
    (
        "duplicate slug",
        MINIMAL + '\n[[desks]]\nslug = "world"\nname = "Again"\nemail = "a@example.org"\n',
        "desks[2] 'world': duplicate slug 'world'",
    ),
    (
        "missing key",
        MINIMAL.replace('email = "world@example.org"\n', ""),
        "desks[1] 'world': missing key 'email'",
    ),
    (
        "bad language code",
        MINIMAL.replace('["uk", "ru", "en"]', '["ukrainian"]'),
        "reporters[1] 'iryna': languages: languages ['ukrainian'] are not ISO 639-1 codes",
    ),
    (
        "reporter on a topic of a desk they are not on",
        MINIMAL.replace('desks = ["world"]', 'desks = ["politics"]')
        + '\n[[desks]]\nslug = "politics"\nname = "Politics"\nemail = "p@example.org"\n',
        "reporters[1] 'iryna': covers topic 'russia-ukraine-war' of desk 'world'",
    ),
    (
        "default desk that does not exist",
        MINIMAL.replace('default_desk = "world"', 'default_desk = "nowhere"'),
        "[newsroom]: default_desk 'nowhere' is no desk",
    ),
    (
        "bad email",
        MINIMAL.replace("world@example.org", "world-at-example"),
        "desks[1] 'world': email: email 'world-at-example' is not valid",
    ),
    (
        "bad email_content",
        MINIMAL.replace(
            'email = "world@example.org"', 'email = "w@example.org"\nemail_content = "x"'
        ),
        "desks[1] 'world': email_content: email_content must be one of full, link",
    ),
    (
        "wrong value type",
        MINIMAL.replace('languages = ["uk", "ru", "en"]', 'languages = "uk"'),
        "reporters[1] 'iryna': 'languages' must be a list of strings",
    ),
    ("not TOML at all", "[newsroom\nname=", "not valid TOML"),
    (
        "no newsroom section",
        MINIMAL.split("[[desks]]", 1)[1].join(["[[desks]]", ""]),
        "missing section [newsroom]",
    ),
]


@pytest.mark.parametrize(("case", "text", "problem"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_file_is_refused_naming_the_entry_and_nothing_changes(
    tmp_path: Path, runner: FlaskCliRunner, app: Flask, case: str, text: str, problem: str
) -> None:
    with pytest.raises(DirectoryError) as caught:
        parse_newsroom(text)
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems
    before = snapshot(app)
    code, output = load(runner, write(tmp_path, text))
    assert code == 1
    assert "refused, nothing was changed" in output
    assert problem in output
    assert snapshot(app) == before


def test_every_problem_is_reported_at_once() -> None:
    text = MINIMAL.replace("Europe/Kyiv", "Mars/Base").replace("08:00-17:00", "25:00-26:00")
    with pytest.raises(DirectoryError) as caught:
        parse_newsroom(text)
    assert len(caught.value.problems) == 2


def test_missing_file_is_a_clear_error(runner: FlaskCliRunner, tmp_path: Path) -> None:
    code, output = load(runner, str(tmp_path / "nope.toml"))
    assert code == 1
    assert "cannot read" in output


@pytest.mark.parametrize(
    ("shift", "minutes"),
    [
        ("08:00-17:00", (480, 1020)),
        ("22:00-06:00", (1320, 360)),
        ("00:00-23:59", (0, 1439)),
        ("09:30-09:45", (570, 585)),
        ("9:00-17:00", None),
        ("24:00-08:00", None),
        ("08:60-09:00", None),
        ("08:00-08:00", None),
        ("08:00 - 17:00", None),
    ],
)
def test_parse_shift(shift: str, minutes: tuple[int, int] | None) -> None:
    assert parse_shift(shift) == minutes


def test_load_without_a_path_uses_intake_newsroom(
    tmp_path: Path, runner: FlaskCliRunner, app: Flask
) -> None:
    app.config["INTAKE_NEWSROOM"] = write(tmp_path, MINIMAL)
    result = runner.invoke(args=["intake", "load-newsroom"])
    assert result.exit_code == 0, result.output
    assert "Loaded 'Tiny Daily'" in result.output
    app.config["INTAKE_NEWSROOM"] = None
    missing = runner.invoke(args=["intake", "load-newsroom"])
    assert missing.exit_code == 2
    assert "set INTAKE_NEWSROOM" in missing.output
