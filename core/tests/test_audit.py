from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from core.audit import audit_chain_verify, audit_record
from core.db_guards import audit_guard_install
from core.models import AuditEvent
from core.services import issuer_create
from core.tests.factories import UserFactory


def _make_events(n: int) -> list[AuditEvent]:
    actor = UserFactory.create()
    return [
        audit_record(actor=actor, action="test.event", after={"n": i, "amount_minor": 10**12 + i}) for i in range(n)
    ]


@pytest.mark.django_db
def test_each_event_links_to_the_one_before_it() -> None:
    events = _make_events(3)
    assert events[0].prev_hash == "0" * 64
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert len({e.hash for e in events}) == 3
    assert audit_chain_verify().ok
    assert audit_chain_verify().checked == 3


@pytest.mark.django_db
def test_services_write_who_what_before_after_and_request_id(client) -> None:
    actor = UserFactory.create(email="ops@tessera.example")
    issuer = issuer_create(
        actor=actor, name="Acme Notes", legal_name="Acme Notes Inc.", jurisdiction="DE", country="us"
    )
    event = AuditEvent.objects.get(action="issuer.created")
    assert event.actor_id == actor.pk and event.actor_label == "ops@tessera.example"
    assert event.object_type == "core.issuer" and event.object_id == str(issuer.pk)
    assert event.issuer_id == issuer.pk
    assert event.before is None and event.after is not None and event.after["country"] == "US"


@pytest.mark.django_db
def test_a_tampered_row_is_reported_as_the_first_broken_one() -> None:
    events = _make_events(5)
    with connection.cursor() as cursor:  # what an attacker with database access would do
        cursor.execute(
            "UPDATE core_auditevent SET after = %s WHERE id = %s", ['{"n": 99, "amount_minor": 1}', events[2].pk]
        )
    report = audit_chain_verify()
    assert not report.ok
    assert report.broken_event_id == events[2].pk
    assert report.checked == 2
    assert "hash" in report.reason
    with pytest.raises(CommandError, match=f"event #{events[2].pk}"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_a_deleted_row_breaks_the_link_of_the_next_one() -> None:
    events = _make_events(4)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [events[1].pk])
    report = audit_chain_verify()
    assert not report.ok and report.broken_event_id == events[2].pk
    assert "link" in report.reason


@pytest.mark.django_db
def test_a_removed_last_row_is_caught_by_the_chain_head() -> None:
    events = _make_events(3)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditevent WHERE id = %s", [events[-1].pk])
    report = audit_chain_verify()
    assert not report.ok and "head" in report.reason


@pytest.mark.django_db
def test_the_verify_command_reports_an_intact_chain(capsys: pytest.CaptureFixture[str]) -> None:
    _make_events(2)
    call_command("audit_verify")
    assert "2 events verified" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_model_refuses_updates_and_deletes() -> None:
    event = _make_events(1)[0]
    event.action = "changed"
    with pytest.raises(RuntimeError, match="append-only"):
        event.save()
    with pytest.raises(RuntimeError, match="append-only"):
        event.delete()


@pytest.mark.django_db
def test_the_database_guard_refuses_updates_and_deletes() -> None:
    event = _make_events(1)[0]
    audit_guard_install(connection=connection)  # rolled back with the test's transaction
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="changed")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


@pytest.mark.django_db
def test_request_id_from_the_header_reaches_the_audit_event(client) -> None:
    staff = UserFactory.create(is_staff=True, mfa=True)
    investor = UserFactory.create(email="newadmin@example.com")
    client.force_login(staff)
    response = client.post(
        "/staff/",
        {
            "name": "Beacon Funds",
            "legal_name": "Beacon Funds LP",
            "jurisdiction": "Delaware",
            "country": "us",
            "admin_email": investor.email,
        },
        headers={"X-Request-ID": "req-12345"},
    )
    assert response.status_code == 302
    assert response["X-Request-ID"] == "req-12345"
    actions = list(AuditEvent.objects.filter(request_id="req-12345").values_list("action", flat=True))
    # The first admin has no second factor yet, so they are invited rather than given the role.
    assert sorted(actions) == ["invitation.created", "issuer.created"]
