from __future__ import annotations

import pytest
from django.core.management import call_command

from core.access import has_mfa
from core.audit import audit_chain_verify
from core.demo import DEMO_LOGINS, DEMO_PASSWORD
from core.models import AuditEvent, IssuerMembership, User


@pytest.mark.django_db
def test_demo_data_loads_twice_without_changing_anything_the_second_time(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("demo_seed")
    counts = (User.objects.count(), IssuerMembership.objects.count(), AuditEvent.objects.count())
    call_command("demo_seed")
    assert (User.objects.count(), IssuerMembership.objects.count(), AuditEvent.objects.count()) == counts
    out = capsys.readouterr().out
    for login in DEMO_LOGINS:
        assert login.email in out
        user = User.objects.get(email=login.email)
        assert user.check_password(DEMO_PASSWORD)
        assert user.emailaddress_set.get().verified
        assert has_mfa(user) == login.mfa
    assert counts == (6, 3, counts[2]) and audit_chain_verify().ok
