"""factory_boy factories for the CRM data. Every factory needs an organization."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from crm import models

UTC = dt.UTC


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Organization
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"org-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    timezone = "UTC"
    currency = "USD"


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Member
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"member{n}@example.com")
    name = factory.Sequence(lambda n: f"Member {n}")
    organization = factory.SubFactory(OrganizationFactory)
    role = models.Role.AGENT
    password = factory.PostGenerationMethodCall("set_password", "pass-word-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Contact

    organization = factory.SubFactory(OrganizationFactory)
    external_id = factory.Sequence(lambda n: f"c-{n}")
    name = factory.Sequence(lambda n: f"Contact {n}")
    phone = "+254712345678"
    country = "KE"
    created_at = dt.datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Lead

    organization = factory.SubFactory(OrganizationFactory)
    external_id = factory.Sequence(lambda n: f"l-{n}")
    name = factory.Sequence(lambda n: f"Lead {n}")
    source = "Referrals"
    status = models.LeadStatus.NEW
    score = 50
    estimated_value = Decimal("1000.00")
    created_at = dt.datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Activity

    organization = factory.SubFactory(OrganizationFactory)
    external_id = factory.Sequence(lambda n: f"a-{n}")
    type = models.ActivityType.CALL
    direction = models.Direction.OUTBOUND
    occurred_at = dt.datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


class SaleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Sale

    organization = factory.SubFactory(OrganizationFactory)
    external_id = factory.Sequence(lambda n: f"s-{n}")
    amount = Decimal("500.00")
    currency = "USD"
    kind = models.SaleKind.NEW
    closed_at = dt.datetime(2026, 1, 6, 12, 0, tzinfo=UTC)


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Campaign

    organization = factory.SubFactory(OrganizationFactory)
    external_id = factory.Sequence(lambda n: f"cmp-{n}")
    name = factory.Sequence(lambda n: f"Campaign {n}")
    channel = "whatsapp"
    spend = Decimal("100.00")


class ChatMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ChatMessage

    organization = factory.SubFactory(OrganizationFactory)
    external_id = factory.Sequence(lambda n: f"m-{n}")
    conversation_id = "conv-1"
    direction = models.Direction.INBOUND
    body = "Hello"
    sent_at = dt.datetime(2026, 1, 5, 19, 0, tzinfo=UTC)
