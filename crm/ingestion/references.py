"""Where a reference column points: the table and the key column it is matched on.

References are resolved in SQL against the staging table (crm.ingestion.writers): one
anti-join per referenced entity per batch finds the unknown keys, and the upsert joins
the rest to their ids. Both are scoped to the organization, so a key of another
organization is "unknown", exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from crm.ingestion.schemas import AGENT, SPECS, Column
from crm.models import Member

NOUNS = {
    AGENT: "agent",
    "contacts": "contact",
    "leads": "lead",
    "campaigns": "campaign",
    "products": "product",
}


@dataclass(frozen=True)
class Target:
    model: type[models.Model]
    key: str
    noun: str

    def unknown_reason(self, shown_key: str) -> str:
        if self.noun == "agent":
            return f"unknown agent {shown_key} (not a member of this organization)"
        return f"unknown {self.noun} {shown_key}"


def reference_target(column: Column) -> Target:
    if column.ref == AGENT:
        # Members are stored with lower-cased e-mails (MemberManager.create_user) and the
        # agent cells are lower-cased when parsed.
        return Target(Member, "email", NOUNS[AGENT])
    return Target(SPECS[column.ref].model, "external_id", NOUNS[column.ref])
