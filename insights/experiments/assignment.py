"""Which variant a subject (a contact, or a lead quoted without one) sees in a pricing
experiment (docs/experiments.md, "Assignment").

The assignment is a pure function of the experiment's id, the subject's key and the variants'
weights: sha256 of "<experiment id>:<subject key>", its first 8 bytes read as an unsigned
integer and divided by 2^64, gives a number uniform in [0, 1); the variant is the first whose
cumulative weight exceeds it. So one contact always sees one price, agents and the results
agree without storing an assignment per contact, and two experiments split independently.
No ORM, no clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

# Subject keys: a contact by its external id, a lead (a quote without a contact) by its own.
CONTACT_PREFIX = "contact:"
LEAD_PREFIX = "lead:"
_SCALE = 2**64


def subject_key(*, contact_external_id: str | None, lead_external_id: str | None) -> str | None:
    """The key of a quote's subject: its contact, else its lead; None without either."""
    if contact_external_id:
        return CONTACT_PREFIX + contact_external_id
    if lead_external_id:
        return LEAD_PREFIX + lead_external_id
    return None


def uniform(experiment_id: int, key: str) -> float:
    """A number in [0, 1), the same for the same experiment and subject, on any machine."""
    digest = hashlib.sha256(f"{experiment_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def assign(experiment_id: int, subject_key: str, variants: Sequence[tuple[str, float]]) -> str:
    """The key of the variant `subject_key` sees; `variants` are (key, weight) in position
    order (the control first), weights summing to 1. The last variant takes what rounding
    leaves above the sum of the weights."""
    if not variants:
        raise ValueError("an experiment has variants")
    u = uniform(experiment_id, subject_key)
    cumulative = 0.0
    for key, weight in variants:
        cumulative += weight
        if u < cumulative:
            return key
    return variants[-1][0]


def assign_many(
    experiment_id: int, subject_keys: Iterable[str], variants: Sequence[tuple[str, float]]
) -> dict[str, str]:
    """{subject key: variant key} for distinct subjects (the results' grouping)."""
    return {key: assign(experiment_id, key, variants) for key in set(subject_keys)}
