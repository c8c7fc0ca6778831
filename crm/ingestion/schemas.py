"""The columns of each entity (DESIGN section 5) and the model fields they fill.

docs/ingestion.md is the user-facing copy of these tables; tests/crm/test_ingestion_service.py
checks that every model field is covered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.db import models

from crm.ingestion.cells import (
    Boolean,
    Choice,
    Currency,
    Email,
    Integer,
    JsonObject,
    Kind,
    Money,
    Phone,
    Tags,
    Text,
    Timestamp,
)
from crm.models import (
    Activity,
    ActivityType,
    BillingPeriod,
    Campaign,
    CampaignMessage,
    ChatMessage,
    CompetitorPrice,
    Contact,
    Direction,
    Lead,
    LeadStatus,
    PriceHistory,
    Product,
    Quote,
    QuoteOutcome,
    Sale,
    SaleKind,
    Touchpoint,
)

# The reference kinds a column may hold: "agent" (a member's e-mail) or an entity name.
AGENT = "agent"
POSITIVE_INT_MAX = 2_147_483_647

# (row index, column, reason) for a problem spanning several columns.
RowCheck = Callable[[dict[str, list[Any]]], Iterator[tuple[int, str, str]]]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    # The model attnames the column fills; a phone fills phone and country.
    fields: tuple[str, ...]
    required: bool = False
    # Stored when the cell is empty or the column is absent (a tuple for several fields).
    default: Any = None
    # AGENT or the entity whose external_id the cell holds; resolved to an id per batch.
    ref: str | None = None


@dataclass(frozen=True, eq=False)
class EntitySpec:
    name: str
    model: type[models.Model]
    columns: tuple[Column, ...]
    checks: tuple[RowCheck, ...] = ()
    # Model fields no column fills: derived from other rows when a batch is stored.
    derived_fields: tuple[str, ...] = ()
    # Model fields the application writes, never ingestion: inserted rows take their
    # database default (db_default) and upserts leave them as they are.
    application_fields: tuple[str, ...] = ()

    @cached_property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for column in self.columns for name in column.fields)

    @cached_property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @cached_property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.required)

    @cached_property
    def references(self) -> tuple[Column, ...]:
        return tuple(column for column in self.columns if column.ref)

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)


def _max_length(model: type[models.Model], field: str) -> int | None:
    return model._meta.get_field(field).max_length


def external_id(model: type[models.Model]) -> Column:
    return Column("external_id", Text(_max_length(model, "external_id")), ("external_id",), required=True)


def text(model: type[models.Model], name: str, *, required: bool = False) -> Column:
    return Column(name, Text(_max_length(model, name)), (name,), required=required, default="")


def long_text(name: str) -> Column:
    # Message bodies and descriptions keep their own spacing.
    return Column(name, Text(None, strip=False), (name,), default="")


def timestamp(name: str, *, required: bool = False) -> Column:
    return Column(name, Timestamp(), (name,), required=required)


def reference(name: str, field: str, ref: str, *, required: bool = False) -> Column:
    kind = Email(lower=True) if ref == AGENT else Text(100)
    return Column(name, kind, (field,), required=required, ref=ref)


def choice(
    name: str, choices: type[models.TextChoices], *, default: str = "", required: bool = False
) -> Column:
    return Column(name, Choice(choices.values), (name,), required=required, default=default)


def _campaign_dates(columns: dict[str, list[Any]]) -> Iterator[tuple[int, str, str]]:
    for index, (started, ended) in enumerate(zip(columns["started_at"], columns["ended_at"], strict=True)):
        if started is not None and ended is not None and ended < started:
            yield index, "ended_at", "before started_at"


def _quote_dates(columns: dict[str, list[Any]]) -> Iterator[tuple[int, str, str]]:
    for index, (quoted, decided) in enumerate(zip(columns["quoted_at"], columns["decided_at"], strict=True)):
        if quoted is not None and decided is not None and decided < quoted:
            yield index, "decided_at", "before quoted_at"


def _price(name: str, *, required: bool = False) -> Column:
    return Column(name, Money(positive=True), (name,), required=required)


SPECS: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        EntitySpec(
            "contacts",
            Contact,
            (
                external_id(Contact),
                text(Contact, "name"),
                Column("phone", Phone(), ("phone", "country"), default=("", "")),
                Column("email", Email(), ("email",), default=""),
                timestamp("created_at", required=True),
                Column("tags", Tags(), ("tags",), default=[]),
                Column("custom_fields", JsonObject(), ("custom_fields",), default={}),
            ),
        ),
        EntitySpec(
            "leads",
            Lead,
            (
                external_id(Lead),
                reference("contact_external_id", "contact_id", "contacts"),
                text(Lead, "name"),
                text(Lead, "source"),
                choice("status", LeadStatus, default=LeadStatus.NEW),
                reference("assigned_agent", "assigned_agent_id", AGENT),
                Column("score", Integer(0, 100), ("score",)),
                Column("estimated_value", Money(minimum=Decimal(0)), ("estimated_value",)),
                text(Lead, "product_line"),
                text(Lead, "region"),
                timestamp("created_at", required=True),
                timestamp("assigned_at"),
                timestamp("contacted_at"),
                timestamp("interested_at"),
                timestamp("converted_at"),
                timestamp("lost_at"),
                Column("satisfaction_rating", Integer(1, 5), ("satisfaction_rating",)),
                timestamp("rated_at"),
            ),
        ),
        EntitySpec(
            "activities",
            Activity,
            (
                external_id(Activity),
                reference("lead_external_id", "lead_id", "leads"),
                reference("agent", "agent_id", AGENT),
                choice("type", ActivityType, required=True),
                choice("direction", Direction),
                text(Activity, "channel"),
                timestamp("occurred_at", required=True),
                Column("duration_seconds", Integer(0, POSITIVE_INT_MAX), ("duration_seconds",)),
                text(Activity, "outcome"),
                Column("automated", Boolean(), ("automated",), default=False),
                text(Activity, "title"),
                long_text("description"),
                Column("metadata", JsonObject(), ("metadata",), default={}),
            ),
        ),
        EntitySpec(
            "sales",
            Sale,
            (
                external_id(Sale),
                reference("lead_external_id", "lead_id", "leads"),
                reference("contact_external_id", "contact_id", "contacts"),
                reference("agent", "agent_id", AGENT),
                # Refunds are negative sales, so no minimum.
                Column("amount", Money(), ("amount",), required=True),
                Column("currency", Currency(), ("currency",), default=""),
                choice("kind", SaleKind, default=SaleKind.NEW),
                timestamp("closed_at", required=True),
                text(Sale, "product_line"),
                # DESIGN section 9.1: optional, for pricing and profitability.
                reference("product_external_id", "product_id", "products"),
                Column("quantity", Integer(1, POSITIVE_INT_MAX), ("quantity",)),
                _price("unit_price"),
            ),
            # crm.last_touch
            derived_fields=("last_touch_campaign_id",),
        ),
        EntitySpec(
            "campaigns",
            Campaign,
            (
                external_id(Campaign),
                text(Campaign, "name", required=True),
                text(Campaign, "channel"),
                timestamp("started_at"),
                timestamp("ended_at"),
                Column("spend", Money(minimum=Decimal(0)), ("spend",), default=Decimal("0.00")),
                text(Campaign, "status"),
            ),
            checks=(_campaign_dates,),
        ),
        EntitySpec(
            "campaign_messages",
            CampaignMessage,
            (
                external_id(CampaignMessage),
                reference("campaign_external_id", "campaign_id", "campaigns", required=True),
                reference("contact_external_id", "contact_id", "contacts"),
                text(CampaignMessage, "variant"),
                timestamp("sent_at"),
                timestamp("delivered_at"),
                timestamp("read_at"),
                timestamp("replied_at"),
                timestamp("failed_at"),
            ),
        ),
        EntitySpec(
            "touchpoints",
            Touchpoint,
            (
                external_id(Touchpoint),
                reference("contact_external_id", "contact_id", "contacts"),
                reference("lead_external_id", "lead_id", "leads"),
                text(Touchpoint, "channel"),
                reference("campaign_external_id", "campaign_id", "campaigns"),
                timestamp("occurred_at", required=True),
            ),
        ),
        EntitySpec(
            "messages",
            ChatMessage,
            (
                external_id(ChatMessage),
                text(ChatMessage, "conversation_id", required=True),
                reference("contact_external_id", "contact_id", "contacts"),
                reference("agent", "agent_id", AGENT),
                choice("direction", Direction),
                long_text("body"),
                timestamp("sent_at", required=True),
            ),
        ),
        EntitySpec(
            "products",
            Product,
            (
                external_id(Product),
                text(Product, "name", required=True),
                text(Product, "tier"),
                _price("list_price", required=True),
                Column("currency", Currency(), ("currency",), default=""),
                choice("billing_period", BillingPeriod, default=BillingPeriod.MONTH),
                Column("active", Boolean(), ("active",), default=True),
            ),
        ),
        EntitySpec(
            "quotes",
            Quote,
            (
                external_id(Quote),
                reference("lead_external_id", "lead_id", "leads"),
                reference("contact_external_id", "contact_id", "contacts"),
                reference("product_external_id", "product_id", "products", required=True),
                reference("agent", "agent_id", AGENT),
                timestamp("quoted_at", required=True),
                _price("unit_price", required=True),
                Column("quantity", Integer(1, POSITIVE_INT_MAX), ("quantity",), default=1),
                choice("outcome", QuoteOutcome, default=QuoteOutcome.OPEN),
                timestamp("decided_at"),
            ),
            checks=(_quote_dates,),
        ),
        EntitySpec(
            "competitor_prices",
            CompetitorPrice,
            (
                external_id(CompetitorPrice),
                text(CompetitorPrice, "competitor", required=True),
                reference("product_external_id", "product_id", "products", required=True),
                _price("price", required=True),
                Column("currency", Currency(), ("currency",), default=""),
                timestamp("observed_at", required=True),
            ),
        ),
        EntitySpec(
            "price_history",
            PriceHistory,
            (
                external_id(PriceHistory),
                reference("product_external_id", "product_id", "products", required=True),
                _price("price", required=True),
                Column("currency", Currency(), ("currency",), default=""),
                timestamp("effective_at", required=True),
            ),
            # Written by the application for its own rows (docs/pricing.md).
            application_fields=("source", "suggestion_id"),
        ),
    )
}

ENTITIES: tuple[str, ...] = tuple(SPECS)


def entity_spec(entity: str) -> EntitySpec:
    """The spec of `entity`, or ValueError naming the accepted entities."""
    try:
        return SPECS[entity]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown entity {entity!r}; use one of: {', '.join(ENTITIES)}.") from None
