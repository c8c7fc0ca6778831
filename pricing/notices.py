"""The 30-day notice of an approved price change, e-mailed to each affected customer.

Affected customers are the contacts with an e-mail who paid for the product in its last
billing period (pricing.selectors.affected_customers). Each gets one message, in the
organization's time zone and currency; a PriceNotice row records it, so a retried task
never writes twice to anyone. Delivery is Django's e-mail backend: SMTP via EMAIL_URL, or
files in var/mail in the demo.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from pricing import selectors
from pricing.models import PriceNotice, PricingSuggestion, SuggestionStatus
from reports.charts import ValueFormat, format_value

BATCH = 200


def price_notices_send(*, suggestion_id: int) -> int:
    """Sends the notices not sent yet; returns how many were sent now."""
    suggestion = PricingSuggestion.objects.select_related("organization", "product").get(pk=suggestion_id)
    if suggestion.status not in (SuggestionStatus.APPROVED, SuggestionStatus.APPLIED):
        return 0
    org = suggestion.organization
    already = set(PriceNotice.objects.filter(suggestion=suggestion).values_list("contact_id", flat=True))
    contacts = [
        c
        for c in selectors.affected_customers(
            org, suggestion.product, as_of=suggestion.decided_at or timezone.now()
        )
        if c.pk not in already
    ]
    context = {
        "organization": org,
        "product": suggestion.product,
        "old_price": format_value(float(suggestion.current_price), ValueFormat.money(suggestion.currency)),
        "new_price": format_value(float(suggestion.suggested_price), ValueFormat.money(suggestion.currency)),
        "change_pct": suggestion.change_pct,
        "effective_on": suggestion.effective_at.astimezone(org.tz).date(),
    }
    subject = (
        f"{org.name}: the price of {suggestion.product.name} changes on {context['effective_on']:%d %B %Y}"
    )
    sent = 0
    connection = get_connection()
    for start in range(0, len(contacts), BATCH):
        batch = contacts[start : start + BATCH]
        messages = []
        for contact in batch:
            body = {**context, "contact": contact}
            message = EmailMultiAlternatives(
                subject,
                render_to_string("pricing/email/price_notice.txt", body),
                settings.DEFAULT_FROM_EMAIL,
                [contact.email],
                connection=connection,
            )
            message.attach_alternative(render_to_string("pricing/email/price_notice.html", body), "text/html")
            messages.append(message)
        connection.send_messages(messages)
        for contact in batch:
            try:
                with transaction.atomic():
                    PriceNotice.objects.create(
                        organization=org, suggestion=suggestion, contact=contact, email=contact.email
                    )
            except IntegrityError:
                continue  # another run recorded it first
            sent += 1
    return sent
