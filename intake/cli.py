"""The `flask --app wsgi intake …` commands."""

from __future__ import annotations

import io
import sys

import click
from flask import Flask
from flask.cli import AppGroup

from intake import export as exporting
from intake.directory import DirectoryError, read_newsroom, sync_newsroom
from intake.extensions import db

intake_cli = AppGroup("intake", help="Run intake's own tasks.")


@intake_cli.command("load-newsroom")
@click.argument("path", type=click.Path(dir_okay=False))
def load_newsroom(path: str) -> None:
    """Create or update desks, topics and reporters from a directory file (TOML)."""
    try:
        newsroom = read_newsroom(path)
    except DirectoryError as exc:
        click.echo(f"{path}: refused, nothing was changed:", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    report = sync_newsroom(db.session, newsroom)
    db.session.commit()
    click.echo(f"Loaded {newsroom.name!r} from {path}")
    click.echo(report.summary())


@intake_cli.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(exporting.FORMATS), default="csv", show_default=True
)
@click.option(
    "--spreadsheet-safe",
    is_flag=True,
    help="Prefix cells that start with = + - @ with ' so spreadsheets do not run them "
    "(the text is then no longer exact).",
)
def export(fmt: str, spreadsheet_safe: bool) -> None:
    """Write every submission to standard output, in UTF-8."""
    # UTF-8 whatever the locale says, and no newline translation (CSV writes its own).
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="", write_through=True)
    try:
        count = exporting.write(out, exporting.rows(db.session), fmt, spreadsheet_safe)
    finally:
        out.detach()
    click.echo(f"exported {count} submissions", err=True)


def register(app: Flask) -> None:
    """Attach the command group to an app."""
    app.cli.add_command(intake_cli)
