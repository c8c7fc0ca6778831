"""Django admin of business insights, opportunities, performance series and detector
thresholds, scoped like crm/admin.py (OrgScopedAdmin): an organization's admin sees and
edits only their organization.

What the detectors wrote is read-only here; the changes that matter go through the audited
actions (insights.bi.actions): "Resolve" and the status moves are admin actions, and a
settings change writes an audit row of the thresholds it changed.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from crm.admin import OrgScopedAdmin, is_org_admin
from insights.bi import actions
from insights.bi.models import (
    BusinessInsight,
    InsightSettings,
    Opportunity,
    OpportunityStatus,
    OpportunityStatusChange,
    PerformanceMetric,
)


class _DetectorOutputAdmin(OrgScopedAdmin):
    """Rows the generators own: viewed and acted on through the audited actions, never
    edited, added or deleted by hand."""

    read_only_model = True


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() in ("open", "resolved"):
            return queryset.filter(resolved_at__isnull=self.value() == "open")
        return queryset


@admin.register(BusinessInsight)
class BusinessInsightAdmin(_DetectorOutputAdmin):
    list_display = ("title", "type", "priority", "lead", "agent", "created_at", "resolved_at", "resolved_by")
    list_filter = (OpenFilter, "type", "priority")
    search_fields = ("title", "subject_key", "lead__external_id", "lead__name")
    date_hierarchy = "created_at"
    list_select_related = ("lead", "agent", "resolved_by")
    actions = ["resolve"]

    @admin.action(description="Resolve the selected insights (audited)")
    def resolve(self, request, queryset) -> None:
        done = skipped = 0
        for insight in queryset.filter(resolved_at__isnull=True):
            try:
                actions.insight_resolve(insight=insight, actor=request.user, note="Resolved in the admin.")
                done += 1
            except actions.AlreadyResolved:
                skipped += 1
        self.message_user(request, f"{done} insight(s) resolved, {skipped} already resolved meanwhile.")


class StatusChangeInline(admin.TabularInline):
    """The history of an opportunity's status: read-only, like the audit log."""

    model = OpportunityStatusChange
    extra = 0
    can_delete = False
    fields = ("changed_at", "from_status", "to_status", "actor", "note")
    readonly_fields = fields
    ordering = ("changed_at", "id")

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser or is_org_admin(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _move_action(status: str):
    label = OpportunityStatus(status).label

    def move(modeladmin, request, queryset) -> None:
        moved, refused = 0, []
        for opportunity in queryset:
            try:
                actions.opportunity_status_update(opportunity=opportunity, actor=request.user, status=status)
                moved += 1
            except actions.InvalidTransition as exc:
                refused.append(f"{opportunity.title}: {exc}")
        modeladmin.message_user(
            request, f"{moved} opportunit{'y' if moved == 1 else 'ies'} moved to {label}."
        )
        if refused:
            modeladmin.message_user(request, " ".join(refused[:5]), level=messages.WARNING)

    move.__name__ = f"move_to_{status}"
    return admin.action(description=f"Move the selected opportunities to {label} (audited)")(move)


@admin.register(Opportunity)
class OpportunityAdmin(_DetectorOutputAdmin):
    list_display = (
        "title",
        "type",
        "status",
        "confidence",
        "estimated_value",
        "owner",
        "lead",
        "status_changed_at",
    )
    list_filter = ("status", "type", "confidence_method")
    search_fields = ("title", "subject_key", "lead__external_id", "contact__name")
    list_select_related = ("owner", "lead")
    inlines = [StatusChangeInline]
    actions = [
        _move_action(s)
        for s in (OpportunityStatus.IN_PROGRESS, OpportunityStatus.CONVERTED, OpportunityStatus.LOST)
    ]


@admin.register(PerformanceMetric)
class PerformanceMetricAdmin(OrgScopedAdmin):
    read_only_model = True
    list_display = (
        "metric",
        "period",
        "period_start",
        "agent",
        "value",
        "numerator",
        "denominator",
        "computed_at",
    )
    list_filter = ("metric", "period")
    date_hierarchy = "period_start"
    list_select_related = ("agent",)


class InsightSettingsForm(forms.ModelForm):
    class Meta:
        model = InsightSettings
        fields = ("organization", *actions.SETTINGS_FIELDS)
        # The model's help texts, completed for every threshold (defaults in docs/insights.md).
        help_texts = {
            "missed_min_score": "Missed opportunities: an open lead counts when its score is at least this (0-100).",
            "missed_idle_days": "Missed opportunities: ... and no agent activity for this many days.",
            "upsell_top_share": "Upsell potential: the most engaged share of customers (0.20 = the top fifth).",
            "upsell_engagement_days": "Upsell potential: engagement (activities, replies, purchases) is counted "
            "over this many days.",
            "upsell_quiet_days": "Upsell potential: ... and no upsell or cross-sell sale for this many days.",
            "risk_window_days": "Conversion risk: an interested lead's activity in this many days is compared "
            "with the same span before.",
            "risk_drop_share": "Conversion risk: raised when the activity fell by more than this share (0.50 = half).",
            "response_goal_hours": "Conversion risk: also raised when a lead waited longer than this for a reply.",
            "trend_history_weeks": "Engagement trends: weeks of history giving the usual week-over-week variation.",
            "trend_z": "Engagement trends: raised beyond this many standard deviations of the usual variation.",
            "performance_history_weeks": "Performance: weeks of an agent's or source's own history to compare with.",
            "performance_z": "Performance: raised beyond this many standard deviations of that history.",
            "renewal_notice_days": "Renewal opportunities: a recurring customer is near renewal this many days ahead.",
        }


@admin.register(InsightSettings)
class InsightSettingsAdmin(OrgScopedAdmin):
    form = InsightSettingsForm
    list_display = ("__str__", "missed_min_score", "missed_idle_days", "response_goal_hours", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request) -> bool:
        # One row per organization (a OneToOne): an org admin adds theirs once, then edits it.
        if not super().has_add_permission(request):
            return False
        if request.user.is_superuser:
            return True
        return not InsightSettings.objects.filter(organization_id=request.user.organization_id).exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting falls back to the defaults silently; reset the values instead.
        return request.user.is_superuser

    def save_model(self, request, obj, form, change) -> None:
        if not request.user.is_superuser:
            obj.organization_id = request.user.organization_id
        before = None
        if change:
            before = actions.insight_settings_values(InsightSettings.objects.get(pk=obj.pk))
        actions.insight_settings_save(settings=obj, actor=request.user, before=before)
