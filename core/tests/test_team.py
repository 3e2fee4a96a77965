from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.test import Client

from core.errors import ApplicationError
from core.models import AuditEvent, Invitation, Issuer, IssuerMembership, Role
from core.services import membership_grant, membership_revoke
from core.tests.factories import MembershipFactory, UserFactory
from core.tests.support import Cast


@pytest.mark.django_db
def test_an_admin_gives_a_user_who_has_a_second_factor_a_role_at_once(client: Client, cast: Cast) -> None:
    newcomer = UserFactory.create(email="analyst@harbor.example", mfa=True)
    client.force_login(cast.admin)
    response = client.post(
        f"/issuers/{cast.issuer.slug}/team/", {"email": "Analyst@Harbor.example", "role": "compliance_officer"}
    )
    assert response.status_code == 302
    assert IssuerMembership.objects.get(user=newcomer, issuer=cast.issuer).role == Role.COMPLIANCE_OFFICER
    event = AuditEvent.objects.get(action="membership.granted", object_label__contains="analyst@harbor.example")
    assert event.actor_id == cast.admin.pk and event.issuer_id == cast.issuer.pk


@pytest.mark.django_db
def test_a_registered_user_without_a_second_factor_is_invited_not_given_the_role(client: Client, cast: Cast) -> None:
    newcomer = UserFactory.create(email="analyst@harbor.example")
    client.force_login(cast.admin)
    page = client.post(
        f"/issuers/{cast.issuer.slug}/team/", {"email": "analyst@harbor.example", "role": "issuer_admin"}, follow=True
    )
    assert "An invitation was sent to analyst@harbor.example" in page.content.decode()
    assert not IssuerMembership.objects.filter(user=newcomer).exists()
    invitation = Invitation.objects.get(email="analyst@harbor.example")
    assert invitation.issuer == cast.issuer and invitation.role == Role.ISSUER_ADMIN
    with pytest.raises(ApplicationError, match="no second factor"):
        membership_grant(actor=cast.admin, issuer=cast.issuer, user=newcomer, role=Role.ISSUER_ADMIN)


@pytest.mark.django_db
def test_a_malformed_email_gets_a_clear_error_and_changes_nothing(client: Client, cast: Cast) -> None:
    client.force_login(cast.admin)
    before = (IssuerMembership.objects.count(), Invitation.objects.count())
    response = client.post(f"/issuers/{cast.issuer.slug}/team/", {"email": "not-an-address", "role": "issuer_admin"})
    assert response.status_code == 200
    assert b"Enter a valid email address" in response.content
    assert (IssuerMembership.objects.count(), Invitation.objects.count()) == before


@pytest.mark.django_db
def test_changing_a_role_is_audited_with_before_and_after(cast: Cast) -> None:
    membership_grant(actor=cast.admin, issuer=cast.issuer, user=cast.agent, role=Role.COMPLIANCE_OFFICER)
    event = AuditEvent.objects.get(action="membership.role_changed")
    assert event.before == {"user": cast.agent.email, "role": "transfer_agent"}
    assert event.after == {"user": cast.agent.email, "role": "compliance_officer"}


@pytest.mark.django_db
def test_the_last_admin_cannot_be_removed(client: Client, cast: Cast) -> None:
    with pytest.raises(ApplicationError, match="at least one admin"):
        membership_revoke(actor=cast.admin, membership=cast.admin_membership)
    client.force_login(cast.admin)
    page = client.post(f"/issuers/{cast.issuer.slug}/team/{cast.admin_membership.pk}/remove/", follow=True)
    assert b"must keep at least one admin" in page.content
    assert IssuerMembership.objects.filter(pk=cast.admin_membership.pk).exists()


@pytest.mark.django_db
def test_removing_a_member_closes_the_issuer_pages_to_them(client: Client, cast: Cast) -> None:
    membership_revoke(actor=cast.admin, membership=cast.agent_membership)
    client.force_login(cast.agent)
    assert client.get(f"/issuers/{cast.issuer.slug}/").status_code == 403
    assert AuditEvent.objects.filter(action="membership.revoked", issuer_id=cast.issuer.pk).exists()


@pytest.mark.django_db
def test_an_admin_of_one_issuer_cannot_manage_another(client: Client, cast: Cast) -> None:
    client.force_login(cast.other_admin)
    response = client.post(f"/issuers/{cast.issuer.slug}/team/", {"email": cast.investor.email, "role": "issuer_admin"})
    assert response.status_code == 403
    assert not IssuerMembership.objects.filter(user=cast.investor).exists()


@pytest.mark.django_db
def test_staff_create_an_issuer_whose_first_admin_is_granted_or_invited(client: Client, cast: Cast) -> None:
    UserFactory(email="first.admin@beacon.example", mfa=True)
    client.force_login(cast.staff)
    form = {"name": "Beacon Funds", "legal_name": "Beacon Funds LP", "jurisdiction": "Delaware", "country": "us"}

    created = client.post("/staff/", {**form, "admin_email": "First.Admin@beacon.example"}, follow=True)
    assert "Beacon Funds was created with first.admin@beacon.example as its admin." in created.content.decode()
    membership = IssuerMembership.objects.get(issuer__name="Beacon Funds")
    assert membership.role == Role.ISSUER_ADMIN and membership.user.email == "first.admin@beacon.example"

    # A first admin without an account (or without a second factor) is invited; the issuer exists meanwhile.
    invited = client.post(
        "/staff/",
        {**form, "name": "Cove Funds", "legal_name": "Cove LP", "admin_email": "ceo@cove.example"},
        follow=True,
    )
    assert "Cove Funds was created. An invitation was sent to ceo@cove.example" in invited.content.decode()
    cove = Issuer.objects.get(name="Cove Funds")
    assert not cove.memberships.exists()
    assert Invitation.objects.get(issuer=cove).role == Role.ISSUER_ADMIN


@pytest.mark.django_db
def test_staff_record_the_issuers_date_of_incorporation_and_its_admins_see_it(client: Client, cast: Cast) -> None:
    UserFactory(email="first.admin@delta.example", mfa=True)
    client.force_login(cast.staff)
    form = {"name": "Delta Notes", "legal_name": "Delta Notes Inc.", "jurisdiction": "Delaware", "country": "us"}
    future = client.post(
        "/staff/", {**form, "formation_date": "2999-01-01", "admin_email": "first.admin@delta.example"}
    )
    assert "The date of incorporation is in the future." in future.content.decode()
    assert not Issuer.objects.filter(name="Delta Notes").exists()

    client.post("/staff/", {**form, "formation_date": "2018-06-01", "admin_email": "first.admin@delta.example"})
    delta = Issuer.objects.get(name="Delta Notes")
    assert delta.formation_date == dt.date(2018, 6, 1)
    created = AuditEvent.objects.get(action="issuer.created", object_id=str(delta.pk))
    assert (created.after or {})["formation_date"] == "2018-06-01"
    admin = Client()
    admin.force_login(delta.memberships.get().user)
    assert "incorporated 1 Jun 2018" in admin.get(f"/issuers/{delta.slug}/").content.decode()


@pytest.mark.django_db
def test_the_audit_log_pages_keep_the_other_query_parameters(client: Client, cast: Cast) -> None:
    from core.audit import audit_record

    for n in range(51):
        audit_record(actor=cast.admin, action="test.event", issuer=cast.issuer, after={"n": n})
    client.force_login(cast.admin)
    first = client.get(f"/issuers/{cast.issuer.slug}/audit/", {"q": "x"}).content.decode()
    assert "Page 1 of 2" in first and 'href="?q=x&amp;page=2">Older</a>' in first
    second = client.get(f"/issuers/{cast.issuer.slug}/audit/?q=x&page=2").content.decode()
    assert "Page 2 of 2" in second and 'href="?q=x&amp;page=1">Newer</a>' in second


@pytest.mark.django_db
def test_the_last_admin_cannot_be_demoted(client: Client, cast: Cast) -> None:
    with pytest.raises(ApplicationError, match="at least one admin"):
        membership_grant(actor=cast.admin, issuer=cast.issuer, user=cast.admin, role=Role.TRANSFER_AGENT)
    client.force_login(cast.admin)
    page = client.post(f"/issuers/{cast.issuer.slug}/team/", {"email": cast.admin.email, "role": "compliance_officer"})
    assert b"must keep at least one admin" in page.content
    assert IssuerMembership.objects.get(pk=cast.admin_membership.pk).role == Role.ISSUER_ADMIN


@pytest.mark.django_db(transaction=True)
def test_two_admins_removing_each_other_at_once_leave_one_admin(cast: Cast) -> None:
    """Each request locks the issuer's memberships before counting admins (PostgreSQL: SELECT ... FOR UPDATE)."""
    second = MembershipFactory.create(issuer=cast.issuer, role=Role.ISSUER_ADMIN)
    first = cast.admin_membership
    start = threading.Barrier(4)
    results: list[str] = []
    lock = threading.Lock()

    def act(action) -> None:
        try:
            start.wait()
            action()
            result = "ok"
        except ApplicationError as exc:
            result = exc.code
        finally:
            connections.close_all()
        with lock:
            results.append(result)

    actions = [
        lambda: membership_revoke(actor=second.user, membership=first),
        lambda: membership_revoke(actor=cast.admin, membership=second),
        lambda: membership_grant(actor=second.user, issuer=cast.issuer, user=cast.admin, role=Role.TRANSFER_AGENT),
        lambda: membership_grant(actor=cast.admin, issuer=cast.issuer, user=second.user, role=Role.TRANSFER_AGENT),
    ]
    threads = [threading.Thread(target=act, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 4 and "last_admin" in results, results
    assert IssuerMembership.objects.filter(issuer=cast.issuer, role=Role.ISSUER_ADMIN).count() == 1
    assert connection.vendor in ("postgresql", "sqlite")
