"""Django admin of the insights app: the business-intelligence models (insights.bi.admin)."""

from insights.bi import admin as bi_admin  # noqa: F401 - registers the ModelAdmins
