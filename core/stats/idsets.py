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


# A union whose ids span at most this many values is counted by marking them in an array of
# flags (one byte per value of the span, 10 ms for 3M ids); a wider one by sorting (the sets
# are sorted runs, which a stable sort merges: 85 ms for 3M ids, np.unique took 860 ms).
MARK_SPAN = 1 << 25


def idset_union_size(sets: Iterable[np.ndarray], extra: Iterable[int] = ()) -> int:
    """How many distinct ids the sets and `extra` hold together."""
    sets = list(sets)
    more = np.unique(np.fromiter(extra, dtype=np.int64))
    if len(sets) == 1:
        # One stored set (a campaign's own leads): its size, plus the extra ids not in it,
        # found by binary search (no pass over the set).
        ids = sets[0]
        if ids.size == 0:
            return int(more.size)
        at = np.minimum(np.searchsorted(ids, more), ids.size - 1)
        return int(ids.size + np.count_nonzero(ids[at] != more))
    ids = np.concatenate([*sets, more])
    if ids.size == 0:
        return 0
    low, high = int(ids.min()), int(ids.max())
    if high - low < MARK_SPAN:
        marks = np.zeros(high - low + 1, dtype=bool)
        marks[ids - low] = True
        return int(np.count_nonzero(marks))
    ordered = np.sort(ids, kind="stable")
    return int(np.count_nonzero(np.diff(ordered))) + 1
