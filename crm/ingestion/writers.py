"""Bulk upsert of one batch of validated rows, keyed by (organization, external_id).

The batch goes into a temporary staging table first: on PostgreSQL with a binary COPY
(BENCHMARKS.md: COPY ran at ~280k rows/s where bulk_create managed 27k/s), on SQLite with
one executemany. Then, all in SQL and in the caller's transaction:

1. one anti-join per reference column finds the keys (external ids, agent e-mails) that
   the organization does not have; those rows are removed from the stage and reported;
2. one INSERT ... SELECT joins the remaining keys to their ids and upserts with ON CONFLICT
   (organization_id, external_id) DO UPDATE ... WHERE the values differ, so re-importing a
   file rewrites nothing, not even a row version;
3. derived fields: a staged sale's last-touch campaign is computed before the upsert, which
   writes it with the sale's columns; after a batch of touchpoints or changed leads, the
   stored sales it affects are recomputed (crm.last_touch).

No per-row query and no model instance: the per-row work stays in C (COPY, the joins).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
from django.db import connection, models
from django.db.backends.utils import CursorWrapper

from crm import last_touch
from crm.ingestion.references import Target, reference_target
from crm.ingestion.schemas import EntitySpec

ROW_NUMBER = "row_no"
# Binary COPY needs each staging column's exact type. JSON travels as text and is cast in
# the upsert, so the COPY never has to serialise Python objects itself.
PG_STAGE_TYPES = {
    "CharField": "text",
    "EmailField": "text",
    "TextField": "text",
    "DateTimeField": "timestamptz",
    "DecimalField": "numeric",
    "IntegerField": "int4",
    "PositiveIntegerField": "int4",
    "SmallIntegerField": "int2",
    "PositiveSmallIntegerField": "int2",
    "BigIntegerField": "int8",
    "BooleanField": "bool",
    "JSONField": "text",
}
# Unknown-reference rows are deleted from the stage in chunks of this many ids.
DELETE_CHUNK = 500


@dataclass(frozen=True)
class BatchWrite:
    created: int
    updated: int
    # (row number, column name, key) for each reference the organization does not have.
    unknown: tuple[tuple[int, str, str], ...]
    # Sales whose stored last-touch campaign the batch changed (None: the entity cannot).
    attribution: last_touch.LastTouchChange | None = None


@dataclass(frozen=True)
class _StageColumn:
    name: str
    # The key of the batch's columns (a spec field: the model attname).
    attname: str
    field: models.Field
    stage_type: str
    target: Target | None


@dataclass(frozen=True)
class _Plan:
    stage: str
    columns: tuple[_StageColumn, ...]
    create_sql: str
    checks: tuple[tuple[str, str], ...]  # (column name, SQL returning row_no and key)
    upsert_sql: str
    existing_sql: str


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # orjson stops at 64-bit integers; JSON from the API may hold bigger ones.
        return json.dumps(value, ensure_ascii=False)


@cache
def _plan(spec: EntitySpec, vendor: str) -> _Plan:
    qn = connection.ops.quote_name
    model = spec.model
    table = qn(model._meta.db_table)
    stage = qn(f"crm_ingest_{model._meta.model_name}")
    postgres = vendor == "postgresql"
    columns: list[_StageColumn] = []
    by_field = {name: column for column in spec.columns for name in column.fields}
    for name in spec.fields:
        field = model._meta.get_field(name)
        column = by_field[name]
        if column.ref:
            columns.append(_StageColumn(column.name, name, field, "text", reference_target(column)))
        else:
            stage_type = PG_STAGE_TYPES[field.get_internal_type()] if postgres else field.db_type(connection)
            columns.append(_StageColumn(field.column, name, field, stage_type, None))
    definitions = ", ".join([f"{qn(ROW_NUMBER)} integer"] + [f"{qn(c.name)} {c.stage_type}" for c in columns])
    if postgres:
        # ON COMMIT DROP: a later migration never meets a staging table of an older shape.
        create_sql = f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ({definitions}) ON COMMIT DROP"
    else:
        create_sql = f"CREATE TEMPORARY TABLE {stage} ({definitions})"

    checks = []
    joins = []
    selects = []
    for index, column in enumerate(columns):
        if column.target is None:
            cast = "::jsonb" if postgres and isinstance(column.field, models.JSONField) else ""
            selects.append(f"s.{qn(column.name)}{cast}")
            continue
        ref_table = qn(column.target.model._meta.db_table)
        key = qn(column.target.key)
        checks.append(
            (
                column.name,
                f"SELECT s.{qn(ROW_NUMBER)}, s.{qn(column.name)} FROM {stage} s "
                f"WHERE s.{qn(column.name)} IS NOT NULL AND NOT EXISTS ("
                f"SELECT 1 FROM {ref_table} r WHERE r.{qn('organization_id')} = %(org)s "
                f"AND r.{key} = s.{qn(column.name)})",
            )
        )
        alias = f"r{index}"
        joins.append(
            f"LEFT JOIN {ref_table} {alias} ON {alias}.{qn('organization_id')} = %(org)s "
            f"AND {alias}.{key} = s.{qn(column.name)}"
        )
        selects.append(f"{alias}.{qn('id')}")

    # Derived fields (crm.last_touch) come from a work table filled before the upsert, by row.
    derived = [model._meta.get_field(name) for name in spec.derived_fields]
    if derived:
        joins.append(f"LEFT JOIN {last_touch.STAGED_TABLE} d ON d.{qn(ROW_NUMBER)} = s.{qn(ROW_NUMBER)}")
        selects.extend(f"d.{qn(last_touch.STAGED_COLUMNS[field.attname])}" for field in derived)
    targets = [qn(column.field.column) for column in columns] + [qn(field.column) for field in derived]
    updated = [
        name
        for name, attname in zip(
            targets, [c.attname for c in columns] + [f.attname for f in derived], strict=True
        )
        if attname != "external_id"
    ]
    excluded = "EXCLUDED" if postgres else "excluded"
    distinct = "IS DISTINCT FROM" if postgres else "IS NOT"
    upsert = (
        f"INSERT INTO {table} ({qn('organization_id')}, {', '.join(targets)}) "
        f"SELECT %(org)s, {', '.join(selects)} FROM {stage} s {' '.join(joins)} "
        # SQLite needs a WHERE before ON CONFLICT to parse an upsert from a SELECT.
        f"WHERE true "
        f"ON CONFLICT ({qn('organization_id')}, {qn('external_id')}) DO UPDATE SET "
        f"{', '.join(f'{name} = {excluded}.{name}' for name in updated)} "
        f"WHERE ({', '.join(f'{table}.{name}' for name in updated)}) {distinct} "
        f"({', '.join(f'{excluded}.{name}' for name in updated)})"
    )
    if postgres:
        # xmax is 0 exactly for the rows this statement inserted (PostgreSQL MVCC).
        upsert = (
            f"WITH written AS ({upsert} RETURNING (xmax = 0) AS created) "
            f"SELECT count(*) FILTER (WHERE created), count(*) FROM written"
        )
    existing = (
        f"SELECT count(*) FROM {stage} s JOIN {table} t ON t.{qn('organization_id')} = %(org)s "
        f"AND t.{qn('external_id')} = s.{qn('external_id')}"
    )
    return _Plan(stage, tuple(columns), create_sql, tuple(checks), upsert, existing)


def upsert_batch(
    *, spec: EntitySpec, organization_id: int, row_numbers: list[int], columns: dict[str, list[Any]]
) -> BatchWrite:
    """Upsert the rows given as columns (spec.fields; references still hold their keys).

    Must run inside a transaction: the staging table lives only until it commits.
    """
    if not row_numbers:
        return BatchWrite(0, 0, ())
    postgres = connection.vendor == "postgresql"
    plan = _plan(spec, connection.vendor)
    params = {"org": organization_id}
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if postgres:
            _stage_postgresql(cursor, plan, row_numbers, columns)
        else:
            _stage_generic(cursor, plan, row_numbers, columns)
        unknown: list[tuple[int, str, str]] = []
        for name, sql in plan.checks:
            if not any(key is not None for key in columns[_field_of(plan, name)]):
                continue
            cursor.execute(sql, params)
            unknown.extend((row, name, key) for row, key in cursor.fetchall())
        rejected = sorted({row for row, _, _ in unknown})
        for start in range(0, len(rejected), DELETE_CHUNK):
            chunk = rejected[start : start + DELETE_CHUNK]
            # Only identifiers are formatted in: the stage's name (from the model, _plan) and the
            # column, both quoted; the row numbers are parameters.
            cursor.execute(
                f"DELETE FROM {plan.stage} WHERE {qn(ROW_NUMBER)} IN ({', '.join(['%s'] * len(chunk))})",  # nosec B608  # quoted identifiers, values are parameters
                chunk,
            )
        derives = spec.name in last_touch.ENTITIES
        if derives:
            last_touch.before_upsert(
                cursor, entity=spec.name, stage=plan.stage, organization_id=organization_id
            )
        if postgres:
            cursor.execute(plan.upsert_sql, params)
            created, written = cursor.fetchone()
        else:
            cursor.execute(plan.existing_sql, params)
            existing = cursor.fetchone()[0]
            cursor.execute(plan.upsert_sql, params)
            # SQLite counts a row only when it was inserted or its values changed.
            written = cursor.rowcount
            created = len(row_numbers) - len(rejected) - existing
        changed = None
        if derives:
            changed = last_touch.refresh_after_upsert(
                cursor,
                entity=spec.name,
                stage=plan.stage,
                organization_id=organization_id,
                created=created,
                updated=written - created,
            )
    return BatchWrite(created=created, updated=written - created, unknown=tuple(unknown), attribution=changed)


def _field_of(plan: _Plan, stage_name: str) -> str:
    return next(column.attname for column in plan.columns if column.name == stage_name)


def _stage_postgresql(
    cursor: CursorWrapper, plan: _Plan, row_numbers: list[int], columns: dict[str, list[Any]]
) -> None:
    qn = connection.ops.quote_name
    cursor.execute(plan.create_sql)
    cursor.execute(f"TRUNCATE {plan.stage}")
    values = []
    for column in plan.columns:
        data = columns[column.attname]
        values.append(
            [_json_text(value) for value in data] if isinstance(column.field, models.JSONField) else data
        )
    names = ", ".join([qn(ROW_NUMBER)] + [qn(column.name) for column in plan.columns])
    with cursor.cursor.copy(f"COPY {plan.stage} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["int4"] + [column.stage_type for column in plan.columns])
        write_row = copy.write_row
        for row in zip(row_numbers, *values, strict=True):
            write_row(row)


def _stage_generic(
    cursor: CursorWrapper, plan: _Plan, row_numbers: list[int], columns: dict[str, list[Any]]
) -> None:
    qn = connection.ops.quote_name
    cursor.execute(f"DROP TABLE IF EXISTS temp.{plan.stage}")
    cursor.execute(plan.create_sql)
    values = []
    for column in plan.columns:
        data = columns[column.attname]
        if column.target is None and isinstance(
            column.field, models.DateTimeField | models.DecimalField | models.JSONField
        ):
            data = [column.field.get_db_prep_save(value, connection) for value in data]
        values.append(data)
    names = ", ".join([qn(ROW_NUMBER)] + [qn(column.name) for column in plan.columns])
    placeholders = ", ".join(["%s"] * (len(plan.columns) + 1))
    # Only identifiers are formatted in: the stage's and the columns' names (from the model,
    # _plan), quoted; every value is a parameter.
    cursor.executemany(
        f"INSERT INTO {plan.stage} ({names}) VALUES ({placeholders})",  # nosec B608  # quoted identifiers, values are parameters
        list(zip(row_numbers, *values, strict=True)),
    )
