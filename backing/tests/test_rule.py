"""Four eyes on the backing rule: a change is proposed by one admin and applies only once a second admin of the
issuer approves it; the proposer cannot approve it, a decline changes nothing, and each step is audited."""

from __future__ import annotations

import pytest

from backing.guard import backing_mint_check
from backing.models import BackingRule
from backing.services.rule import backing_rule_change_pending, backing_rule_propose
from backing.tests.support import rule_set
from core.approvals import approval_approve, approval_reject
from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import ApprovalState, AuditEvent
from offerings.tests.support import offering_open
from registry.tests.support import second_admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def offering(cast):
    return offering_open(cast.issuer, cast.admin)


def _propose(offering, actor, *, per_token: str = "1.00", staleness_days: int = 30):
    return backing_rule_propose(
        offering=offering,
        unit_code="USD",
        unit_scale=2,
        reserve_per_token=per_token,
        staleness_days=staleness_days,
        actor=actor,
    )


def _actions() -> list[str]:
    return list(
        AuditEvent.objects.filter(action__startswith="backing.rule").order_by("pk").values_list("action", flat=True)
    )


def test_a_proposed_rule_applies_only_once_a_second_admin_approves_it(cast, offering) -> None:
    request = _propose(offering, cast.admin)
    assert not BackingRule.objects.filter(offering=offering).exists()
    # Until approved the token stays unguarded: the proposal guards nothing yet.
    assert backing_mint_check(offering=offering, units=10**9).guarded is False
    with pytest.raises(NotPermitted):
        approval_approve(request=request, actor=cast.admin)
    approver = second_admin(cast.issuer)
    approval_approve(request=request, actor=approver)
    rule = BackingRule.objects.get(offering=offering)
    assert (rule.reserve_per_token_numerator, rule.reserve_per_token_denominator, rule.staleness_days) == (100, 1, 30)
    assert rule.updated_by == approver
    assert _actions() == ["backing.rule_change_proposed", "backing.rule_changed"]
    changed = AuditEvent.objects.get(action="backing.rule_changed")
    assert changed.before is None and changed.after is not None
    assert changed.after["proposed_by"] == cast.admin.pk and changed.after["approved_by"] == approver.pk


def test_loosening_the_rule_waits_for_the_second_admin_while_the_old_rule_guards(cast, offering) -> None:
    rule_set(offering, cast.admin, per_token="10.00", staleness_days=30)
    request = _propose(offering, cast.admin, per_token="0.01", staleness_days=3000)
    rule = BackingRule.objects.get(offering=offering)
    assert (rule.reserve_per_token_numerator, rule.staleness_days) == (1000, 30)
    approval_reject(request=request, actor=second_admin(cast.issuer), note="Reserves per token cannot fall.")
    request.refresh_from_db()
    assert request.state == ApprovalState.REJECTED and backing_rule_change_pending(offering=offering) is None
    rule.refresh_from_db()
    assert (rule.reserve_per_token_numerator, rule.staleness_days) == (1000, 30)
    declined = AuditEvent.objects.filter(action="backing.rule_change_declined").get()
    assert declined.after is not None and declined.after["note"] == "Reserves per token cannot fall."


def test_one_change_waits_at_a_time_and_the_rule_in_force_is_not_proposed_again(cast, offering) -> None:
    rule_set(offering, cast.admin, per_token="10.00", staleness_days=35)
    with pytest.raises(ApplicationError, match="already in force"):
        _propose(offering, cast.admin, per_token="10.00", staleness_days=35)
    _propose(offering, cast.admin, per_token="5.00")
    with pytest.raises(Conflict, match="already waiting"):
        _propose(offering, second_admin(cast.issuer), per_token="6.00")


def test_an_approval_of_a_proposal_made_against_an_older_rule_is_refused(cast, offering) -> None:
    rule_set(offering, cast.admin, per_token="10.00")
    stale = _propose(offering, cast.admin, per_token="5.00")
    # The rule changes meanwhile (a withdrawn proposal and another approved one).
    approval_reject(request=stale, actor=cast.admin)
    rule_set(offering, cast.admin, per_token="20.00")
    stale.state = ApprovalState.PENDING
    stale.save(update_fields=["state"])
    with pytest.raises(Conflict, match="changed after this was proposed"):
        approval_approve(request=stale, actor=second_admin(cast.issuer))
    assert BackingRule.objects.get(offering=offering).reserve_per_token_numerator == 2000


@pytest.mark.parametrize(
    ("per_token", "staleness_days", "message"),
    [("0", 30, "more than zero"), ("abc", 30, "like 1.00"), ("1.00", 0, "from 1 to"), ("1.00", 10_000, "from 1 to")],
)
def test_a_bad_rule_is_refused_with_the_reason_and_nothing_is_proposed(
    cast, offering, per_token: str, staleness_days: int, message: str
) -> None:
    with pytest.raises(ApplicationError, match=message):
        _propose(offering, cast.admin, per_token=per_token, staleness_days=staleness_days)
    assert backing_rule_change_pending(offering=offering) is None
    assert not AuditEvent.objects.filter(action__in=["approval.proposed", "backing.rule_change_proposed"]).exists()
