"""One scoping mechanism: querysets, object lookups and the admin are per organization."""

import pytest
from django.http import Http404

from core.tenancy import get_for_org_or_404
from crm.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_for_org_returns_only_that_organizations_rows(org_a, org_b):
    LeadFactory(organization=org_a, external_id="L1")
    LeadFactory(organization=org_b, external_id="L1")
    LeadFactory(organization=org_b, external_id="L2")
    assert Lead.objects.for_org(org_a).count() == 1
    assert Lead.objects.for_org(org_b.pk).count() == 2


def test_other_organizations_object_is_404_like_a_missing_one(org_a, org_b):
    foreign = LeadFactory(organization=org_b, external_id="B-1")
    with pytest.raises(Http404):
        get_for_org_or_404(Lead, org_a, pk=foreign.pk)
    with pytest.raises(Http404):
        get_for_org_or_404(Lead, org_a, pk=999_999)
    with pytest.raises(Http404):
        get_for_org_or_404(Lead, org_a, pk="not-a-number")
    assert get_for_org_or_404(Lead, org_b, pk=foreign.pk) == foreign


def test_org_admin_sees_only_own_rows_in_django_admin(client, admin_a, org_b):
    LeadFactory(organization=admin_a.organization, external_id="MINE-1", name="Own lead")
    foreign = LeadFactory(organization=org_b, external_id="THEIRS-1", name="Foreign marker lead")
    client.force_login(admin_a)
    listing = client.get("/admin/crm/lead/")
    assert listing.status_code == 200
    assert b"Own lead" in listing.content
    assert b"Foreign marker lead" not in listing.content
    change = client.get(f"/admin/crm/lead/{foreign.pk}/change/", follow=True)
    assert b"Foreign marker lead" not in change.content


@pytest.mark.parametrize("persona", ["manager_a", "agent_a"])
def test_non_admin_members_cannot_use_django_admin(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get("/admin/crm/lead/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_org_admin_foreign_key_choices_are_scoped(client, admin_a, outsider):
    client.force_login(admin_a)
    page = client.get("/admin/crm/lead/add/")
    assert page.status_code == 200
    assert outsider.email.encode() not in page.content
    assert admin_a.email.encode() in page.content


def test_org_admin_creates_api_key_and_sees_it_once(client, admin_a):
    client.force_login(admin_a)
    response = client.post("/admin/crm/apikey/add/", {"name": "Importer"}, follow=True)
    assert response.status_code == 200
    assert b"it will not be shown again" in response.content
    assert admin_a.organization.api_keys.count() == 1


def test_role_change_in_admin_is_audited(client, admin_a, agent_a):
    from crm.models import AuditLog

    client.force_login(admin_a)
    page = client.get(f"/admin/crm/member/{agent_a.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "password"}
    data.update({"role": "manager", "date_joined_0": "2026-01-01", "date_joined_1": "10:00:00"})
    data.pop("date_joined", None)
    data.pop("last_login", None)
    response = client.post(f"/admin/crm/member/{agent_a.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    agent_a.refresh_from_db()
    assert agent_a.role == "manager"
    entry = AuditLog.objects.get(action="member.role_change")
    assert (entry.before, entry.after, entry.actor) == ({"role": "agent"}, {"role": "manager"}, admin_a)
