"""`flask intake export`: every submission, every column, text exactly as the reader wrote it."""

from __future__ import annotations

import csv
import io
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from intake.export import COLUMNS
from tests.conftest import valid_form

TEXTS = [
    "У Харкові сьогодні вранці знову вимкнули світло після обстрілу, люди стоять у чергах.",
    "Почему Кремль отказывается от переговоров? 🇺🇦🕊️ 👨‍👩‍👧 «кавычки»",
    'מה קורה עכשיו בגבול הצפוני?\nما الذي يحدث في غزة الآن؟ "quoted", comma',
    '=HYPERLINK("http://evil.example") starts like a formula, and\r stays exact',
]


def export(runner: FlaskCliRunner, *args: str) -> str:
    result = runner.invoke(args=["intake", "export", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def stored(client: FlaskClient) -> list[str]:
    """Submit each text as a tip's body and return the references, in order."""
    references = []
    for text in TEXTS:
        response = client.post(
            "/",
            data=valid_form(body=text, subject=text[:20], name="Олена", email="olena@example.org"),
        )
        assert response.status_code == 303
        references.append(response.headers["Location"].removeprefix("/thanks/"))
    return references


def expected_body(text: str) -> str:
    return text.replace("\r", "\n")  # the form normalises line ends, nothing else


def test_jsonl_round_trips_text_exactly(runner: FlaskCliRunner, stored: list[str]) -> None:
    lines = export(runner, "--format", "jsonl").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["reference"] for r in records] == stored
    assert [r["body"] for r in records] == [expected_body(t) for t in TEXTS]
    assert all(set(r) == set(COLUMNS) for r in records)
    first = records[0]
    assert first["kind"] == "tip"
    assert first["topic"] == "russia-ukraine-war"
    assert first["name"] == ""  # she did not agree to be contacted: her name is not kept
    assert first["consent_contact"] is False
    assert first["language"] == "uk"
    assert first["status"] == "new"
    assert first["created_at"].endswith("Z")
    assert "\\u" not in lines[0]  # written as UTF-8, not escaped


def test_csv_round_trips_text_exactly_with_exact(runner: FlaskCliRunner, stored: list[str]) -> None:
    text = export(runner, "--format", "csv", "--exact")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    records = list(reader)
    assert reader.fieldnames == list(COLUMNS)
    assert [r["reference"] for r in records] == stored
    assert [r["body"] for r in records] == [expected_body(t) for t in TEXTS]
    assert records[0]["consent_contact"] == "false"


@pytest.mark.parametrize("args", [(), ("--format", "csv"), ("--spreadsheet-safe",)])
def test_csv_defuses_formulas_unless_asked_for_exact(
    runner: FlaskCliRunner, stored: list[str], args: tuple[str, ...]
) -> None:
    records = list(csv.DictReader(io.StringIO(export(runner, *args), newline="")))
    assert records[3]["body"].startswith("'=HYPERLINK")
    assert records[0]["body"] == expected_body(TEXTS[0])


def test_export_of_an_empty_database_is_a_header(runner: FlaskCliRunner) -> None:
    assert export(runner).strip() == ",".join(COLUMNS)
    assert export(runner, "--format", "jsonl") == ""


def test_unknown_format_is_refused(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["intake", "export", "--format", "xml"])
    assert result.exit_code == 2
    assert "'xml' is not one of 'csv', 'jsonl'" in result.output


def test_ukrainian_tip_from_the_form_appears_unchanged_in_export(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    tip = "Де зараз фронт? Під Покровськом сьогодні вночі чули вибухи, світла немає з ранку."
    client.post("/", data=valid_form(body=tip, topic=""))
    [record] = [json.loads(line) for line in export(runner, "--format", "jsonl").splitlines()]
    assert record["body"] == tip
