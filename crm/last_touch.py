"""The last-touch campaign of a sale, stored on the sale (`Sale.last_touch_campaign`) so the
dashboards read a column instead of looking up the last touchpoint of every sale they count
(docs/metrics.md, `attributedRevenue`; docs/ingestion.md, derived fields).

The rule, written once here as SQL: among the touchpoints of the sale's lead and those of its
contact (the sale's contact, else the lead's) with `occurred_at` strictly before the sale's
`closed_at`, the last one by `occurred_at`, then by id; the stored value is that touchpoint's
campaign, NULL when it has none or there is no such touchpoint.

What can change the value, and where it is recomputed (always in the ingestion's transaction):
- a sale stored (its lead, contact or closing time): that sale;
- a touchpoint stored (new, or changed lead, contact, campaign or time): every sale of its lead
  or contact, for the values before and after the upsert (a touchpoint moved from one lead to
  another can change the sales of both);
- a lead stored with a changed contact: its sales that have no contact of their own.

A recomputation works on a set of sale ids (a temporary table), ranks the candidate
touchpoints of those sales with one window function, and rewrites only the sales whose value
differs, reporting the span of their closing times so the rollups of those days are rebuilt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Q

# Sale ids whose stored campaign is to be recomputed, and their new values.
SCOPE_TABLE = "crm_last_touch_scope"
VALUES_TABLE = "crm_last_touch_values"
# The campaign of each staged sale of an ingestion batch (by row number), which the upsert
# writes with the sale's other columns: a sale is written once, not inserted then updated.
STAGED_TABLE = "crm_last_touch_staged"
# Model field -> column of STAGED_TABLE (crm.ingestion.writers joins it into the upsert).
STAGED_COLUMNS = {"last_touch_campaign_id": "campaign_id"}
# Sales per transaction when filling the column for existing rows (the data migration).
FILL_BATCH = 20_000


def _last_touch(subjects: str) -> str:
    """(subject, campaign_id) of the last touch of each subject: `subjects` selects (subject,
    organization_id, lead_id, contact_id, closed_at), contact_id being the sale's contact, else
    its lead's. The one statement of the rule; the candidates are ranked by one window
    function, position 1 is the last touch. A touchpoint of both the lead and the contact
    appears twice with the same rank keys, which leaves the first position's campaign the
    same. Two joins (lead, contact) rather than one on "lead OR contact", so each side can use
    its index."""
    return f"""
SELECT u.subject, r.campaign_id
FROM ({subjects}) u
LEFT JOIN (
    SELECT c.subject, c.campaign_id,
           ROW_NUMBER() OVER (PARTITION BY c.subject ORDER BY c.occurred_at DESC, c.touch_id DESC) AS position
    FROM (
        SELECT u.subject, t.campaign_id, t.occurred_at, t.id AS touch_id
        FROM ({subjects}) u
        JOIN crm_touchpoint t ON t.organization_id = u.organization_id AND t.lead_id = u.lead_id
            AND t.occurred_at < u.closed_at
        UNION ALL
        SELECT u.subject, t.campaign_id, t.occurred_at, t.id
        FROM ({subjects}) u
        JOIN crm_touchpoint t ON t.organization_id = u.organization_id AND t.contact_id = u.contact_id
            AND t.occurred_at < u.closed_at
    ) c
) r ON r.subject = u.subject AND r.position = 1
"""


# Stored sales: those in the scope table.
_STORED_SUBJECTS = f"""
SELECT s.id AS subject, s.organization_id, s.lead_id, COALESCE(s.contact_id, l.contact_id) AS contact_id,
       s.closed_at
FROM (SELECT DISTINCT sale_id FROM {SCOPE_TABLE}) q
JOIN crm_sale s ON s.id = q.sale_id
LEFT JOIN crm_lead l ON l.id = s.lead_id
"""
_NEW_VALUES = f"INSERT INTO {VALUES_TABLE} (sale_id, campaign_id) {_last_touch(_STORED_SUBJECTS)}"

# Staged sales of an ingestion batch (`{stage}`), their references resolved as the upsert
# resolves them (rows with an unknown reference have left the stage by then).
_STAGED_SUBJECTS = """
SELECT g.row_no AS subject, COALESCE(l.organization_id, c.organization_id) AS organization_id,
       l.id AS lead_id, COALESCE(c.id, l.contact_id) AS contact_id, g.closed_at
FROM {stage} g
LEFT JOIN crm_lead l ON l.organization_id = %(org)s AND l.external_id = g.lead_external_id
LEFT JOIN crm_contact c ON c.organization_id = %(org)s AND c.external_id = g.contact_external_id
"""
# The sales of the touchpoints staged by an ingestion batch (`{stage}`: its external ids), in
# their state at the time of the statement: run before and after the upsert. The touchpoints'
# leads and contacts are looked up once (MATERIALIZED: not once per branch); a batch of new
# touchpoints finds none before its upsert and stops there.
_SALES_OF_STAGED_TOUCHPOINTS = f"""
INSERT INTO {SCOPE_TABLE} (sale_id)
WITH k AS MATERIALIZED (
    SELECT t.lead_id, t.contact_id FROM crm_touchpoint t JOIN {{stage}} g ON g.external_id = t.external_id
    WHERE t.organization_id = %(org)s
)
SELECT x.id FROM crm_sale x WHERE x.organization_id = %(org)s AND x.lead_id IN (SELECT lead_id FROM k)
UNION
SELECT x.id FROM crm_sale x WHERE x.organization_id = %(org)s AND x.contact_id IN (SELECT contact_id FROM k)
UNION
SELECT x.id FROM crm_sale x JOIN crm_lead l ON l.id = x.lead_id
WHERE x.organization_id = %(org)s AND x.contact_id IS NULL AND l.contact_id IN (SELECT contact_id FROM k)
"""

# A lead's contact stands in for the contact of its sales that have none.
_SALES_OF_STAGED_LEADS = f"""
INSERT INTO {SCOPE_TABLE} (sale_id)
SELECT x.id FROM crm_sale x
JOIN crm_lead l ON l.id = x.lead_id
JOIN {{stage}} g ON g.external_id = l.external_id
WHERE x.organization_id = %(org)s AND l.organization_id = %(org)s AND x.contact_id IS NULL
"""


@dataclass(frozen=True)
class LastTouchChange:
    """Sales whose stored last-touch campaign changed: how many, and their closing times."""

    rows: int
    first_closed_at: dt.datetime | None
    last_closed_at: dt.datetime | None


def _distinct() -> str:
    return "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"


def _create_work_tables(cursor: CursorWrapper) -> None:
    """Empty work tables for this transaction."""
    definitions = {
        SCOPE_TABLE: "sale_id bigint",
        VALUES_TABLE: "sale_id bigint, campaign_id bigint",
        STAGED_TABLE: "row_no integer, campaign_id bigint",
    }
    for table, columns in definitions.items():
        if connection.vendor == "postgresql":
            # ON COMMIT DROP: a later migration never meets a work table of an older shape.
            cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} ({columns}) ON COMMIT DROP")
        else:
            cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} ({columns})")
        cursor.execute(f"DELETE FROM {table}")  # nosec B608  # table is one of the constants above


def _analyze(cursor: CursorWrapper, table: str) -> None:
    # A temporary table has no planner statistics; PostgreSQL's guess of its size planned the
    # joins of a batch's 10,000 staged rows badly (one step took 0.51 s without, 0.19 s with,
    # at size S).
    if connection.vendor == "postgresql":
        cursor.execute(f"ANALYZE {table}")


def _rewrite_scope(cursor: CursorWrapper) -> LastTouchChange:
    """Recompute the campaign of every sale in the scope table and store those that differ."""
    _analyze(cursor, SCOPE_TABLE)
    cursor.execute(_NEW_VALUES)
    # Formatted in: VALUES_TABLE (a module constant) and _distinct() (one of two operators).
    differs = f"s.last_touch_campaign_id {_distinct()} v.campaign_id"
    cursor.execute(
        f"SELECT COUNT(*), MIN(s.closed_at), MAX(s.closed_at) FROM crm_sale s "  # nosec B608  # constants only
        f"JOIN {VALUES_TABLE} v ON v.sale_id = s.id WHERE {differs}"
    )
    rows, first, last = cursor.fetchone()
    if rows:
        cursor.execute(
            f"UPDATE crm_sale SET last_touch_campaign_id = v.campaign_id FROM {VALUES_TABLE} v "  # nosec B608  # constants only
            f"WHERE crm_sale.id = v.sale_id AND crm_sale.last_touch_campaign_id {_distinct()} v.campaign_id"
        )
    return LastTouchChange(rows=rows, first_closed_at=_aware(first), last_closed_at=_aware(last))


def _aware(value: object) -> dt.datetime | None:
    # A raw cursor gives SQLite's stored text; PostgreSQL gives an aware datetime.
    if value is None or isinstance(value, dt.datetime):
        return value
    moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


# --- ingestion: around the upsert of one batch ----------------------------------------------


def before_upsert(cursor: CursorWrapper, *, entity: str, stage: str, organization_id: int) -> None:
    """Before a batch of `entity` is upserted (staged in `stage`, the rows with an unknown
    reference already removed): staged sales get their campaign in STAGED_TABLE, which the
    upsert writes with them; staged touchpoints note the sales their stored versions affect
    now (the lead and contact a touchpoint may be about to leave)."""
    _create_work_tables(cursor)
    _analyze(cursor, stage)
    params = {"org": organization_id}
    if entity == "sales":
        subjects = _STAGED_SUBJECTS.format(stage=stage)
        cursor.execute(f"INSERT INTO {STAGED_TABLE} (row_no, campaign_id) {_last_touch(subjects)}", params)
    elif entity == "touchpoints":
        cursor.execute(_SALES_OF_STAGED_TOUCHPOINTS.format(stage=stage), params)


def refresh_after_upsert(
    cursor: CursorWrapper, *, entity: str, stage: str, organization_id: int, created: int, updated: int
) -> LastTouchChange | None:
    """After the upsert of a batch: recompute the stored sales the batch affects. Nothing for
    sales (the upsert wrote their campaign), nor when the batch wrote nothing (a re-ingested
    file), nor for new leads (no sale can name a lead before it exists: ingestion rejects
    unknown references)."""
    if entity == "sales" or not (updated or (created and entity != "leads")):
        return None
    scope = {"touchpoints": _SALES_OF_STAGED_TOUCHPOINTS, "leads": _SALES_OF_STAGED_LEADS}[entity]
    cursor.execute(scope.format(stage=stage), {"org": organization_id})
    return _rewrite_scope(cursor)


# Entities whose batches can change a stored last-touch campaign.
ENTITIES = frozenset({"touchpoints", "sales", "leads"})


# --- every sale of an organization, or of the database --------------------------------------


def sales_last_touch_refresh(*, organization_id: int) -> LastTouchChange:
    """Recompute the stored campaign of all the organization's sales (writes bypassing the
    ingestion service: the Django admin, test fixtures)."""
    with transaction.atomic(), connection.cursor() as cursor:
        _create_work_tables(cursor)
        cursor.execute(
            f"INSERT INTO {SCOPE_TABLE} (sale_id) SELECT id FROM crm_sale WHERE organization_id = %s",  # nosec B608  # SCOPE_TABLE is a constant, the id a parameter
            [organization_id],
        )
        return _rewrite_scope(cursor)


def sales_last_touch_recompute(
    *,
    organization_id: int,
    sale_ids: Iterable[int] = (),
    lead_ids: Iterable[int] = (),
    contact_ids: Iterable[int] = (),
) -> LastTouchChange:
    """Recompute the stored campaign of the sales a single write can affect (writes that
    bypass the ingestion service, e.g. the Django admin): the named sales, the sales of the
    named leads, and those whose contact (their own, else their lead's) is a named contact."""
    from crm.models import Sale

    contacts = [c for c in contact_ids if c is not None]
    scope = (
        Q(pk__in=[s for s in sale_ids if s is not None])
        | Q(lead_id__in=[x for x in lead_ids if x is not None])
        | Q(contact_id__in=contacts)
        | Q(contact__isnull=True, lead__contact_id__in=contacts)
    )
    sales = Sale.objects.filter(organization_id=organization_id).filter(scope).values("id")
    sql, params = sales.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        _create_work_tables(cursor)
        cursor.execute(f"INSERT INTO {SCOPE_TABLE} (sale_id) {sql}", params)
        return _rewrite_scope(cursor)


def sales_last_touch_fill(*, batch: int = FILL_BATCH) -> int:
    """Compute the stored campaign of every sale of the database, `batch` sales (by id) per
    transaction, so a crash halfway keeps the batches done and a re-run gives the same rows.
    Returns the sales changed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM crm_sale")
        low, high = cursor.fetchone()
    changed = 0
    if low is None:
        return changed
    for start in range(low, high + 1, batch):
        with transaction.atomic(), connection.cursor() as cursor:
            _create_work_tables(cursor)
            cursor.execute(
                f"INSERT INTO {SCOPE_TABLE} (sale_id) SELECT id FROM crm_sale WHERE id >= %s AND id < %s",  # nosec B608  # SCOPE_TABLE is a constant, the ids parameters
                [start, start + batch],
            )
            changed += _rewrite_scope(cursor).rows
    return changed
