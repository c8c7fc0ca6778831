"""CRM data: organizations, members, the ingested entities and the audit log.

Every entity of DESIGN section 5 is keyed by (organization, external_id) and carries the
composite indexes the analytics read through: organization + time, organization + agent +
time, organization + type + time.
"""

from __future__ import annotations

import secrets
import zoneinfo

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F
from django.db.models.functions import Coalesce, Least
from django.utils.timezone import now

from core.tenancy import OrgManager, OrgQuerySet


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone {value!r}.")


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class Organization(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    currency = models.CharField(max_length=3, default="USD")
    # Shared secret for the signed chat-message webhook (HMAC needs the plain value).
    webhook_secret = models.CharField(max_length=64, default=new_webhook_secret)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    AGENT = "agent", "Agent"


class MemberManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> Member:
        if not email:
            raise ValueError("An e-mail address is required.")
        member = self.model(email=self.normalize_email(email).lower(), **extra)
        member.set_password(password)
        member.save(using=self._db)
        return member

    def create_superuser(self, email: str, password: str | None = None, **extra) -> Member:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", Role.ADMIN)
        return self.create_user(email, password, **extra)

    def for_org(self, organization: Organization | int) -> models.QuerySet:
        org_id = organization if isinstance(organization, int) else organization.pk
        return self.filter(organization_id=org_id)


class Member(AbstractBaseUser, PermissionsMixin):
    """A person who logs in. Belongs to one organization with one role.

    Superusers (platform operators) may have no organization; every product page and
    API requires one.
    """

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="members", null=True, blank=True
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    team = models.CharField(max_length=100, blank=True)
    # Counted in team rankings; separate from is_active (may log in).
    is_active_agent = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=now)

    objects = MemberManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        indexes = [models.Index(fields=["organization", "role"])]

    def __str__(self) -> str:
        return self.name or self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@")[0]

    @property
    def is_manager(self) -> bool:
        return self.role in (Role.MANAGER, Role.ADMIN)

    @property
    def is_org_admin(self) -> bool:
        return self.role == Role.ADMIN


class ApiKey(models.Model):
    """An organization's ingestion key. Only the SHA-256 of the key is stored."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = OrgManager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class TenantModel(models.Model):
    # No single-column index: every index and the unique key start with organization, and
    # each extra index slows bulk ingestion (docs/performance.md).
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    external_id = models.CharField(max_length=100)

    objects = OrgManager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.external_id


def _unique_external_id(name: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(fields=["organization", "external_id"], name=f"{name}_org_extid")


class Contact(TenantModel):
    name = models.CharField(max_length=200, blank=True)
    # E.164, normalised with phonenumbers at ingestion; country is ISO 3166 alpha-2.
    phone = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField()
    tags = models.JSONField(default=list, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [_unique_external_id("contact")]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="contact_org_created"),
            models.Index(fields=["organization", "country"], name="contact_org_country"),
        ]


class LeadStatus(models.TextChoices):
    NEW = "new"
    CONTACTED = "contacted"
    INTERESTED = "interested"
    CONVERTED = "converted"
    LOST = "lost"


def lead_first_close() -> Least:
    """A lead's first close: converted or lost, whichever came first (NULL when neither).
    Spelled with COALESCE so that SQLite, whose MIN(a, b) is NULL when one is NULL, gives the
    same; the index lead_org_first_close is on this expression, so filters on it use it."""
    return Least(Coalesce("converted_at", "lost_at"), Coalesce("lost_at", "converted_at"))


class Lead(TenantModel):
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True)
    name = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=LeadStatus.choices, default=LeadStatus.NEW)
    assigned_agent = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="leads"
    )
    score = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(100)])
    estimated_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    product_line = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()
    assigned_at = models.DateTimeField(null=True, blank=True)
    contacted_at = models.DateTimeField(null=True, blank=True)
    interested_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    lost_at = models.DateTimeField(null=True, blank=True)
    satisfaction_rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    rated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [_unique_external_id("lead")]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="lead_org_created"),
            # Team-wide "handled in window" scans (all agents at once: rankings, rollups).
            models.Index(fields=["organization", "assigned_at"], name="lead_org_assigned"),
            models.Index(
                fields=["organization", "assigned_agent", "assigned_at"], name="lead_org_agent_assigned"
            ),
            models.Index(fields=["organization", "status", "created_at"], name="lead_org_status_created"),
            models.Index(fields=["organization", "source", "created_at"], name="lead_org_source_created"),
            # Today's first closes are the live rest of the pipeline value (insights.selectors).
            models.Index(F("organization"), lead_first_close(), name="lead_org_first_close"),
        ]


class ActivityType(models.TextChoices):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    MESSAGE = "message"
    NOTE = "note"
    CONVERSION = "conversion"
    ASSIGNMENT = "assignment"
    STATUS_CHANGE = "status_change"


class Direction(models.TextChoices):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Activity(TenantModel):
    lead = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, blank=True)
    agent = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="activities"
    )
    type = models.CharField(max_length=16, choices=ActivityType.choices)
    direction = models.CharField(max_length=8, choices=Direction.choices, blank=True)
    channel = models.CharField(max_length=50, blank=True)
    occurred_at = models.DateTimeField()
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    # Free text in the contract (`success`, `failed`, `no_answer`, `voicemail`, ...).
    outcome = models.CharField(max_length=32, blank=True)
    automated = models.BooleanField(default=False)
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "activities"
        constraints = [_unique_external_id("activity")]
        indexes = [
            models.Index(fields=["organization", "occurred_at"], name="activity_org_time"),
            models.Index(fields=["organization", "agent", "occurred_at"], name="activity_org_agent_time"),
            models.Index(fields=["organization", "type", "occurred_at"], name="activity_org_type_time"),
            models.Index(fields=["organization", "lead", "occurred_at"], name="activity_org_lead_time"),
        ]


class SaleKind(models.TextChoices):
    NEW = "new"
    RECURRING = "recurring"
    ONE_TIME = "one_time"
    UPSELL = "upsell"
    CROSS_SELL = "cross_sell"
    RENEWAL = "renewal"
    EXPANSION = "expansion"


class Sale(TenantModel):
    lead = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, blank=True)
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True)
    agent = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="sales")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, blank=True)
    kind = models.CharField(max_length=16, choices=SaleKind.choices, default=SaleKind.NEW)
    closed_at = models.DateTimeField()
    product_line = models.CharField(max_length=100, blank=True)
    # Optional (DESIGN section 9.1): what was sold, for pricing and profitability.
    product = models.ForeignKey(
        "Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    quantity = models.PositiveIntegerField(null=True, blank=True)
    unit_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # Derived, never ingested: the campaign of the sale's last touchpoint before closed_at
    # (crm.last_touch keeps it in step with sales, touchpoints and leads as they are stored).
    # No index: reads filter sales by organization and time, then group by it, and a campaign
    # is deleted too rarely to pay for one on every sale written.
    last_touch_campaign = models.ForeignKey(
        "Campaign", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )

    class Meta:
        constraints = [_unique_external_id("sale")]
        indexes = [
            models.Index(fields=["organization", "closed_at"], name="sale_org_closed"),
            models.Index(fields=["organization", "agent", "closed_at"], name="sale_org_agent_closed"),
            models.Index(fields=["organization", "kind", "closed_at"], name="sale_org_kind_closed"),
        ]


class Campaign(TenantModel):
    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=50, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    spend = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    status = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [_unique_external_id("campaign")]
        indexes = [models.Index(fields=["organization", "started_at"], name="campaign_org_started")]

    def __str__(self) -> str:
        return self.name


class CampaignMessage(TenantModel):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="messages")
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True)
    variant = models.CharField(max_length=50, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [_unique_external_id("campaignmessage")]
        indexes = [
            models.Index(fields=["organization", "sent_at"], name="cmsg_org_sent"),
            models.Index(fields=["organization", "campaign", "sent_at"], name="cmsg_org_campaign_sent"),
        ]


class Touchpoint(TenantModel):
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True)
    lead = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, blank=True)
    channel = models.CharField(max_length=50, blank=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.SET_NULL, null=True, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [_unique_external_id("touchpoint")]
        indexes = [
            models.Index(fields=["organization", "occurred_at"], name="touch_org_time"),
            models.Index(fields=["organization", "lead", "occurred_at"], name="touch_org_lead_time"),
            # The lead too: the distinct leads touched by a set of campaigns (the dashboard's
            # cost per lead) and a lead's earlier touches of a campaign (its first touch) are
            # then read from the index alone.
            models.Index(
                fields=["organization", "campaign", "lead", "occurred_at"],
                name="touch_org_campaign_lead_time",
            ),
        ]


class ChatMessage(TenantModel):
    conversation_id = models.CharField(max_length=100)
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True)
    agent = models.ForeignKey(
        Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="chat_messages"
    )
    direction = models.CharField(max_length=8, choices=Direction.choices, blank=True)
    body = models.TextField(blank=True)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [_unique_external_id("chatmessage")]
        indexes = [
            models.Index(fields=["organization", "sent_at"], name="chat_org_sent"),
            models.Index(fields=["organization", "conversation_id", "sent_at"], name="chat_org_conv_sent"),
            models.Index(fields=["organization", "agent", "sent_at"], name="chat_org_agent_sent"),
        ]


class BillingPeriod(models.TextChoices):
    MONTH = "month", "Monthly"
    YEAR = "year", "Yearly"
    ONCE = "once", "One-off"


class Product(TenantModel):
    """What an organization sells, with its current list price (DESIGN section 9.1).

    The list price changes through ingestion or an applied pricing suggestion; pricing's
    PriceHistory keeps every earlier price."""

    name = models.CharField(max_length=200)
    tier = models.CharField(max_length=50, blank=True)
    list_price = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, blank=True)
    billing_period = models.CharField(
        max_length=8, choices=BillingPeriod.choices, default=BillingPeriod.MONTH
    )
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [_unique_external_id("product")]
        indexes = [models.Index(fields=["organization", "tier"], name="product_org_tier")]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"


class PriceSource(models.TextChoices):
    HISTORY = "history", "Loaded as history"
    IMPORT = "import", "List price loaded"
    SUGGESTION = "suggestion", "Approved suggestion applied"
    ROLLBACK = "rollback", "Suggestion rolled back"


class PriceHistory(TenantModel):
    """A product's list price from `effective_at` on. Loaded for earlier changes (the
    `price_history` entity), and written when a loaded list price differs from the last
    one, when an approved suggestion is applied and when it is rolled back (pricing)."""

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="price_history", db_index=False
    )
    price = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, blank=True)
    effective_at = models.DateTimeField()
    # Not an ingested column: history rows are "history"; the application writes the rest.
    source = models.CharField(
        max_length=16,
        choices=PriceSource.choices,
        default=PriceSource.HISTORY,
        db_default=PriceSource.HISTORY,
    )
    # The pricing suggestion behind an applied or rolled-back price (pricing depends on crm,
    # never the reverse, so no foreign key).
    suggestion_id = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [_unique_external_id("pricehistory")]
        indexes = [
            models.Index(fields=["organization", "product", "effective_at"], name="pricehist_org_product_at"),
        ]
        verbose_name_plural = "price history"


class QuoteOutcome(models.TextChoices):
    WON = "won", "Won"
    LOST = "lost", "Lost"
    OPEN = "open", "Open"


class Quote(TenantModel):
    """A price offered for a product; decided quotes are what price elasticity learns from."""

    lead = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="quotes", db_index=False)
    agent = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    quoted_at = models.DateTimeField()
    unit_price = models.DecimalField(max_digits=14, decimal_places=2)
    quantity = models.PositiveIntegerField(default=1)
    outcome = models.CharField(max_length=8, choices=QuoteOutcome.choices, default=QuoteOutcome.OPEN)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [_unique_external_id("quote")]
        indexes = [models.Index(fields=["organization", "product", "quoted_at"], name="quote_org_product_at")]


class CompetitorPrice(TenantModel):
    competitor = models.CharField(max_length=100)
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="competitor_prices", db_index=False
    )
    price = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, blank=True)
    observed_at = models.DateTimeField()

    class Meta:
        constraints = [_unique_external_id("competitorprice")]
        indexes = [
            models.Index(fields=["organization", "product", "observed_at"], name="comp_org_product_at"),
        ]


class ContactSnapshot(models.Model):
    """Contacts per organization per local day: the growth velocity of seed 004."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    total_contacts = models.PositiveIntegerField()
    new_contacts = models.PositiveIntegerField()
    computed_at = models.DateTimeField(default=now)

    objects = OrgManager()

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["organization", "day"], name="snapshot_org_day")]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day}: {self.total_contacts}"


class WebhookReceipt(models.Model):
    """One row per accepted signed delivery, so a replay is recognised and refused."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=100)
    received_at = models.DateTimeField(default=now)

    objects = OrgManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "message_id"], name="webhook_org_msgid")
        ]

    def __str__(self) -> str:
        return self.message_id


class ImportStatus(models.TextChoices):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"


class ImportRun(models.Model):
    """One ingestion run through any door, with its row-level report."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    entity = models.CharField(max_length=32)
    door = models.CharField(max_length=16)  # csv, api, webhook, upload
    filename = models.CharField(max_length=255, blank=True)
    # Uploaded files processed in the background are kept here until the run ends.
    file_path = models.CharField(max_length=500, blank=True)
    bytes_total = models.PositiveBigIntegerField(default=0)
    bytes_read = models.PositiveBigIntegerField(default=0)
    started_by = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, blank=True)
    started_at = models.DateTimeField(default=now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.RUNNING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_stored = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    # The first errors only (ERROR_SAMPLE_LIMIT in crm.ingestion); the count is exact.
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)

    objects = OrgManager()

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["organization", "started_at"], name="import_org_started")]

    def __str__(self) -> str:
        return f"{self.entity} {self.door} {self.started_at:%Y-%m-%d %H:%M}"


class AuditQuerySet(OrgQuerySet):
    """Append-only: bulk updates and deletes are refused like single ones (a tenant's
    deletion still removes its rows: the cascade deletes in SQL, not through this)."""

    def update(self, **kwargs):
        raise ValidationError("Audit log entries cannot be changed.")

    def delete(self):
        raise ValidationError("Audit log entries cannot be deleted.")


class AuditLog(models.Model):
    """Who changed what, when, with the state before and after. Append-only."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    actor = models.ForeignKey(Member, on_delete=models.SET_NULL, null=True, blank=True)
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    at = models.DateTimeField(default=now)

    objects = models.Manager.from_queryset(AuditQuerySet)()

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["organization", "at"], name="audit_org_at"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs) -> None:
        # Audit rows are append-only; the application never rewrites history.
        if self.pk is not None:
            raise ValidationError("Audit log entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Audit log entries cannot be deleted.")
