"""`manage.py pricing_rollback <suggestion id> --by <admin e-mail> --notes TEXT [--now ISO]`:
an admin restores the price an applied suggestion replaced, as the API and the admin do
(same service, same audit row); for an operator without the web app at hand."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from core.management.options import moment_option
from crm.models import Member
from pricing import services
from pricing.models import PricingSuggestion


class Command(BaseCommand):
    help = "Roll back an applied pricing suggestion (the previous list price is restored)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("suggestion_id", type=int)
        parser.add_argument("--by", required=True, help="the e-mail of the admin doing it")
        parser.add_argument("--notes", required=True, help="why (kept in the audit log)")
        parser.add_argument("--now", help="ISO 8601 moment to record (default: now); without an offset, UTC")

    def handle(self, *args, suggestion_id: int, by: str, notes: str, now: str | None, **options) -> None:
        moment = moment_option(now)
        actor = Member.objects.filter(email=by.strip().lower()).select_related("organization").first()
        if actor is None or actor.organization is None:
            raise CommandError(f"No member {by!r}.")
        suggestion = PricingSuggestion.objects.filter(
            pk=suggestion_id, organization=actor.organization
        ).first()
        if suggestion is None:
            raise CommandError(f"No pricing suggestion {suggestion_id} in {actor.organization.name}.")
        try:
            done = services.suggestion_rollback(
                organization=actor.organization,
                actor=actor,
                suggestion_id=suggestion.pk,
                notes=notes,
                now=moment,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"rolled back #{done.pk}: {done.product.name} is at {done.previous_price} {done.currency} again"
        )
