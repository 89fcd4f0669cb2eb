"""`flask intake route-check` reproduces the labelled cases and explains bad input."""

from __future__ import annotations

import json
from pathlib import Path

from flask.testing import FlaskCliRunner

ROUTING = Path(__file__).parent / "data" / "routing"
FIELDS = ("id", "language", "topic", "desk", "reporter", "to", "needs_translation", "reason")


def route_check(
    runner: FlaskCliRunner, stdin: str, newsroom: Path = ROUTING / "newsroom.toml"
) -> tuple[int, list[dict[str, object]], str]:
    result = runner.invoke(args=["intake", "route-check", "--newsroom", str(newsroom)], input=stdin)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, lines, result.stderr


def test_every_labelled_case_comes_out_as_labelled(runner: FlaskCliRunner) -> None:
    cases = (ROUTING / "cases.jsonl").read_text(encoding="utf-8")
    expected = [json.loads(line) for line in (ROUTING / "expected.jsonl").read_text().splitlines()]
    code, decisions, _ = route_check(runner, cases)
    assert code == 0
    assert len(decisions) == len(expected) == 16
    for decision, label in zip(decisions, expected, strict=True):
        assert tuple(decision) == FIELDS
        assert {key: decision[key] for key in label} == label
        assert decision["reason"]


def test_decision_carries_the_address_and_a_reason(runner: FlaskCliRunner) -> None:
    line = json.dumps(
        {
            "id": "x1",
            "kind": "tip",
            "topic": "",
            "subject": "",
            "body": "У Харкові сьогодні вранці знову вимкнули світло після обстрілу.",
            "reporter": "",
            "article": "",
            "submitted_at": "2026-11-24T08:00:00Z",
        },
        ensure_ascii=False,
    )
    code, [decision], _ = route_check(runner, line + "\n")
    assert code == 0
    assert decision["to"] == "iryna.koval@example.org"
    assert decision["reason"] == (
        "Russia-Ukraine war (from the words: харкові) -> World News; "
        "on shift now and reads Ukrainian: Iryna Koval"
    )


def test_decisions_in_one_run_spread_the_load(runner: FlaskCliRunner) -> None:
    # Iryna and Isa both cover the war, both read Russian and are both on shift at 08:00 UTC.
    line = json.dumps(
        {
            "id": "r",
            "kind": "question",
            "topic": "russia-ukraine-war",
            "subject": "",
            "body": "Сколько территорий сейчас контролирует армия?",
            "reporter": "",
            "article": "",
            "submitted_at": "2026-11-24T08:00:00Z",
        },
        ensure_ascii=False,
    )
    _, decisions, _ = route_check(runner, "\n".join([line] * 4) + "\n")
    assert [d["reporter"] for d in decisions] == ["iryna", "isa", "iryna", "isa"]


def test_bad_lines_are_named_and_the_rest_still_routed(runner: FlaskCliRunner) -> None:
    good = json.dumps(
        {
            "id": "ok",
            "kind": "tip",
            "body": "How do I subscribe?",
            "submitted_at": "2026-11-24T08:00:00Z",
        }
    )
    stdin = (
        "\n".join(
            [
                "not json",
                json.dumps({"id": "k", "kind": "rumour", "submitted_at": "2026-11-24T08:00:00Z"}),
                json.dumps({"id": "t", "kind": "tip", "submitted_at": "yesterday"}),
                json.dumps({"id": "z", "kind": "tip", "submitted_at": "2026-11-24T08:00:00"}),
                good,
            ]
        )
        + "\n"
    )
    code, decisions, stderr = route_check(runner, stdin)
    assert code == 1
    assert [str(d.get("error", "ok"))[:20] for d in decisions] == [
        "not JSON: Expecting ",
        "kind must be one of ",
        "submitted_at 'yester",
        "submitted_at '2026-1",
        "ok",
    ]
    assert "line 1: not JSON" in stderr
    assert "has no time zone" in stderr
    assert decisions[-1]["desk"] == "world"


def test_a_bad_directory_is_refused(runner: FlaskCliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[newsroom]\nname = 'x'\n", encoding="utf-8")
    code, decisions, stderr = route_check(runner, "", newsroom=bad)
    assert code == 1
    assert decisions == []
    assert "missing key 'public_url'" in stderr
