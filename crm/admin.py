"""Django admin, scoped: an organization's admin sees and edits only their organization.

Platform superusers see everything. Org admins (role admin, is_staff) get model rights
through OrgScopedAdmin rather than Django permissions, so no admin needs hand-assigned
permission rows, and every queryset and foreign-key choice is filtered by organization.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserCreationForm

from crm import models
from crm.ingestion.service import EDITED_ENTITIES, rows_edited
from crm.services import api_key_create, member_change_role

admin.site.site_header = "CRM Insights admin"
admin.site.site_title = "CRM Insights admin"


def is_org_admin(request) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and user.organization_id and user.role == models.Role.ADMIN)


class OrgScopedAdmin(admin.ModelAdmin):
    org_field = "organization"
    read_only_model = False

    def _allowed(self, request) -> bool:
        return request.user.is_superuser or is_org_admin(request)

    def has_module_permission(self, request) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request) -> bool:
        return self._allowed(request) and not self.read_only_model

    def has_change_permission(self, request, obj=None) -> bool:
        return self._allowed(request) and not self.read_only_model

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._allowed(request) and not self.read_only_model

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.org_field}_id": request.user.organization_id})

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser and self.org_field == "organization":
            exclude.append("organization")
        return exclude

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if request.user.is_superuser and self.org_field == "organization":
            filters.insert(0, "organization")
        return filters

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            related = db_field.related_model
            org_id = request.user.organization_id
            if related is models.Organization:
                kwargs["queryset"] = models.Organization.objects.filter(pk=org_id)
            elif any(f.name == "organization" for f in related._meta.fields):
                kwargs["queryset"] = related._default_manager.filter(organization_id=org_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change) -> None:
        if not request.user.is_superuser and self.org_field == "organization":
            obj.organization_id = request.user.organization_id
        super().save_model(request, obj, form, change)


def _versions(objects) -> dict[int, list[dict]]:
    """Each object's field values (attnames), grouped by organization."""
    out: dict[int, list[dict]] = {}
    for obj in objects:
        row = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}
        out.setdefault(obj.organization_id, []).append(row)
    return out


class IngestedDataAdmin(OrgScopedAdmin):
    """CRM data that ingestion also writes: an edit or delete here has ingestion's effects
    (crm.ingestion.service.rows_edited): stale statistics from the earliest business time of
    the old and new versions, the derived last-touch campaigns recomputed, caches ended."""

    def _edited(self, versions: dict[int, list[dict]]) -> None:
        entity = EDITED_ENTITIES[self.model._meta.model_name]
        for organization_id, rows in versions.items():
            rows_edited(organization_id=organization_id, entity=entity, rows=rows)

    def save_model(self, request, obj, form, change) -> None:
        before = _versions([type(obj)._default_manager.get(pk=obj.pk)] if change else [])
        super().save_model(request, obj, form, change)
        after = _versions([obj])
        self._edited({org: before.get(org, []) + after.get(org, []) for org in before.keys() | after.keys()})

    def delete_model(self, request, obj) -> None:
        # the values before the delete (it clears the primary key)
        versions = _versions([obj])
        super().delete_model(request, obj)
        self._edited(versions)

    def delete_queryset(self, request, queryset) -> None:
        versions = _versions(queryset)
        super().delete_queryset(request, queryset)
        self._edited(versions)


@admin.register(models.Organization)
class OrganizationAdmin(OrgScopedAdmin):
    list_display = ("name", "slug", "timezone", "currency", "created_at")
    search_fields = ("name", "slug")
    exclude = ("webhook_secret",)
    readonly_fields = ("webhook_secret_hint",)

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        return qs if request.user.is_superuser else qs.filter(pk=request.user.organization_id)

    def get_exclude(self, request, obj=None):
        return ["webhook_secret"]

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    @admin.display(description="webhook secret")
    def webhook_secret_hint(self, obj) -> str:
        # Shown only to admins of this organization; needed to sign webhook deliveries.
        return obj.webhook_secret if obj and obj.pk else "generated on save"


class MemberCreationForm(UserCreationForm):
    class Meta:
        model = models.Member
        fields = ("email", "name", "role", "team")


@admin.register(models.Member)
class MemberAdmin(OrgScopedAdmin, UserAdmin):
    add_form = MemberCreationForm
    ordering = ("email",)
    list_display = ("email", "name", "role", "team", "is_active_agent", "is_active")
    list_filter = ("role", "team", "is_active_agent", "is_active")
    search_fields = ("email", "name", "team")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "organization", "role", "team", "is_active_agent")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "name", "role", "team", "organization", "password1", "password2"),
            },
        ),
    )

    def get_fieldsets(self, request, obj=None):
        sets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return sets
        hidden = {"organization", "is_staff", "is_superuser", "groups", "user_permissions"}
        return [
            (name, {**opts, "fields": tuple(f for f in opts["fields"] if f not in hidden)})
            for name, opts in sets
        ]

    def save_model(self, request, obj, form, change) -> None:
        new_role = obj.role
        if change and "role" in form.changed_data:
            # Role changes go through the audited service.
            obj.role = form.initial.get("role", obj.role)
            super().save_model(request, obj, form, change)
            member_change_role(member=obj, role=new_role, actor=request.user)
            return
        if not request.user.is_superuser:
            obj.is_staff = obj.role == models.Role.ADMIN
        super().save_model(request, obj, form, change)


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = models.ApiKey
        fields = ("name",)


@admin.register(models.ApiKey)
class ApiKeyAdmin(OrgScopedAdmin):
    form = ApiKeyForm
    list_display = ("name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_by", "created_at", "last_used_at")
    search_fields = ("name", "prefix")
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request)

    def save_model(self, request, obj, form, change) -> None:
        org = (
            obj.organization
            if request.user.is_superuser and obj.organization_id
            else request.user.organization
        )
        key, raw = api_key_create(organization=org, name=obj.name, actor=request.user)
        obj.pk = key.pk
        messages.warning(request, f"API key created. Copy it now, it will not be shown again: {raw}")

    def get_exclude(self, request, obj=None):
        return []

    def get_form(self, request, obj=None, **kwargs):
        if request.user.is_superuser:
            kwargs["fields"] = ("name", "organization")
        return super().get_form(request, obj, **kwargs)

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset) -> None:
        from django.utils import timezone

        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} key(s) revoked.")


@admin.register(models.Contact)
class ContactAdmin(IngestedDataAdmin):
    list_display = ("external_id", "name", "phone", "country", "email", "created_at")
    list_filter = ("country",)
    search_fields = ("external_id", "name", "phone", "email")
    date_hierarchy = "created_at"


@admin.register(models.Lead)
class LeadAdmin(IngestedDataAdmin):
    list_display = ("external_id", "name", "status", "source", "assigned_agent", "score", "created_at")
    list_filter = ("status", "source", "product_line", "region")
    search_fields = ("external_id", "name")
    raw_id_fields = ("contact",)
    date_hierarchy = "created_at"


@admin.register(models.Activity)
class ActivityAdmin(IngestedDataAdmin):
    list_display = ("external_id", "type", "direction", "agent", "outcome", "occurred_at")
    list_filter = ("type", "direction", "outcome", "automated", "channel")
    search_fields = ("external_id", "title")
    raw_id_fields = ("lead",)
    date_hierarchy = "occurred_at"


@admin.register(models.Sale)
class SaleAdmin(IngestedDataAdmin):
    list_display = ("external_id", "amount", "currency", "kind", "agent", "product_line", "closed_at")
    list_filter = ("kind", "product_line", "currency")
    search_fields = ("external_id",)
    raw_id_fields = ("lead", "contact")
    # Derived by ingestion from the touchpoints (crm.last_touch), never typed in.
    readonly_fields = ("last_touch_campaign",)
    date_hierarchy = "closed_at"


@admin.register(models.Product)
class ProductAdmin(IngestedDataAdmin):
    list_display = ("external_id", "name", "tier", "list_price", "currency", "billing_period", "active")
    list_filter = ("tier", "billing_period", "active")
    search_fields = ("external_id", "name")


@admin.register(models.Quote)
class QuoteAdmin(IngestedDataAdmin):
    list_display = (
        "external_id",
        "product",
        "unit_price",
        "quantity",
        "outcome",
        "agent",
        "quoted_at",
        "decided_at",
    )
    list_filter = ("outcome",)
    search_fields = ("external_id",)
    raw_id_fields = ("lead", "contact", "product")
    date_hierarchy = "quoted_at"


@admin.register(models.CompetitorPrice)
class CompetitorPriceAdmin(IngestedDataAdmin):
    list_display = ("external_id", "competitor", "product", "price", "currency", "observed_at")
    list_filter = ("competitor",)
    search_fields = ("external_id", "competitor")
    raw_id_fields = ("product",)


@admin.register(models.PriceHistory)
class PriceHistoryAdmin(OrgScopedAdmin):
    # The record of what was charged when: written by loads, applied suggestions and
    # rollbacks, never edited by hand.
    read_only_model = True
    list_display = ("product", "price", "currency", "effective_at", "source", "suggestion_id")
    list_filter = ("source",)
    search_fields = ("product__name", "product__external_id")
    date_hierarchy = "effective_at"


@admin.register(models.Campaign)
class CampaignAdmin(IngestedDataAdmin):
    list_display = ("external_id", "name", "channel", "status", "spend", "started_at", "ended_at")
    list_filter = ("channel", "status")
    search_fields = ("external_id", "name")


@admin.register(models.CampaignMessage)
class CampaignMessageAdmin(IngestedDataAdmin):
    list_display = ("external_id", "campaign", "variant", "sent_at", "delivered_at", "read_at", "replied_at")
    list_filter = ("variant",)
    search_fields = ("external_id",)
    raw_id_fields = ("contact", "campaign")


@admin.register(models.Touchpoint)
class TouchpointAdmin(IngestedDataAdmin):
    list_display = ("external_id", "channel", "campaign", "occurred_at")
    list_filter = ("channel",)
    search_fields = ("external_id",)
    raw_id_fields = ("contact", "lead", "campaign")


@admin.register(models.ChatMessage)
class ChatMessageAdmin(IngestedDataAdmin):
    list_display = ("external_id", "conversation_id", "direction", "agent", "sent_at")
    list_filter = ("direction",)
    search_fields = ("external_id", "conversation_id", "body")
    raw_id_fields = ("contact",)
    date_hierarchy = "sent_at"


@admin.register(models.ContactSnapshot)
class ContactSnapshotAdmin(OrgScopedAdmin):
    read_only_model = True
    list_display = ("day", "total_contacts", "new_contacts", "computed_at")
    date_hierarchy = "day"


@admin.register(models.ImportRun)
class ImportRunAdmin(OrgScopedAdmin):
    read_only_model = True
    list_display = ("entity", "door", "filename", "status", "rows_stored", "rows_rejected", "started_at")
    list_filter = ("entity", "door", "status")
    search_fields = ("filename",)


@admin.register(models.AuditLog)
class AuditLogAdmin(OrgScopedAdmin):
    read_only_model = True
    list_display = ("at", "actor_label", "action", "object_type", "object_id")
    list_filter = ("action", "object_type")
    search_fields = ("actor_label", "object_id", "action")
    date_hierarchy = "at"
