"""Calibrate the same-question thresholds on half the labelled pairs; report the other half.

Run: .venv/bin/python bench/similarity.py
For each engine: every text's language is detected as intake would (the labels' languages
are only used to name the rows); on the `calibrate` pairs, each pairing's threshold is the
lowest score that keeps precision >= TARGET; the `held_out` pairs are then judged with
those thresholds by the same code as `similar-check`. Prints markdown for
bench/RESULTS.md and the thresholds to put in intake/similarity.py.
"""

from __future__ import annotations

import json
import platform
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake import similarity  # noqa: E402
from intake.language import detect  # noqa: E402

PAIRS = Path(__file__).resolve().parent.parent / "tests" / "data" / "similarity" / "pairs.jsonl"
TARGET = 0.95  # on the calibration half, so that the held-out half keeps >= 0.90


def load() -> list[dict[str, Any]]:
    """Read the labelled pairs."""
    return [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines() if line]


def questions(
    items: Sequence[dict[str, Any]],
) -> list[tuple[similarity.Question, similarity.Question]]:
    """Return each pair as two questions with their detected languages."""
    return [
        (
            similarity.Question(item["a"], similarity.language_of(item["a"], detect(item["a"]))),
            similarity.Question(item["b"], similarity.language_of(item["b"], detect(item["b"]))),
        )
        for item in items
    ]


def calibrate(model: similarity.Engine, items: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Return, per pairing, the lowest threshold with precision >= TARGET on these pairs."""
    pairs = questions(items)
    vectors = model.vectors([q for pair in pairs for q in pair])
    scored: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for n, ((a, b), item) in enumerate(zip(pairs, items, strict=True)):
        kind = similarity.pairing(a.language, b.language)
        extra, _why = similarity.extra_needed(a, b)
        if kind is None or not model.covers(kind) or extra is None:
            continue  # apart whatever the threshold
        score = float(vectors[2 * n] @ vectors[2 * n + 1])
        # The pair is taken when score - extra >= the pairing's threshold.
        scored[kind].append((score - extra, bool(item["same"])))
    found: dict[str, float] = {}
    for kind, rows in scored.items():
        best = 1.01
        for threshold in sorted({score for score, _ in rows}, reverse=True):
            taken = [same for score, same in rows if score >= threshold]
            if sum(taken) / len(taken) >= TARGET:
                best = threshold
        found[kind] = round(best - 0.0005, 4)  # just under the score that qualified
    return found


def evaluate(
    model: similarity.Engine, items: Sequence[dict[str, Any]]
) -> dict[str, tuple[int, int, int, int]]:
    """Return (true pos, false pos, false neg, pairs) by labelled pairing and by family."""
    verdicts = similarity.judge(model, questions(items))
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for item, verdict in zip(items, verdicts, strict=True):
        a, b = item["pair"].split("-")
        family = "same language" if a == b else "cross-language"
        for key in (item["pair"], family, "all"):
            row = counts[key]
            row[0] += verdict.same and item["same"]
            row[1] += verdict.same and not item["same"]
            row[2] += (not verdict.same) and item["same"]
            row[3] += 1
    return {key: (r[0], r[1], r[2], r[3]) for key, r in counts.items()}


def ratio(part: int, whole: int) -> str:
    return f"{part / whole:.2f}" if whole else "–"


def main() -> None:
    """Calibrate and report both engines."""
    items = load()
    calibration = [i for i in items if i["split"] == "calibrate"]
    held_out = [i for i in items if i["split"] == "held_out"]
    print(
        f"### Same question: {len(items)} labelled pairs ({len(calibration)} to calibrate, "
        f"{len(held_out)} held out), {platform.machine()}, Python {platform.python_version()}\n"
    )
    for name in similarity.ENGINES:
        started = time.perf_counter()
        model = similarity.engine(name)
        loaded = time.perf_counter() - started
        thresholds = calibrate(model, calibration)
        model.thresholds = thresholds
        began = time.perf_counter()
        results = evaluate(model, held_out)
        took = time.perf_counter() - began
        print(f"#### {name} (loaded in {loaded:.1f} s; held-out pairs judged in {took:.1f} s)\n")
        print(f"Thresholds from the calibration half: `{json.dumps(thresholds)}`\n")
        print("| pairs | n | precision | recall |\n|---|---|---|---|")
        order = ["en-en", "ru-ru", "uk-uk", "en-ru", "en-uk", "ru-uk"]
        for key in [*order, "same language", "cross-language", "all"]:
            if key in results:
                tp, fp, fn, n = results[key]
                print(f"| {key} | {n} | {ratio(tp, tp + fp)} | {ratio(tp, tp + fn)} |")
        print()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Peak memory of this process with both engines loaded: {peak:.0f} MB (RSS).")


if __name__ == "__main__":
    main()
