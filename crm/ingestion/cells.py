"""Cell kinds: how one column's raw values become stored values, or a reason they cannot.

Each kind parses one cell (`parse_one`) and, for speed, a whole column of text cells at
once (`parse_many`). The column path leans on C built-ins (map, comprehensions, set
algebra) and gives up on the first surprise by raising; the caller then parses that column
cell by cell, so the reasons and the results are always those of `parse_one`.

Empty cells (None, "" or only spaces) parse to None; the schema applies defaults and
"required" afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
import phonenumbers

from crm.ingestion.report import show

UTC = dt.UTC
# DESIGN section 5 leaves the range open; anything outside is a typo or an epoch mix-up
# (RELIABILITY G7: year 0, 9999, 1e20), and PostgreSQL/Python disagree at the extremes.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=UTC)
LATEST_EXCLUSIVE = dt.datetime(2101, 1, 1, tzinfo=UTC)
CENTS = Decimal("0.01")
# DecimalField(max_digits=14, decimal_places=2): twelve digits before the point.
DECIMAL_LIMIT = Decimal(10) ** 12
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "t"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "f"})
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
CURRENCY_RE = re.compile(r"[A-Z]{3}")
MAX_TAG_CHARS = 100
# Exceptions that mean "the fast column path met a value it does not handle".
FAST_PATH_MISS = (ValueError, TypeError, AttributeError, KeyError, OverflowError, ArithmeticError)


class CellError(ValueError):
    """A cell's value is refused; the message is the reason shown to the user."""


class FastPathMiss(Exception):
    """Raised by parse_many to hand a column over to the cell-by-cell path."""


def _strip_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, int) and not isinstance(raw, bool):
        # Integrations often send numeric ids; they are stored as text.
        return str(raw)
    raise CellError(f"expected text, got {type(raw).__name__}")


class Kind:
    """One column type. Subclasses implement parse_one and may speed up parse_many."""

    def parse_one(self, raw: Any) -> Any:
        raise NotImplementedError

    def parse_many(self, raws: Sequence[str]) -> list[Any]:
        """Parse a column of str cells, or raise FastPathMiss (or any FAST_PATH_MISS)."""
        raise FastPathMiss


class Text(Kind):
    def __init__(self, max_length: int | None, *, strip: bool = True) -> None:
        self.max_length = max_length
        self.strip = strip

    def parse_one(self, raw: Any) -> str | None:
        keep_spacing = not self.strip and isinstance(raw, str)
        value = (raw if raw.strip() else "") if keep_spacing else _strip_text(raw)
        if not value:
            return None
        if self.max_length is not None and len(value) > self.max_length:
            raise CellError(f"longer than {self.max_length} characters ({len(value)})")
        return value

    def parse_many(self, raws: Sequence[str]) -> list[str | None]:
        values = [raw.strip() for raw in raws] if self.strip else raws
        if not self.strip and any(value and value.isspace() for value in values):
            raise FastPathMiss
        if self.max_length is not None and max(map(len, values), default=0) > self.max_length:
            raise FastPathMiss
        return [value or None for value in values]


class Email(Text):
    def __init__(self, *, lower: bool = False) -> None:
        super().__init__(254)
        self.lower = lower

    def parse_one(self, raw: Any) -> str | None:
        value = super().parse_one(raw)
        if value is None:
            return None
        if not EMAIL_RE.fullmatch(value):
            raise CellError(f"not an e-mail address: {show(value)}")
        return value.lower() if self.lower else value

    def parse_many(self, raws: Sequence[str]) -> list[str | None]:
        values = super().parse_many(raws)
        # A batch names few distinct people: check and lower each address once.
        distinct = set(values)
        distinct.discard(None)
        if not all(EMAIL_RE.fullmatch(value) for value in distinct):
            raise FastPathMiss
        if not self.lower:
            return values
        lowered = {value: value.lower() for value in distinct}
        lowered[None] = None
        return [lowered[value] for value in values]


class Currency(Kind):
    def parse_one(self, raw: Any) -> str | None:
        value = _strip_text(raw).upper()
        if not value:
            return None
        if not CURRENCY_RE.fullmatch(value):
            raise CellError(f"not a three-letter currency code: {show(value)}")
        return value


class Choice(Kind):
    """An enumeration: matched without regard to case or surrounding spaces."""

    def __init__(self, choices: Sequence[str]) -> None:
        self.choices = tuple(choices)
        self.allowed = frozenset(choices)
        self.allowed_or_empty = self.allowed | {""}

    def parse_one(self, raw: Any) -> str | None:
        value = _strip_text(raw).lower()
        if not value:
            return None
        if value not in self.allowed:
            raise CellError(f"{show(value)} is not one of {', '.join(self.choices)}")
        return value

    def parse_many(self, raws: Sequence[str]) -> list[str | None]:
        if not self.allowed_or_empty.issuperset(raws):
            raise FastPathMiss
        return [raw or None for raw in raws]


class Boolean(Kind):
    # Exact spellings the column path accepts without lowering each cell.
    FAST = {
        "": None,
        "true": True,
        "false": False,
        "True": True,
        "False": False,
        "TRUE": True,
        "FALSE": False,
        "1": True,
        "0": False,
    }

    def parse_one(self, raw: Any) -> bool | None:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if not isinstance(raw, str):
            raise CellError(f"expected true or false, got {type(raw).__name__}")
        value = raw.strip().lower()
        if not value:
            return None
        if value in TRUE_WORDS:
            return True
        if value in FALSE_WORDS:
            return False
        raise CellError(f"expected true or false, got {show(raw)}")

    def parse_many(self, raws: Sequence[str]) -> list[bool | None]:
        fast = self.FAST
        return [fast[raw] for raw in raws]


class Integer(Kind):
    def __init__(self, minimum: int, maximum: int) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def parse_one(self, raw: Any) -> int | None:
        if isinstance(raw, bool):
            raise CellError("expected a whole number, got a boolean")
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, float):
            if not raw.is_integer():
                raise CellError(f"not a whole number: {show(raw)}")
            value = int(raw)
        elif isinstance(raw, str):
            text = raw.strip()
            if not text:
                return None
            try:
                value = int(text)
            except ValueError:
                raise CellError(f"not a whole number: {show(text)}") from None
        else:
            raise CellError(f"expected a whole number, got {type(raw).__name__}")
        if not self.minimum <= value <= self.maximum:
            raise CellError(f"{value} is outside {self.minimum}..{self.maximum}")
        return value

    def parse_many(self, raws: Sequence[str]) -> list[int | None]:
        values = [int(raw) if raw else None for raw in raws]
        present = [value for value in values if value is not None]
        if present and (min(present) < self.minimum or max(present) > self.maximum):
            raise FastPathMiss
        return values


class Money(Kind):
    """A decimal with at most two places, below 10^12 (the model's DecimalField(14, 2))."""

    def __init__(self, *, minimum: Decimal | None = None, positive: bool = False) -> None:
        self.minimum = minimum
        # Prices: 0 is not a price (a free item is not priced, it is left out).
        self.positive = positive

    def parse_one(self, raw: Any) -> Decimal | None:
        if isinstance(raw, bool):
            raise CellError("expected a number, got a boolean")
        if isinstance(raw, int | float | Decimal):
            text = str(raw) if isinstance(raw, Decimal) else repr(raw)
        elif isinstance(raw, str):
            text = raw.strip()
            if not text:
                return None
        else:
            raise CellError(f"expected a number, got {type(raw).__name__}")
        try:
            value = Decimal(text)
        except InvalidOperation:
            hint = " (use a dot as the decimal separator, no thousands separator)" if "," in text else ""
            raise CellError(f"not a number: {show(text)}{hint}") from None
        if not value.is_finite():
            raise CellError(f"not a finite number: {show(text)}")
        if value and value.adjusted() >= 12:
            raise CellError(f"{show(text)} is too large (at most 999999999999.99)")
        rounded = value.quantize(CENTS)
        if rounded != value:
            raise CellError(f"{show(text)} has more than 2 decimal places")
        if self.minimum is not None and rounded < self.minimum:
            raise CellError(f"{show(text)} is below {self.minimum}")
        if self.positive and rounded <= 0:
            raise CellError(f"{show(text)} is not above 0")
        return rounded


class Timestamp(Kind):
    """ISO 8601; without an offset the time is UTC (DESIGN section 4)."""

    def parse_one(self, raw: Any) -> dt.datetime | None:
        if isinstance(raw, dt.datetime):
            # Python callers of ingest_records may pass datetimes; same rules as text.
            value, text = raw, raw.isoformat()
        elif isinstance(raw, str):
            text = raw.strip()
            if not text:
                return None
            try:
                value = dt.datetime.fromisoformat(text)
            except ValueError as exc:
                detail = "" if "isoformat" in str(exc) else f" ({exc})"
                raise CellError(f"not a valid ISO 8601 timestamp: {show(text)}{detail}") from None
        else:
            raise CellError(f"expected an ISO 8601 timestamp text, got {type(raw).__name__}")
        # Checked before converting: astimezone() overflows at year 1 and 9999.
        if not 1970 <= value.year <= 2100:
            raise CellError(f"{show(text)} is outside the years 1970 to 2100")
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if not EARLIEST <= value < LATEST_EXCLUSIVE:
            raise CellError(f"{show(text)} is outside the years 1970 to 2100")
        return value

    def parse_many(self, raws: Sequence[str]) -> list[dt.datetime | None]:
        parse = dt.datetime.fromisoformat
        values = [parse(raw) if raw else None for raw in raws]
        values = [
            None
            if value is None
            else value.replace(tzinfo=UTC)
            if value.tzinfo is None
            else value.astimezone(UTC)
            for value in values
        ]
        present = [value for value in values if value is not None]
        if present and (min(present) < EARLIEST or max(present) >= LATEST_EXCLUSIVE):
            raise FastPathMiss
        return values


def _reject_constant(name: str) -> None:
    # PostgreSQL jsonb has no NaN or Infinity.
    raise CellError(f"{name} is not allowed in JSON")


def bad_char_reason(value: Any) -> str | None:
    """Why a value cannot be stored as text or jsonb: a NUL or an unpaired surrogate."""
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character"
        if SURROGATE_RE.search(value):
            return "contains bytes or characters that are not valid UTF-8 text"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            reason = bad_char_reason(key) or bad_char_reason(item)
            if reason:
                return reason
    elif isinstance(value, list):
        for item in value:
            reason = bad_char_reason(item)
            if reason:
                return reason
    return None


SURROGATE_RE = re.compile("[\ud800-\udfff]")


class JsonObject(Kind):
    """A JSON object: the object itself (JSON input) or its text (CSV cells)."""

    def parse_one(self, raw: Any) -> dict | None:
        if isinstance(raw, dict):
            return raw
        if not isinstance(raw, str):
            raise CellError(f"expected a JSON object, got {type(raw).__name__}")
        text = raw.strip()
        if not text:
            return None
        try:
            value = json.loads(text, parse_constant=_reject_constant)
        except CellError:
            raise
        except (ValueError, RecursionError):
            raise CellError(f"not valid JSON: {show(text)}") from None
        if not isinstance(value, dict):
            raise CellError(f"expected a JSON object ({{...}}), got {type(value).__name__}")
        # "\u0000" and lone "\udXXX" escapes decode to characters jsonb refuses.
        reason = bad_char_reason(value) if "\\u" in text else None
        if reason:
            raise CellError(reason)
        return value

    def parse_many(self, raws: Sequence[str]) -> list[dict | None]:
        if not any(raws):
            return [None] * len(raws)
        if any("\\u" in raw for raw in raws):
            raise FastPathMiss
        values = [orjson.loads(raw) if raw else None for raw in raws]
        if not all(type(value) is dict for value in values if value is not None):
            raise FastPathMiss
        return values


class Tags(Kind):
    """`;`-separated text (CSV) or a list of strings (JSON): trimmed, empties and repeats dropped."""

    def parse_one(self, raw: Any) -> list[str] | None:
        if isinstance(raw, str):
            items: list[Any] = raw.split(";")
        elif isinstance(raw, list):
            items = raw
        else:
            raise CellError(f"expected tags separated by ';' or a list, got {type(raw).__name__}")
        tags: list[str] = []
        for item in items:
            if not isinstance(item, str):
                raise CellError(f"a tag must be text, got {type(item).__name__}")
            tag = item.strip()
            if len(tag) > MAX_TAG_CHARS:
                raise CellError(f"tag {show(tag)} is longer than {MAX_TAG_CHARS} characters")
            if tag and tag not in tags:
                tags.append(tag)
        return tags or None

    def parse_many(self, raws: Sequence[str]) -> list[list[str] | None]:
        if any(raws):
            raise FastPathMiss
        return [None] * len(raws)


class Phone(Kind):
    """An international number -> (E.164, ISO 3166 region) with the phonenumbers library."""

    def parse_one(self, raw: Any) -> tuple[str, str] | None:
        text = _strip_text(raw)
        if not text:
            return None
        candidate = "+" + text[2:] if text.startswith("00") else text
        try:
            number = phonenumbers.parse(candidate, None)
        except phonenumbers.NumberParseException:
            raise CellError(
                f"not an international phone number: {show(text)} (start with + and the country code)"
            ) from None
        if not phonenumbers.is_possible_number(number):
            raise CellError(f"not a possible phone number: {show(text)}")
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        # A possible-but-unassigned number has no region of its own: fall back to the
        # country code's main region (+1 -> US). Non-geographic codes (+800) have none.
        region = phonenumbers.region_code_for_number(number) or phonenumbers.region_code_for_country_code(
            number.country_code
        )
        return e164, region if region and region.isalpha() and region != "ZZ" else ""


def parse_column(kind: Kind, raws: Sequence[Any], *, all_text: bool) -> tuple[list[Any], dict[int, str]]:
    """Parse a column: the values (None where empty or refused) and the reasons by position."""
    if all_text:
        try:
            return kind.parse_many(raws), {}
        except (FastPathMiss, CellError, *FAST_PATH_MISS):
            pass
    values: list[Any] = []
    reasons: dict[int, str] = {}
    for index, raw in enumerate(raws):
        if raw is None or raw == "":
            values.append(None)
            continue
        try:
            values.append(kind.parse_one(raw))
        except CellError as exc:
            values.append(None)
            reasons[index] = str(exc)
    return values, reasons
