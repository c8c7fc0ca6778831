"""Stored id sets (core.stats.idsets): what goes in comes back, and unions count exactly."""

from __future__ import annotations

import numpy as np

from core.stats.idsets import idset_pack, idset_union_size, idset_unpack


def test_a_set_comes_back_sorted_without_repeats():
    packed = idset_pack([9, 3, 3, 2**40, 7, 9])
    assert idset_unpack(packed).tolist() == [3, 7, 9, 2**40]
    assert idset_unpack(idset_pack([])).tolist() == []


def test_dense_ids_pack_small():
    # 100,000 sorted ids with small gaps: far under 8 bytes each
    ids = np.arange(1_000_000, 1_300_000, 3)
    assert len(idset_pack(ids.tolist())) < ids.size


def test_a_union_counts_each_id_once():
    a, b = idset_unpack(idset_pack([1, 2, 3])), idset_unpack(idset_pack([3, 4]))
    assert idset_union_size([a, b]) == 4
    assert idset_union_size([a, b], extra=[4, 5, 1]) == 5
    assert idset_union_size([], extra=[]) == 0
    assert idset_union_size([], extra=[8, 8]) == 1


def test_a_union_wider_than_the_marking_span_is_counted_by_sorting(monkeypatch):
    from core.stats import idsets

    monkeypatch.setattr(idsets, "MARK_SPAN", 4)
    a, b = idset_unpack(idset_pack([1, 2, 3, 100])), idset_unpack(idset_pack([3, 4, 100]))
    assert idset_union_size([a, b], extra=[5]) == 6
    monkeypatch.setattr(idsets, "MARK_SPAN", 1 << 25)
    assert idset_union_size([a, b], extra=[5]) == 6


def test_one_set_and_extra_ids():
    ids = idset_unpack(idset_pack([2, 4, 6]))
    assert idset_union_size([ids]) == 3
    assert idset_union_size([ids], extra=[1, 4, 7, 7]) == 5
    assert idset_union_size([idset_unpack(idset_pack([]))], extra=[3, 3]) == 1
