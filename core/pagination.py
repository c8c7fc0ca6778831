"""The one cursor format of the API's keyset pagination.

A cursor is the sort key of the last row of a page (its parts: a moment, a number, a kind,
an id), joined with "|" and base64url-encoded without padding, so clients treat it as an
opaque token. Each list decides its parts and checks them; this module only encodes, decodes
and refuses anything that is not one of ours with the caller's ApplicationError (400).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt

from django.db.models import QuerySet

from core.errors import ApplicationError

SEPARATOR = "|"
# Longer than any cursor we write (a timestamp, a kind and an id): anything longer is forged.
CURSOR_MAX_LENGTH = 200
# A cursor's moment is that of a row: anything outside these years is forged, and year 1 or
# 9999 with an offset cannot even be converted to UTC.
CURSOR_YEARS = (1900, 2200)


def cursor_encode(*parts: object) -> str:
    raw = SEPARATOR.join(p.isoformat() if isinstance(p, dt.datetime) else str(p) for p in parts)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def cursor_decode(cursor: str, *, parts: int, invalid: ApplicationError) -> list[str]:
    """The `parts` text parts of a cursor we wrote; raises `invalid` for anything else."""
    try:
        if len(cursor) > CURSOR_MAX_LENGTH:
            raise ValueError("too long")
        texts = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(SEPARATOR)
        if len(texts) != parts:
            raise ValueError("wrong number of parts")
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid from exc
    return texts


def cursor_id(text: str, *, invalid: ApplicationError, signed: bool = False) -> int:
    """A row id of a cursor: ASCII digits only ("²" is a digit to isdigit() but not to int()),
    few enough for a bigint."""
    digits = text[1:] if signed and text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 18):
        raise invalid
    return int(text)


def cursor_moment(text: str, *, invalid: ApplicationError) -> dt.datetime:
    """An aware moment of a cursor, within CURSOR_YEARS."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise invalid from exc
    if moment.tzinfo is None or not CURSOR_YEARS[0] <= moment.year <= CURSOR_YEARS[1]:
        raise invalid
    try:
        moment.astimezone(dt.UTC)
    except OverflowError as exc:
        raise invalid from exc
    return moment


def newest_first_page(rows: QuerySet, *, cursor: str | None, limit: int) -> tuple[list, str | None]:
    """A page of `rows` ordered newest first by (created_at, id), after `cursor`: the rows and
    the cursor of the next page (None on the last). The lists of pricing suggestions and of
    experiments page this way."""
    if cursor:
        invalid = ApplicationError("Not a cursor of this list.", field="cursor")
        moment_text, id_text = cursor_decode(cursor, parts=2, invalid=invalid)
        moment, last_id = cursor_moment(moment_text, invalid=invalid), cursor_id(id_text, invalid=invalid)
        rows = rows.filter(created_at__lte=moment).exclude(created_at=moment, id__gte=last_id)
    page = list(rows.order_by("-created_at", "-id")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return page, (cursor_encode(page[-1].created_at, page[-1].pk) if more else None)
