"""One-use tickets for the live-metrics socket (DESIGN section 9.7): valid 60 seconds."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from crm.models import Member
from insights.models import LiveTicket

TICKET_SECONDS = 60


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ticket_issue(member: Member, *, now: dt.datetime) -> tuple[str, dt.datetime]:
    """A new ticket for `member` and its expiry. Expired tickets of anyone are swept here."""
    LiveTicket.objects.filter(expires_at__lt=now - dt.timedelta(minutes=5)).delete()
    token = secrets.token_urlsafe(32)
    expires = now + dt.timedelta(seconds=TICKET_SECONDS)
    LiveTicket.objects.create(member=member, token_hash=_hash(token), expires_at=expires)
    return token, expires


def ticket_redeem(token: str, *, now: dt.datetime) -> Member | None:
    """The ticket's member, once: a conditional update marks it used, so a second use (or a
    second socket racing with it) gets None, as does an expired or unknown ticket or an
    inactive member."""
    if not token or len(token) > 100:
        return None
    digest = _hash(token)
    if not LiveTicket.objects.filter(token_hash=digest, used_at__isnull=True, expires_at__gt=now).update(
        used_at=now
    ):
        return None
    ticket = LiveTicket.objects.select_related("member__organization").get(token_hash=digest)
    member = ticket.member
    return member if member.is_active and member.organization_id else None
