"""The same question from many readers, in any language: grouped, answered once, published."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from intake import workflow
from intake.delivery import deliver_due
from intake.extensions import db, mail
from intake.models import (
    AuditEvent,
    Event,
    OutboxEmail,
    Question,
    QuestionGroup,
    QuestionSplit,
    Submission,
)
from intake.workflow import questions as workflow_questions
from intake.workflow.grouping import Grouper
from tests.conftest import (
    ADMIN_TOTP,
    STAFF,
    AuthActions,
    SMTPSink,
    add_staff,
    get_submission,
    make_app,
)

PASSPHRASE = "ribbon lantern orbit velvet meadow"
TALKS = {
    "en": "Will the peace talks happen?",
    "ru": "Будут ли переговоры?",
    "uk": "Чи будуть переговори?",
}
OTHERS = [
    "When will the war end?",
    "Где будут проходить переговоры?",
    "How many refugees from Ukraine live in Poland now?",
    "Чи працює метро в Києві під час тривоги?",
]
ANSWER = {
    "en": "Talks are planned for March; neither side has confirmed a date.",
    "ru": "Переговоры запланированы на март; ни одна из сторон не подтвердила дату.",
    "uk": "Переговори заплановані на березень; жодна зі сторін не підтвердила дату.",
}


@pytest.fixture
def qapp(tmp_path: Path, smtp: SMTPSink, password_hash: str) -> Iterator[Flask]:
    app = make_app(
        tmp_path,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
        MAIL_TIMEOUT=5,
        INTAKE_FRAME_ANCESTORS="https://news.example.org",
    )
    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def editor(qapp: Flask) -> FlaskClient:
    client = qapp.test_client()
    AuthActions(qapp, client).login(STAFF["editor"][0])
    return client


def ask(app: Flask, body: str, locale: str = "en", **fields: Any) -> str:
    """Store a reader's question through the workflow; return its reference."""
    values: dict[str, Any] = {
        "kind": "question",
        "topic": "russia-ukraine-war",
        "subject": "",
        "body": body,
        "name": "",
        "email": "",
        "consent_contact": False,
        "consent_publish": False,
        "sensitive": False,
        "article": "",
        "author_slug": "",
        "locale": locale,
    }
    passphrase = fields.pop("passphrase", None)
    values.update(fields)
    with app.test_request_context():
        return workflow.submit(
            db.session, workflow.NewSubmission(**values), followup_passphrase=passphrase
        )


def one_group(group_id: int | None) -> QuestionGroup:
    """Return a stored group (inside an app context)."""
    group = db.session.get(QuestionGroup, group_id)
    assert group is not None
    return group


def group_now(app: Flask, engine: str = "semantic") -> int:
    """Run the worker's grouping passes until no question waits; return how many were decided.

    (A pass stops after PASS_SECONDS, which a slow machine can reach.)"""
    with app.app_context():
        grouper, total = Grouper(engine), 0
        while done := grouper.run_once(db.session):
            total += done
        return total


def talks_group(app: Flask, talks: dict[str, str]) -> int:
    """Return the group the talks questions formed."""
    group_id = group_of(app, talks["en"])
    assert group_id is not None
    return group_id


def group_of(app: Flask, reference: str) -> int | None:
    with app.app_context():
        return db.session.scalar(
            sa.select(Question.group_id)
            .join(Submission, Submission.id == Question.submission_id)
            .where(Submission.reference == reference)
        )


def deliver(app: Flask) -> None:
    with app.app_context():
        deliver_due(db.session, mail, "test")


def bodies(smtp: SMTPSink, to: str) -> list[str]:
    found = []
    for item in smtp.received:
        if to in item.rcpt_tos:
            message = email.message_from_bytes(item.raw, policy=email.policy.default)
            part = message.get_body(("plain",))
            assert part is not None
            found.append(part.get_content())
    return found


def text(html: bytes) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html.decode())))


@pytest.fixture
def talks(qapp: Flask) -> dict[str, str]:
    """The three talks questions (an anonymous asker with a passphrase, a Russian asker by
    email who agreed to publication, a Ukrainian one) and four others, grouped."""
    refs = {
        "en": ask(qapp, TALKS["en"], passphrase=PASSPHRASE),
        "ru": ask(
            qapp,
            TALKS["ru"],
            locale="ru",
            name="Ольга Петренко",
            email="olga@example.net",
            consent_contact=True,
            consent_publish=True,
        ),
        "uk": ask(qapp, TALKS["uk"], locale="uk"),
    }
    for n, body in enumerate(OTHERS):
        refs[f"other{n}"] = ask(qapp, body)
    assert group_now(qapp) == 7
    return refs


def test_the_same_question_in_three_languages_forms_one_group_and_the_others_stay_apart(
    qapp: Flask, talks: dict[str, str]
) -> None:
    groups = {group_of(qapp, talks[lang]) for lang in TALKS}
    assert len(groups) == 1 and None not in groups
    assert [group_of(qapp, talks[f"other{n}"]) for n in range(len(OTHERS))] == [None] * 4


def test_an_answer_written_once_reaches_the_russian_emailer_and_the_anonymous_asker(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient, smtp: SMTPSink
) -> None:
    group_id = group_of(qapp, talks["en"])
    with qapp.app_context():
        version = one_group(group_id).version
    response = editor.post(
        f"/staff/questions/{group_id}/answer",
        data={**{f"answer_{k}": v for k, v in ANSWER.items()}, "version": version},
    )
    assert response.status_code == 303
    deliver(qapp)
    received = bodies(smtp, "olga@example.net")  # her receipt, then the answer
    assert [ANSWER["ru"] in b for b in received] == [False, True]
    assert ANSWER["en"] not in received[1]

    reader = qapp.test_client()
    reader.post("/followup", data={"reference": talks["en"], "passphrase": PASSPHRASE})
    page = text(reader.get("/followup").data)
    assert ANSWER["en"] in page
    for lang in TALKS:
        assert get_submission(qapp, talks[lang]).status == "answered"


def publish(client: FlaskClient, app: Flask, group_id: int, public: str, **headline: str) -> Any:
    with app.app_context():
        version = one_group(group_id).version
    data = {f"headline_{k}": v for k, v in headline.items()}
    return client.post(
        f"/staff/questions/{group_id}/publish", data={**data, "public": public, "version": version}
    )


def answer(client: FlaskClient, app: Flask, group_id: int, **texts: str) -> Any:
    with app.app_context():
        version = one_group(group_id).version
    data = {f"answer_{k}": v for k, v in (texts or ANSWER).items()}
    return client.post(f"/staff/questions/{group_id}/answer", data={**data, "version": version})


def test_answers_page_shows_a_published_answer_in_ukrainian_with_first_names_only(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    group_id = talks_group(qapp, talks)
    answer(editor, qapp, group_id)
    assert (
        publish(
            editor,
            qapp,
            group_id,
            "published",
            en="Will there be peace talks?",
            uk="Чи будуть мирні переговори?",
        ).status_code
        == 303
    )
    assert quote(editor, qapp, group_id, talks["ru"], "Ольга").status_code == 303
    response = qapp.test_client().get("/answers?lang=uk")
    page = text(response.data)
    assert response.status_code == 200
    assert "Ви запитали — ми відповіли" in page
    assert "Чи будуть мирні переговори?" in page
    assert ANSWER["uk"] in page and ANSWER["en"] not in page
    assert "Про це запитали 3 читачі." in page
    # Only the asker who agreed to publication is quoted, under the name the editor gave.
    assert f"{TALKS['ru']} — Ольга" in page
    assert "Петренко" not in page and "olga@example.net" not in page
    assert TALKS["uk"] not in page and TALKS["en"] not in page


def quote(client: FlaskClient, app: Flask, group_id: int, reference: str, name: str) -> Any:
    data = {"reference": reference, "quoted": "1", "name": name}
    return client.post(f"/staff/questions/{group_id}/quote", data=data)


def test_a_consenting_asker_is_not_quoted_until_an_editor_chooses_to(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    group_id = talks_group(qapp, talks)
    answer(editor, qapp, group_id)
    publish(editor, qapp, group_id, "published", en="Will there be peace talks?")
    assert TALKS["ru"] not in text(qapp.test_client().get("/answers").data)


@pytest.mark.parametrize(
    ("reference", "name", "problem"),
    [
        ("uk", "", "did not agree to publication"),
        ("ru", "Ольга Петренко", "Give one first name"),
        ("ru", "olga@example.net", "Give one first name"),
        ("ru", "Ольга2", "Give one first name"),
    ],
)
def test_quoting_is_refused_without_consent_or_with_more_than_a_first_name(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient, reference: str, name: str, problem: str
) -> None:
    group_id = talks_group(qapp, talks)
    response = quote(editor, qapp, group_id, talks[reference], name)
    assert response.status_code == 400
    assert problem in text(response.data)
    with qapp.app_context():
        row = db.session.get(Question, get_submission(qapp, talks[reference]).id)
        assert row is not None and not row.quoted


def test_a_quoted_asker_is_no_longer_quoted_once_erased(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    group_id = talks_group(qapp, talks)
    answer(editor, qapp, group_id)
    publish(editor, qapp, group_id, "published", en="Will there be peace talks?")
    quote(editor, qapp, group_id, talks["ru"], "Ольга")
    assert TALKS["ru"] in text(qapp.test_client().get("/answers").data)
    with qapp.app_context():
        workflow.purge_reference(db.session, Path(qapp.config["INTAKE_UPLOADS"]), talks["ru"])
    page = text(qapp.test_client().get("/answers").data)
    assert TALKS["ru"] not in page and "Ольга" not in page


def test_answers_page_shows_nothing_unpublished(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    group_id = talks_group(qapp, talks)
    answer(editor, qapp, group_id)
    page = text(qapp.test_client().get("/answers").data)
    assert ANSWER["en"] not in page and TALKS["ru"] not in page
    assert "No answers are published yet." in page


def test_publishing_before_answering_is_refused(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    group_id = talks_group(qapp, talks)
    response = publish(editor, qapp, group_id, "published", en="Will there be talks?")
    assert response.status_code == 400
    assert "Answer the group before publishing" in text(response.data)
    with qapp.app_context():
        assert one_group(group_id).public == "hidden"


def test_answers_page_may_be_framed_by_the_newsrooms_site(qapp: Flask) -> None:
    response = qapp.test_client().get("/answers")
    assert "frame-ancestors https://news.example.org" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers


def test_i_want_to_know_too_counts_once_per_reader_and_keeps_nothing(
    tmp_path: Path, password_hash: str
) -> None:
    app = make_app(tmp_path, RATELIMIT_ENABLED=True)
    add_staff(app, password_hash, admin_totp=ADMIN_TOTP)
    ask(app, TALKS["en"])
    ask(app, TALKS["ru"], locale="ru")
    group_now(app)
    editor = app.test_client()
    AuthActions(app, editor).login(STAFF["editor"][0])
    group_id = group_of(app, get_references(app)[0])
    assert group_id is not None
    assert (
        publish(editor, app, group_id, "looking", en="Will there be peace talks?").status_code
        == 303
    )
    reader = app.test_client()
    page = text(reader.get("/answers").data)
    assert "We're looking into it" in page and "Will there be peace talks?" in page
    first = reader.post(f"/answers/{group_id}/want")
    assert first.status_code == 303
    assert first.headers["Location"] == f"/answers?counted={group_id}&lang=en#q{group_id}"
    reader.post(f"/answers/{group_id}/want")  # the same reader again: not counted twice
    with app.app_context():
        assert one_group(group_id).want_count == 1
    shown = text(reader.get(first.headers["Location"]).data)
    assert "Thank you: we counted you." in shown
    assert "1 more reader wants to know." in shown
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def get_references(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Submission.reference).order_by(Submission.id)))


def test_want_to_know_on_a_group_not_looked_into_counts_nothing(
    qapp: Flask, talks: dict[str, str]
) -> None:
    group_id = group_of(qapp, talks["en"])
    response = qapp.test_client().post(f"/answers/{group_id}/want")
    assert response.status_code == 303
    with qapp.app_context():
        assert one_group(group_id).want_count == 0
    assert qapp.test_client().post("/answers/999999/want").status_code == 303
    assert qapp.test_client().post("/answers/99999999999999999999/want").status_code == 404


def test_a_click_sent_from_another_sites_page_counts_nothing(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    group_id = talks_group(qapp, talks)
    publish(editor, qapp, group_id, "looking", en="Will there be peace talks?")
    reader = qapp.test_client()
    reader.post(f"/answers/{group_id}/want", headers={"Sec-Fetch-Site": "cross-site"})
    with qapp.app_context():
        assert one_group(group_id).want_count == 0
    reader.post(f"/answers/{group_id}/want", headers={"Sec-Fetch-Site": "same-origin"})
    with qapp.app_context():
        assert one_group(group_id).want_count == 1


def test_a_question_taken_out_by_hand_is_never_grouped_with_them_again(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    group_id = group_of(qapp, talks["en"])
    response = editor.post(f"/staff/s/{talks['uk']}/ungroup")
    assert response.status_code == 303
    assert group_of(qapp, talks["uk"]) is None
    with qapp.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(QuestionSplit)) == 2
        # Compared again (as after a restart): it stays out.
        db.session.execute(
            sa.update(Question)
            .values(state="pending")
            .where(Question.submission_id == get_submission(qapp, talks["uk"]).id)
        )
        db.session.commit()
    assert group_now(qapp) == 1
    assert group_of(qapp, talks["uk"]) is None
    assert group_of(qapp, talks["en"]) == group_id


def test_a_new_asker_of_the_split_question_still_joins_the_group(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    editor.post(f"/staff/s/{talks['uk']}/ungroup")
    later = ask(qapp, "Чи будуть мирні переговори?", locale="uk")
    group_now(qapp)
    assert group_of(qapp, later) == group_of(qapp, talks["en"])


def test_staff_can_put_a_question_in_a_group_by_hand(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    other = talks["other0"]
    response = editor.post(f"/staff/s/{other}/group", data={"like": talks["ru"]})
    assert response.status_code == 303
    assert group_of(qapp, other) == group_of(qapp, talks["ru"])
    events = [e.kind for e in get_submission(qapp, other).events]
    assert "grouped" in events


def test_two_ungrouped_questions_grouped_by_hand_start_a_group(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    a, b = talks["other2"], talks["other3"]
    editor.post(f"/staff/s/{a}/group", data={"like": b})
    assert group_of(qapp, a) is not None and group_of(qapp, a) == group_of(qapp, b)


def test_grouping_a_tip_is_refused(qapp: Flask, talks: dict[str, str], editor: FlaskClient) -> None:
    from tests.conftest import make_submission

    tip = make_submission(qapp)
    response = editor.post(
        f"/staff/s/{tip}/group", data={"like": talks["ru"]}, follow_redirects=True
    )
    assert "is a tip: only questions are grouped" in text(response.data)


def test_askers_who_join_later_get_the_same_answer_with_one_action(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient, smtp: SMTPSink
) -> None:
    group_id = talks_group(qapp, talks)
    answer(editor, qapp, group_id)
    later = ask(
        qapp,
        "Будут ли мирные переговоры?",
        locale="ru",
        email="ivan@example.net",
        consent_contact=True,
    )
    group_now(qapp)
    assert group_of(qapp, later) == group_id
    page = text(editor.get(f"/staff/questions/{group_id}").data)
    assert "Send the answer to the 1 asker who joined since" in page
    with qapp.app_context():
        version = one_group(group_id).version
    assert (
        editor.post(f"/staff/questions/{group_id}/send", data={"version": version}).status_code
        == 303
    )
    deliver(qapp)
    assert [ANSWER["ru"] in b for b in bodies(smtp, "ivan@example.net")] == [False, True]
    # The first askers are not sent it again.
    assert [ANSWER["ru"] in b for b in bodies(smtp, "olga@example.net")] == [False, True]
    assert get_submission(qapp, later).status == "answered"


def test_an_answer_without_english_is_refused_and_nothing_is_sent(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    group_id = talks_group(qapp, talks)
    response = answer(editor, qapp, group_id, ru=ANSWER["ru"])
    assert response.status_code == 400
    assert "Write the answer in English" in text(response.data)
    assert ANSWER["ru"] in text(response.data)  # the editor's text is kept
    with qapp.app_context():
        assert one_group(group_id).answered_at is None
    assert get_submission(qapp, talks["ru"]).status == "new"


def test_an_answer_on_a_changed_group_is_refused(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    group_id = talks_group(qapp, talks)
    answer(editor, qapp, group_id)
    data = {f"answer_{k}": v for k, v in ANSWER.items()}
    response = editor.post(f"/staff/questions/{group_id}/answer", data={**data, "version": "1"})
    assert response.status_code == 409


def test_the_questions_view_lists_groups_largest_first_with_languages(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    editor.post(f"/staff/s/{talks['other2']}/group", data={"like": talks["other3"]})
    page = text(editor.get("/staff/questions").data)
    # Each group is named by its first asker's question: the three askers' group first.
    assert page.index(TALKS["en"]) < page.index(OTHERS[2])
    assert "English 1 · Russian 1 · Ukrainian 1" in page
    assert "English 1 · Ukrainian 1" in page


def test_a_reporter_does_not_see_the_questions_view(qapp: Flask, talks: dict[str, str]) -> None:
    client = qapp.test_client()
    AuthActions(qapp, client).login(STAFF["world_reporter"][0])
    assert client.get("/staff/questions").status_code == 404
    group_id = group_of(qapp, talks["en"])
    assert client.get(f"/staff/questions/{group_id}").status_code == 404


def test_a_question_page_lists_its_similar_questions_with_language_and_score(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    page = text(editor.get(f"/staff/s/{talks['uk']}").data)
    assert "Similar questions" in page
    for lang in ("en", "ru"):
        row = re.search(re.escape(talks[lang]) + r"[^\n]*?\s+(en|ru)\s+(0\.\d{3})", page)
        assert row is not None and row.group(1) == lang


def test_the_worker_groups_questions_after_they_commit(qapp: Flask, smtp: SMTPSink) -> None:
    first = ask(qapp, TALKS["en"])
    second = ask(qapp, TALKS["uk"], locale="uk")
    with qapp.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Question.state == "pending")) == 2
    result = qapp.test_cli_runner().invoke(args=["intake", "worker", "--once"])
    assert result.exit_code == 0, result.output
    # One pass or two (a pass stops after PASS_SECONDS on a slow machine).
    compared = re.findall(r"compared (\d+) new question", result.output)
    assert sum(int(n) for n in compared) == 2
    assert group_of(qapp, first) is not None and group_of(qapp, first) == group_of(qapp, second)


def test_a_purge_erases_the_questions_vector(qapp: Flask, talks: dict[str, str]) -> None:
    with qapp.app_context():
        workflow.purge_reference(db.session, Path(qapp.config["INTAKE_UPLOADS"]), talks["ru"])
        row = db.session.get(Question, get_submission(qapp, talks["ru"]).id)
        assert row is not None and row.vector is None


def test_admin_pages_say_when_the_worker_fell_back_to_tfidf(
    qapp: Flask, editor: FlaskClient
) -> None:
    from intake.workflow.questions import FALLBACK, RESTORED

    with qapp.app_context():
        db.session.add(
            AuditEvent(actor="worker", action=FALLBACK, target="w1", detail="no AVX2 here")
        )
        db.session.commit()
    page = text(editor.get("/staff/questions").data)
    assert "tfidf" in page and "no AVX2 here" in page
    with qapp.app_context():
        db.session.add(AuditEvent(actor="worker", action=RESTORED, target="w1"))
        db.session.commit()
    assert "no AVX2 here" not in text(editor.get("/staff/questions").data)


def test_the_tfidf_engine_groups_within_cyrillic_only(qapp: Flask) -> None:
    refs = [
        ask(qapp, TALKS["ru"], locale="ru"),
        ask(qapp, "Будут ли переговоры вообще?", locale="ru"),
        ask(qapp, TALKS["en"]),
    ]
    assert group_now(qapp, "tfidf") == 3
    assert group_of(qapp, refs[0]) is not None and group_of(qapp, refs[0]) == group_of(
        qapp, refs[1]
    )
    assert group_of(qapp, refs[2]) is None


def test_events_record_the_group_answer_in_each_thread(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    group_id = talks_group(qapp, talks)
    answer(editor, qapp, group_id)
    with qapp.app_context():
        kinds = {
            lang: set(
                db.session.scalars(
                    sa.select(Event.kind).where(
                        Event.submission_id == get_submission(qapp, talks[lang]).id
                    )
                )
            )
            for lang in TALKS
        }
    assert "reply_page" in kinds["en"] and "reply" in kinds["ru"] and "group_answer" in kinds["uk"]


def test_correcting_an_answer_everyone_has_had_saves_it_and_sends_nothing(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    group_id = talks_group(qapp, talks)
    answer(editor, qapp, group_id)
    with qapp.app_context():
        emails = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail))
    fixed = {**ANSWER, "en": ANSWER["en"].replace("March", "April")}
    response = answer(editor, qapp, group_id, **fixed)
    assert response.status_code == 303
    with qapp.app_context():
        assert one_group(group_id).answer["en"] == fixed["en"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail)) == emails


def test_a_hidden_group_may_keep_a_half_written_published_question(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    group_id = talks_group(qapp, talks)
    assert publish(editor, qapp, group_id, "hidden", uk="Чи будуть переговори?").status_code == 303
    response = publish(editor, qapp, group_id, "looking", uk="Чи будуть переговори?")
    assert response.status_code == 400
    assert "question as published in English" in text(response.data)


def test_two_workers_at_once_decide_each_question_once(qapp: Flask) -> None:
    refs = [ask(qapp, TALKS[lang]) for lang in TALKS] + [ask(qapp, body) for body in OTHERS]
    start = threading.Barrier(2)
    decided: list[int] = []

    def worker() -> None:
        with qapp.app_context():
            grouper = Grouper("semantic")
            start.wait(timeout=30)
            while done := grouper.run_once(db.session, batch=2):
                decided.append(done)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sum(decided) == len(refs)
    with qapp.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(QuestionGroup)) == 1
        grouped = db.session.scalars(sa.select(Event.submission_id).where(Event.kind == "grouped"))
        assert sorted(grouped) == sorted({get_submission(qapp, r).id for r in refs[:3]})
    assert len({group_of(qapp, r) for r in refs[:3]}) == 1


def test_the_worker_keeps_a_question_staff_grouped_before_it_was_compared(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    later = ask(qapp, "Будут ли вообще переговоры о мире?", locale="ru")
    editor.post(f"/staff/s/{later}/group", data={"like": talks["other0"]})
    chosen = group_of(qapp, later)
    assert chosen is not None and chosen != talks_group(qapp, talks)
    assert group_now(qapp) == 1
    assert group_of(qapp, later) == chosen


def test_an_asker_moved_to_another_group_is_owed_that_groups_answer(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    first = talks_group(qapp, talks)
    answer(editor, qapp, first)
    editor.post(f"/staff/s/{talks['ru']}/group", data={"like": talks["other0"]})
    second = group_of(qapp, talks["ru"])
    assert second is not None and second != first
    with qapp.app_context():
        waiting = workflow_questions.waiting(one_group(second))
        assert [row.submission.reference for row in waiting] == sorted(
            [talks["ru"], talks["other0"]], key=lambda r: get_submission(qapp, r).id
        )


def test_a_group_is_named_without_a_purged_questions_words(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    with qapp.app_context():
        workflow.purge_reference(db.session, Path(qapp.config["INTAKE_UPLOADS"]), talks["en"])
    page = text(editor.get("/staff/questions").data)
    assert TALKS["en"] not in page and TALKS["ru"] in page


def test_an_emptied_public_group_leaves_answers_and_stays_listed_for_staff(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient
) -> None:
    group_id = talks_group(qapp, talks)
    publish(editor, qapp, group_id, "looking", en="Will there be peace talks?")
    for lang in TALKS:
        editor.post(f"/staff/s/{talks[lang]}/ungroup")
    assert "Will there be peace talks?" not in text(qapp.test_client().get("/answers").data)
    assert f"Q{group_id} Will there be peace talks? 0 not yet" in text(
        editor.get("/staff/questions").data
    )


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "https://[x", "news.example.org/a", "ftp://x/y"]
)
def test_a_story_link_that_is_no_web_address_is_refused(
    qapp: Flask, talks: dict[str, str], editor: FlaskClient, url: str
) -> None:
    group_id = talks_group(qapp, talks)
    with qapp.app_context():
        version = one_group(group_id).version
    data = {**{f"answer_{k}": v for k, v in ANSWER.items()}, "story_url": url, "version": version}
    response = editor.post(f"/staff/questions/{group_id}/answer", data=data)
    assert response.status_code == 400
    assert "The story link must be a web address" in text(response.data)
    assert get_submission(qapp, talks["ru"]).status == "new"


def test_the_group_command_compares_what_waits(qapp: Flask) -> None:
    first, second = ask(qapp, TALKS["ru"], locale="ru"), ask(qapp, TALKS["uk"], locale="uk")
    result = qapp.test_cli_runner().invoke(args=["intake", "group", "--once"])
    assert result.exit_code == 0, result.output
    assert "compared 2 question(s)" in result.output
    assert group_of(qapp, first) is not None and group_of(qapp, first) == group_of(qapp, second)


def test_a_worker_without_grouping_leaves_questions_waiting(qapp: Flask) -> None:
    ask(qapp, TALKS["ru"], locale="ru")
    result = qapp.test_cli_runner().invoke(args=["intake", "worker", "--once", "--no-grouping"])
    assert result.exit_code == 0, result.output
    with qapp.app_context():
        assert db.session.scalar(sa.select(Question.state)) == "pending"
