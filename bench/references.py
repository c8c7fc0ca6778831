"""The references of BENCHMARKS.md that more than one bench uses: the raw-SQL last touch
written as a competent engineer would (a join, not a correlated subquery per sale), and the
"limit": DuckDB running the same SQL over the same rows, exported in the same run.

DuckDB is a measuring stick for `bench/` only (requirements-bench.txt), never a runtime
dependency. Import after django.setup().
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from django.db import connection

# Each sale of the window and the previous one (organization currency) with the campaign of
# its last touchpoint before closing: a touchpoint of the sale's lead, or of its contact (the
# sale's own, else its lead's), latest first, ties by id. Two equi-joins instead of one join
# on an OR, so each can be a hash join; DISTINCT ON keeps the last touch per sale.
LAST_TOUCH_CTE = """
WITH sale AS (
    SELECT s.id, s.amount, s.closed_at, s.lead_id, COALESCE(s.contact_id, l.contact_id) AS contact_id
    FROM crm_sale s LEFT JOIN crm_lead l ON l.id = s.lead_id
    WHERE s.organization_id = %(org)s AND s.currency IN (%(currency)s, '') {window}
), touch AS (
    SELECT sale.id AS sale_id, t.occurred_at, t.id AS touch_id, t.campaign_id
    FROM sale JOIN crm_touchpoint t ON t.lead_id = sale.lead_id
    WHERE t.organization_id = %(org)s AND t.occurred_at < sale.closed_at
    UNION ALL
    SELECT sale.id, t.occurred_at, t.id, t.campaign_id
    FROM sale JOIN crm_touchpoint t ON t.contact_id = sale.contact_id
    WHERE t.organization_id = %(org)s AND t.occurred_at < sale.closed_at
), last_touch AS (
    SELECT DISTINCT ON (sale_id) sale_id, campaign_id FROM touch
    ORDER BY sale_id, occurred_at DESC, touch_id DESC
)"""
ATTRIBUTION_JOIN_SQL = (
    LAST_TOUCH_CTE.replace("{window}", "AND s.closed_at >= %(ps)s AND s.closed_at < %(ce)s")
    + """
SELECT last_touch.campaign_id, SUM(sale.amount) FILTER (WHERE sale.closed_at >= %(cs)s),
       SUM(sale.amount) FILTER (WHERE sale.closed_at < %(cs)s)
FROM sale JOIN last_touch ON last_touch.sale_id = sale.id
WHERE last_touch.campaign_id IS NOT NULL
GROUP BY 1
"""
)

# The columns the references read, per table: only the organization's rows are exported.
EXPORTED = {
    "crm_lead": (
        "id BIGINT, organization_id BIGINT, contact_id BIGINT, created_at TIMESTAMPTZ, interested_at TIMESTAMPTZ, "
        "converted_at TIMESTAMPTZ, lost_at TIMESTAMPTZ, score INTEGER, estimated_value DECIMAL(14,2), "
        "region VARCHAR, product_line VARCHAR, source VARCHAR, assigned_agent_id BIGINT"
    ),
    "crm_activity": (
        "id BIGINT, organization_id BIGINT, lead_id BIGINT, agent_id BIGINT, type VARCHAR, occurred_at TIMESTAMPTZ, "
        "outcome VARCHAR, duration_seconds INTEGER, automated BOOLEAN"
    ),
    "crm_sale": (
        "id BIGINT, organization_id BIGINT, lead_id BIGINT, contact_id BIGINT, agent_id BIGINT, amount DECIMAL(14,2), "
        "currency VARCHAR, kind VARCHAR, product_line VARCHAR, closed_at TIMESTAMPTZ"
    ),
    "crm_campaignmessage": (
        "id BIGINT, organization_id BIGINT, campaign_id BIGINT, variant VARCHAR, sent_at TIMESTAMPTZ, "
        "delivered_at TIMESTAMPTZ, read_at TIMESTAMPTZ, replied_at TIMESTAMPTZ, failed_at TIMESTAMPTZ"
    ),
    "crm_touchpoint": (
        "id BIGINT, organization_id BIGINT, campaign_id BIGINT, lead_id BIGINT, contact_id BIGINT, occurred_at TIMESTAMPTZ"
    ),
}


def _columns(declaration: str) -> list[tuple[str, str]]:
    return [tuple(part.strip().split(" ", 1)) for part in declaration.split(", ")]


def to_duckdb(sql: str) -> str:
    """psycopg's named parameters (%(name)s) as DuckDB's ($name)."""
    return re.sub(r"%\((\w+)\)s", r"$\1", sql)


class DuckReference:
    """An in-memory DuckDB holding one organization's raw rows of EXPORTED, copied from
    PostgreSQL once (COPY ... TO STDOUT, timestamps in UTC); `run` times nothing itself."""

    def __init__(self, organization_id: int, tables: Iterable[str] = tuple(EXPORTED)) -> None:
        import duckdb  # the bench's own dependency (requirements-bench.txt)

        self.db = duckdb.connect(":memory:")
        self.rows: dict[str, int] = {}
        with tempfile.TemporaryDirectory() as folder:
            for table in tables:
                columns = _columns(EXPORTED[table])
                path = Path(folder) / f"{table}.csv"
                names = ", ".join(name for name, _ in columns)
                select = f"SELECT {names} FROM {table} WHERE organization_id = {int(organization_id)}"
                connection.ensure_connection()
                with connection.connection.cursor() as cursor:
                    cursor.execute("SET TIME ZONE 'UTC'")
                    # NULL as \N: an empty string stays an empty string (currency '', region '').
                    copy_sql = f"COPY ({select}) TO STDOUT WITH (FORMAT csv, NULL '\\N')"
                    with path.open("wb") as out, cursor.copy(copy_sql) as copy:
                        for chunk in copy:
                            out.write(chunk)
                types = ", ".join(f"'{name}': '{kind}'" for name, kind in columns)
                self.db.execute(
                    f"CREATE TABLE {table} AS SELECT * FROM read_csv('{path}', header=false, "
                    f"columns={{{types}}}, nullstr='\\N')"
                )
                self.rows[table] = self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        self.db.execute("SET TimeZone = 'UTC'")

    def run(self, queries: Iterable[str], params: dict) -> list[list[tuple]]:
        """Each query (psycopg syntax) on DuckDB with the parameters it names."""
        out = []
        for sql in queries:
            translated = to_duckdb(sql)
            named = {k: v for k, v in params.items() if f"${k}" in translated}
            out.append(self.db.execute(translated, named).fetchall())
        return out
