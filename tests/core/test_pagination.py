"""The one cursor format (core/pagination.py): what we write reads back, anything else is a 400."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from core.errors import ApplicationError
from core.pagination import CURSOR_MAX_LENGTH, cursor_decode, cursor_encode, cursor_id, cursor_moment

INVALID = ApplicationError("This cursor is not valid; start again without it.", field="cursor")
MOMENT = dt.datetime(2026, 11, 21, 9, 30, tzinfo=dt.UTC)


def forged(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_a_cursor_reads_back_its_parts():
    cursor = cursor_encode(MOMENT, "a", 42)
    assert "=" not in cursor  # opaque and URL-safe: no padding, no "+" or "/"
    moment, kind, pk = cursor_decode(cursor, parts=3, invalid=INVALID)
    assert (cursor_moment(moment, invalid=INVALID), kind, cursor_id(pk, invalid=INVALID)) == (MOMENT, "a", 42)


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        forged("2026-11-21T09:30:00+00:00|7"),  # two parts where three are expected
        forged("a|b|c|d"),
        forged("é" * 10)[:-1],  # cut in the middle of a character: not UTF-8
        "A" * (CURSOR_MAX_LENGTH + 1),
    ],
)
def test_anything_that_is_not_ours_is_refused(cursor):
    with pytest.raises(ApplicationError) as caught:
        cursor_decode(cursor, parts=3, invalid=INVALID)
    assert caught.value is INVALID


@pytest.mark.parametrize(
    "text",
    ["2026-11-21T09:30:00", "1899-12-31T23:00:00+00:00", "2201-01-01T00:00:00+00:00", "yesterday"],
)
def test_a_moment_must_be_aware_and_plausible(text):
    with pytest.raises(ApplicationError):
        cursor_moment(text, invalid=INVALID)


@pytest.mark.parametrize(("text", "signed"), [("²", False), ("-5", False), ("1" * 19, False), ("", True)])
def test_an_id_is_a_small_whole_number(text, signed):
    with pytest.raises(ApplicationError):
        cursor_id(text, invalid=INVALID, signed=signed)


def test_a_negative_id_only_where_the_list_has_them():
    assert cursor_id("-5", invalid=INVALID, signed=True) == -5
