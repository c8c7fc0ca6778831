"""The pricing assignment (insights.experiments.assignment): deterministic, independent per
experiment, and split by the weights. No database."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from insights.experiments.assignment import assign, assign_many, subject_key, uniform


def test_the_same_subject_always_sees_the_same_variant():
    variants = [("control", 0.5), ("treatment", 0.5)]
    first = [assign(7, f"contact:C{i}", variants) for i in range(200)]
    again = [assign(7, f"contact:C{i}", variants) for i in range(200)]
    assert first == again
    assert assign_many(7, ["contact:C1", "contact:C1", "contact:C2"], variants) == {
        "contact:C1": first[1],
        "contact:C2": first[2],
    }


def test_the_number_is_the_first_eight_bytes_of_sha256():
    digest = hashlib.sha256(b"42:contact:C-17").digest()
    assert uniform(42, "contact:C-17") == int.from_bytes(digest[:8], "big") / 2**64


@pytest.mark.parametrize(
    "weights",
    [(0.5, 0.5), (0.2, 0.8), (0.2, 0.3, 0.5), (0.25, 0.25, 0.25, 0.25)],
)
def test_the_split_of_10000_subjects_is_within_2_percent_of_the_weights(weights):
    variants = [(f"v{i}", w) for i, w in enumerate(weights)]
    counts = Counter(assign(1234, f"contact:C{i}", variants) for i in range(10_000))
    for key, weight in variants:
        assert abs(counts[key] / 10_000 - weight) < 0.02, (key, counts[key])


def test_two_experiments_split_the_same_subjects_independently():
    variants = [("a", 0.5), ("b", 0.5)]
    pairs = Counter(
        (assign(1, f"contact:C{i}", variants), assign(2, f"contact:C{i}", variants)) for i in range(4000)
    )
    # independent halves: each of the four combinations about a quarter
    for combination in [("a", "a"), ("a", "b"), ("b", "a"), ("b", "b")]:
        assert abs(pairs[combination] / 4000 - 0.25) < 0.03


def test_rounding_above_the_sum_goes_to_the_last_variant():
    # weights that sum to a hair under 1 in floating point still assign every subject
    variants = [("a", 0.1), ("b", 0.2), ("c", 0.7 - 1e-9)]
    assert {assign(5, f"contact:C{i}", variants) for i in range(2000)} == {"a", "b", "c"}


@pytest.mark.parametrize(
    ("contact", "lead", "key"),
    [("C1", "L1", "contact:C1"), ("C1", None, "contact:C1"), (None, "L1", "lead:L1"), (None, None, None)],
)
def test_the_subject_is_the_contact_else_the_lead(contact, lead, key):
    assert subject_key(contact_external_id=contact, lead_external_id=lead) == key
