"""Spotting an external_id that appeared in an earlier batch of the same file.

This is the one thing an import keeps for every row: keeping the ids themselves as Python
strings would cost ~90 bytes a row (450 MB at the 5,000,000-row cap), so only a 64-bit
hash and the row number are kept, in sorted numpy runs: 12 bytes a row (12 MB for a
million rows). Runs of equal size are merged, like a binary counter, up to MAX_RUN_KEYS;
the cap bounds the memory a merge needs at once (old and new arrays side by side) and
keeps lookups to a few dozen binary searches per batch even at the row cap.

Two different ids with the same 64-bit hash would be reported as a duplicate; for a file
at the row cap that chance is below one in a million.
"""

from __future__ import annotations

import numpy as np

# 512k keys: a merge holds at most ~12 MB of old and new arrays at once.
MAX_RUN_KEYS = 1 << 19


class SeenKeys:
    def __init__(self) -> None:
        # (sorted hashes, row numbers in the same order), oldest and largest first.
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(hashes) for hashes, _ in self._runs)

    def first_rows(self, keys: list[str]) -> list[int | None]:
        """For each key, the row number it was first seen at, or None."""
        if not keys or not self._runs:
            return [None] * len(keys)
        wanted = np.fromiter(map(hash, keys), dtype=np.int64, count=len(keys))
        found = np.full(len(keys), -1, dtype=np.int64)
        for hashes, rows in self._runs:
            positions = np.searchsorted(hashes, wanted).clip(max=len(hashes) - 1)
            hit = (hashes[positions] == wanted) & (found < 0)
            found[hit] = rows[positions[hit]]
        return [None if row < 0 else int(row) for row in found.tolist()]

    def add(self, keys: list[str], rows: list[int]) -> None:
        """Remember keys (not seen before) with the row numbers they appeared at."""
        if not keys:
            return
        hashes = np.fromiter(map(hash, keys), dtype=np.int64, count=len(keys))
        order = np.argsort(hashes, kind="stable")
        self._runs.append((hashes[order], np.asarray(rows, dtype=np.int32)[order]))
        while len(self._runs) > 1:
            older_hashes, older_rows = self._runs[-2]
            newer_hashes, newer_rows = self._runs[-1]
            if len(older_hashes) > len(newer_hashes) or len(older_hashes) + len(newer_hashes) > MAX_RUN_KEYS:
                break
            # Both runs are sorted: inserting one into the other needs no sort and no
            # index array the size of the result.
            at = np.searchsorted(older_hashes, newer_hashes)
            self._runs[-2:] = [
                (np.insert(older_hashes, at, newer_hashes), np.insert(older_rows, at, newer_rows))
            ]
