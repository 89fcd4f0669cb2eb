"""Reference codes: short, unguessable, easy to read aloud."""

from __future__ import annotations

import pytest

from intake.reference import ALPHABET, PATTERN, kind_of, new_reference, normalise


@pytest.mark.parametrize(("kind", "prefix"), [("tip", "T-"), ("question", "Q-")])
def test_reference_has_the_kinds_prefix_and_two_groups_of_four(kind: str, prefix: str) -> None:
    reference = new_reference(kind)
    assert reference.startswith(prefix)
    assert PATTERN.match(reference)
    assert [len(g) for g in reference.split("-")] == [1, 4, 4]


def test_alphabet_leaves_out_symbols_that_are_misread() -> None:
    assert not set("0O1I") & set(ALPHABET)
    assert len(set(ALPHABET)) == 32


def test_references_do_not_repeat_in_many_draws() -> None:
    draws = {new_reference("tip") for _ in range(20_000)}
    assert len(draws) == 20_000


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("T-7K3F-9P2M", "T-7K3F-9P2M"),
        ("t 7k3f 9p2m", "T-7K3F-9P2M"),
        ("q7k3f9p2m", "Q-7K3F-9P2M"),
        ("T-7K3F-9P2", None),
        ("T-7K3F-9P20", None),
        ("X-7K3F-9P2M", None),
        ("", None),
    ],
)
def test_normalise_what_a_person_typed(typed: str, expected: str | None) -> None:
    assert normalise(typed) == expected


@pytest.mark.parametrize(
    ("reference", "kind"),
    [("T-2345-6789", "tip"), ("Q-ABCD-EFGH", "question"), ("T-2345", None), ("Z-2345-6789", None)],
)
def test_kind_of(reference: str, kind: str | None) -> None:
    assert kind_of(reference) == kind
