"""Exact distinct counts over unions: a statistic stored as a set of ids per key (e.g. the
leads a campaign touched), so "how many distinct leads did any of these campaigns touch" is a
union of a few stored sets instead of a COUNT(DISTINCT ...) over every raw row of the keys
(docs/statistics.md, "Id sets").

A set is stored sorted, as the gaps between consecutive ids (small numbers, which zlib packs
to a few bits each), in one bytea per key.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np

# zlib's fastest level: the gaps of sorted ids compress well at any level.
_LEVEL = 1


def idset_pack(ids: Iterable[int]) -> bytes:
    """The ids (any order, repeats allowed) as the stored form of their set."""
    values = np.unique(np.fromiter(ids, dtype=np.int64))
    gaps = np.diff(values, prepend=np.int64(0))
    return zlib.compress(gaps.astype("<i8").tobytes(), _LEVEL)


def idset_unpack(packed: bytes) -> np.ndarray:
    """The sorted ids of a stored set."""
    gaps = np.frombuffer(zlib.decompress(bytes(packed)), dtype="<i8")
    return np.cumsum(gaps, dtype=np.int64)


def idset_union_size(sets: Iterable[np.ndarray], extra: Iterable[int] = ()) -> int:
    """How many distinct ids the sets and `extra` hold together."""
    arrays = [*sets, np.fromiter(extra, dtype=np.int64)]
    return int(np.unique(np.concatenate(arrays)).size) if arrays else 0
