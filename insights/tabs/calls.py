"""The Calls tab of the manager dashboard (scaffold: its helper replaces this module)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes

from insights.tabs import CsvTable, DashboardQuery

TITLE = "Calls"
OPENAPI_RESPONSE = OpenApiTypes.OBJECT


def compute(query: DashboardQuery) -> dict:
    return {"tab": "calls"}


def charts(payload: dict, query: DashboardQuery) -> dict:
    return {}


def csv_tables(payload: dict) -> dict[str, CsvTable]:
    return {}
