"""Forms of the CRM pages: they bind and validate input, nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.files.uploadedfile import UploadedFile

from crm.ingestion import ENTITIES
from crm.ingestion.schemas import SPECS

# Larger files belong to the command line door (`manage.py import_crm`).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
CSV_SUFFIXES = (".csv", ".txt")


def entity_label(entity: str) -> str:
    return entity.replace("_", " ").capitalize()


ISO = "ISO 8601 date-time (UTC without an offset)"
# The CSV columns per entity, mirroring DESIGN section 5, with what each cell may hold.
EXPECTED_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "contacts": (
        ("external_id", "your id of the contact"),
        ("name", ""),
        ("phone", "international format, e.g. +254712345678"),
        ("email", ""),
        ("created_at", ISO),
        ("tags", "separated by ;"),
        ("custom_fields", "JSON object"),
    ),
    "leads": (
        ("external_id", "your id of the lead"),
        ("contact_external_id", "external_id of the contact"),
        ("name", ""),
        ("source", ""),
        ("status", "new, contacted, interested, converted or lost"),
        ("assigned_agent", "the agent's e-mail"),
        ("score", "0-100"),
        ("estimated_value", "amount"),
        ("product_line", ""),
        ("region", ""),
        ("created_at", ISO),
        ("assigned_at", ISO),
        ("contacted_at", ISO),
        ("interested_at", ISO),
        ("converted_at", ISO),
        ("lost_at", ISO),
        ("satisfaction_rating", "1-5"),
        ("rated_at", ISO),
    ),
    "activities": (
        ("external_id", "your id of the activity"),
        ("lead_external_id", "external_id of the lead"),
        ("agent", "the agent's e-mail"),
        ("type", "call, email, meeting, message, note, conversion, assignment or status_change"),
        ("direction", "inbound or outbound"),
        ("channel", ""),
        ("occurred_at", ISO),
        ("duration_seconds", "whole seconds"),
        ("outcome", "success, failed, no_answer, voicemail, ..."),
        ("automated", "true or false"),
        ("title", ""),
        ("description", ""),
        ("metadata", "JSON object"),
    ),
    "sales": (
        ("external_id", "your id of the sale"),
        ("lead_external_id", "external_id of the lead"),
        ("contact_external_id", "external_id of the contact"),
        ("agent", "the agent's e-mail"),
        ("amount", "e.g. 1250.00"),
        ("currency", "ISO 4217 code"),
        ("kind", "new, recurring, one_time, upsell, cross_sell, renewal or expansion"),
        ("closed_at", ISO),
        ("product_line", ""),
        ("product_external_id", "external_id of the product"),
        ("quantity", "whole number, 1 or more"),
        ("unit_price", "amount above 0"),
    ),
    "campaigns": (
        ("external_id", "your id of the campaign"),
        ("name", ""),
        ("channel", ""),
        ("started_at", ISO),
        ("ended_at", ISO),
        ("spend", "amount"),
        ("status", ""),
    ),
    "campaign_messages": (
        ("external_id", "your id of the message"),
        ("campaign_external_id", "external_id of the campaign"),
        ("contact_external_id", "external_id of the contact"),
        ("variant", ""),
        ("sent_at", ISO),
        ("delivered_at", ISO),
        ("read_at", ISO),
        ("replied_at", ISO),
        ("failed_at", ISO),
    ),
    "touchpoints": (
        ("external_id", "your id of the touchpoint"),
        ("contact_external_id", "external_id of the contact"),
        ("lead_external_id", "external_id of the lead"),
        ("channel", ""),
        ("campaign_external_id", "external_id of the campaign"),
        ("occurred_at", ISO),
    ),
    "messages": (
        ("external_id", "your id of the message"),
        ("conversation_id", ""),
        ("contact_external_id", "external_id of the contact"),
        ("agent", "the agent's e-mail"),
        ("direction", "inbound or outbound"),
        ("body", ""),
        ("sent_at", ISO),
    ),
    "products": (
        ("external_id", "your id of the product"),
        ("name", ""),
        ("tier", "e.g. basic, pro, enterprise"),
        ("list_price", "amount above 0"),
        ("currency", "ISO 4217 code"),
        ("billing_period", "month, year or once"),
        ("active", "true or false"),
    ),
    "quotes": (
        ("external_id", "your id of the quote"),
        ("lead_external_id", "external_id of the lead"),
        ("contact_external_id", "external_id of the contact"),
        ("product_external_id", "external_id of the product"),
        ("agent", "the agent's e-mail"),
        ("quoted_at", ISO),
        ("unit_price", "amount above 0"),
        ("quantity", "whole number, 1 or more"),
        ("outcome", "won, lost or open"),
        ("decided_at", ISO),
    ),
    "competitor_prices": (
        ("external_id", "your id of the observation"),
        ("competitor", ""),
        ("product_external_id", "external_id of the product"),
        ("price", "amount above 0"),
        ("currency", "ISO 4217 code"),
        ("observed_at", ISO),
    ),
    "price_history": (
        ("external_id", "your id of the price"),
        ("product_external_id", "external_id of the product"),
        ("price", "amount above 0"),
        ("currency", "ISO 4217 code"),
        ("effective_at", ISO),
    ),
}


@dataclass(frozen=True)
class ColumnHelp:
    name: str
    hint: str
    required: bool


@dataclass(frozen=True)
class ExpectedColumns:
    entity: str
    label: str
    columns: tuple[ColumnHelp, ...]

    @property
    def header(self) -> str:
        return ",".join(column.name for column in self.columns)


def expected_columns(entity: str | None) -> ExpectedColumns | None:
    """The CSV columns of `entity` with what each holds (None for an unknown entity)."""
    if entity not in EXPECTED_COLUMNS:
        return None
    # the ingestion schema says which columns a row cannot do without
    required = frozenset(SPECS[entity].required_columns)
    columns = tuple(
        ColumnHelp(name=name, hint=hint, required=name in required) for name, hint in EXPECTED_COLUMNS[entity]
    )
    return ExpectedColumns(entity=entity, label=entity_label(entity), columns=columns)


class LoginForm(AuthenticationForm):
    """Django's login form, asking for the e-mail address members sign in with."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "E-mail"
        self.fields["username"].widget = forms.EmailInput(
            attrs={"autofocus": True, "autocomplete": "email", "placeholder": "you@company.com"}
        )

    def clean_username(self) -> str:
        # Members are stored with lower-case e-mails (MemberManager.create_user).
        return self.cleaned_data["username"].strip().lower()


class EntityForm(forms.Form):
    entity = forms.ChoiceField(
        choices=[(name, entity_label(name)) for name in ENTITIES], initial=ENTITIES[0] if ENTITIES else None
    )


class ImportForm(EntityForm):
    """The upload's name and size. What is in the file (magic number, encoding, header, rows)
    is judged by the ingestion itself, exactly as for the import_crm command (crm.uploads)."""

    file = forms.FileField(
        label="CSV file",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text="UTF-8 text with a header row; up to 200 MB.",
        # An empty file is refused by the ingestion, in the command's words.
        allow_empty_file=True,
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                "The file is larger than 200 MB; use the import_crm command for it.", code="too_large"
            )
        if PurePath(upload.name or "").suffix.lower() not in CSV_SUFFIXES:
            raise forms.ValidationError("Choose a .csv file.", code="not_csv")
        return upload
