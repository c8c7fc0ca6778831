"""The admins' place for pricing (DESIGN section 9.5): a changelist of suggestions with
filters, and a review page with the analysis and Approve / Reject (or Rollback) with notes,
through the same services as the API. Nothing here edits a suggestion directly."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from core.errors import ApplicationError
from crm.admin import OrgScopedAdmin
from crm.models import PriceHistory, Product
from pricing import charts, selectors, services
from pricing.models import PriceNotice, PricingSettings, PricingSuggestion, SuggestionStatus

CONFIDENCE_BANDS = {"high": (0.7, 1.01), "medium": (0.4, 0.7), "low": (0.0, 0.4)}


class ProductFilter(admin.SimpleListFilter):
    title = "product"
    parameter_name = "product"

    def lookups(self, request, model_admin):
        products = Product.objects.order_by("name")
        if not request.user.is_superuser:
            products = products.filter(organization_id=request.user.organization_id)
        return [(str(p.pk), p.name) for p in products]

    def queryset(self, request, queryset):
        return queryset.filter(product_id=self.value()) if self.value() else queryset


class TierFilter(admin.SimpleListFilter):
    title = "tier"
    parameter_name = "tier"

    def lookups(self, request, model_admin):
        tiers = model_admin.get_queryset(request).exclude(tier="").values_list("tier", flat=True)
        return [(tier, tier) for tier in sorted(set(tiers))]

    def queryset(self, request, queryset):
        return queryset.filter(tier=self.value()) if self.value() else queryset


class ConfidenceFilter(admin.SimpleListFilter):
    title = "confidence"
    parameter_name = "confidence"

    def lookups(self, request, model_admin):
        return [
            ("high", "High (0.7 and above)"),
            ("medium", "Medium (0.4 to 0.7)"),
            ("low", "Low (below 0.4)"),
        ]

    def queryset(self, request, queryset):
        band = CONFIDENCE_BANDS.get(self.value() or "")
        return queryset.filter(confidence__gte=band[0], confidence__lt=band[1]) if band else queryset


@admin.register(PricingSuggestion)
class PricingSuggestionAdmin(OrgScopedAdmin):
    list_display = (
        "product_name",
        "tier",
        "current_price",
        "suggested_price",
        "change",
        "confidence_shown",
        "status_shown",
        "effective_at",
        "created_at",
        "requested_by",
    )
    list_display_links = ("product_name",)
    list_filter = ("status", ProductFilter, TierFilter, ConfidenceFilter)
    search_fields = ("product__name", "product__external_id")
    date_hierarchy = "created_at"
    list_select_related = ("product", "requested_by")
    ordering = ("-created_at", "-id")
    review_template = "admin/pricing/pricingsuggestion/review.html"

    def has_add_permission(self, request) -> bool:
        # Suggestions come from the analysis (the manager page or the API), never typed in.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Product", ordering="product__name")
    def product_name(self, obj: PricingSuggestion) -> str:
        return obj.product.name

    @admin.display(description="Change", ordering="change_pct")
    def change(self, obj: PricingSuggestion) -> str:
        return f"{obj.change_pct:+.1f}%"

    @admin.display(description="Confidence", ordering="confidence")
    def confidence_shown(self, obj: PricingSuggestion) -> str:
        return f"{obj.confidence:.2f}"

    @admin.display(description="Status", ordering="status")
    def status_shown(self, obj: PricingSuggestion) -> str:
        return format_html(
            '<span class="pricing-status pricing-status--{}">{}</span>', obj.status, obj.get_status_display()
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        suggestion = (
            self.get_queryset(request).select_related("product", "organization").filter(pk=object_id).first()
        )
        if suggestion is None:
            raise Http404("No such pricing suggestion.")
        if request.method == "POST":
            return self._act(request, suggestion)
        return self._review(request, suggestion)

    def _act(self, request, suggestion: PricingSuggestion):
        action = request.POST.get("action", "")
        notes = request.POST.get("notes", "")
        now = timezone.now()
        try:
            if action in ("approve", "reject"):
                done = services.suggestion_decide(
                    organization=suggestion.organization,
                    actor=request.user,
                    suggestion_id=suggestion.pk,
                    decision=action,
                    notes=notes,
                    now=now,
                )
                if action == "approve":
                    effective = done.effective_at.astimezone(suggestion.organization.tz)
                    messages.success(
                        request,
                        f"Approved. The new price of {suggestion.product.name} takes effect on "
                        f"{effective:%d %B %Y} ({services.NOTICE_DAYS} days' notice); the affected "
                        "customers are being told.",
                    )
                else:
                    messages.success(
                        request, f"Rejected. The price of {suggestion.product.name} stays as it is."
                    )
            elif action == "rollback":
                services.suggestion_rollback(
                    organization=suggestion.organization,
                    actor=request.user,
                    suggestion_id=suggestion.pk,
                    notes=notes,
                    now=now,
                )
                messages.success(
                    request, f"Rolled back: {suggestion.product.name} is at its previous price again."
                )
            else:
                messages.error(request, "Choose Approve, Reject or Roll back.")
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return self._review(
                request, suggestion, notes=notes, status=400 if exc.status == 400 else exc.status
            )
        return HttpResponseRedirect(reverse("admin:pricing_pricingsuggestion_change", args=[suggestion.pk]))

    def _review(self, request, suggestion: PricingSuggestion, *, notes: str = "", status: int = 200):
        suggestion.refresh_from_db()
        org = suggestion.organization
        analysis = suggestion.analysis
        history = (
            PriceHistory.objects.for_org(org)
            .filter(product_id=suggestion.product_id)
            .order_by("-effective_at", "-id")
            .values("price", "currency", "effective_at", "source")[:12]
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Review: {suggestion.product.name}",
            "suggestion": suggestion,
            "original": suggestion,
            "analysis": analysis,
            "tz": org.tz,
            "win_chart": charts.win_probability_chart(suggestion),
            "revenue_chart": charts.revenue_chart(suggestion),
            "competitors": selectors.competitor_latest(org, suggestion.product),
            "quotes": selectors.decided_quote_rows(org, suggestion.product),
            "history": list(history),
            "audit": selectors.audit_trail(suggestion),
            "notices": PriceNotice.objects.filter(suggestion=suggestion).count(),
            "notes": notes,
            "can_decide": suggestion.status == SuggestionStatus.PROPOSED,
            "is_requester": suggestion.requested_by_id == request.user.pk,
            "can_rollback": suggestion.status == SuggestionStatus.APPLIED,
            "notice_days": services.NOTICE_DAYS,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.review_template, context, status=status)


@admin.register(PricingSettings)
class PricingSettingsAdmin(OrgScopedAdmin):
    list_display = ("organization", "max_change_pct", "min_decided_quotes", "expire_after_days")

    def has_add_permission(self, request) -> bool:
        # One row per organization (its admin edits it; without one the defaults apply).
        return super().has_add_permission(request) and (
            request.user.is_superuser
            or not PricingSettings.objects.filter(organization_id=request.user.organization_id).exists()
        )


@admin.register(PriceNotice)
class PriceNoticeAdmin(OrgScopedAdmin):
    read_only_model = True
    list_display = ("suggestion", "email", "sent_at")
    search_fields = ("email",)
