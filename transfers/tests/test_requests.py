"""Exception requests on a real anvil: a Reg CF holder in the first year asks to transfer to an accredited investor;
one admin approves it, which proposes the registry's forced transfer with the request's reason and document; a
second admin approves that, and it is carried out once and posted to the journal. A refused request moves
nothing; a request the rules do not allow is refused when filed; a lost wallet is recovered the same way."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from compliance.exemptions import Exemption
from core.approvals import approval_approve
from core.errors import ApplicationError, Conflict, NotPermitted
from core.models import ApprovalRequest, AuditEvent
from core.tests.files import pdf_bytes
from offerings.models import Offering
from registry.models import LedgerPosting, PostingKind, TokenAdminAction, TokenAdminKind, TokenAdminState
from registry.selectors.ledger import journal
from registry.services.token_admin import token_admin_actions_advance
from registry.tests.conftest import Closed, offering_closed
from registry.tests.support import second_admin
from tokens.models import ChainTransaction
from tokens.tests.support import WALLETS, account_new, token_balance
from transfers.models import ExceptionKind, RequestState, TransferRequest
from transfers.services.requests import (
    transfer_agent_decisions_set,
    transfer_request_advance,
    transfer_request_approve,
    transfer_request_file,
    transfer_request_refuse,
)
from transfers.tests.support import indexed, registered

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

ALICE, ALICE_2, BOB = WALLETS[0], WALLETS[1], WALLETS[2]


def _deadline_passed(offering: Offering) -> None:
    """The portal's clock passes the deadline investors were shown, 22 days after the opening: a Reg CF offering
    stays open 21 days (227.303(a)) and closes at its deadline (227.304(a))."""
    now = timezone.now()
    Offering.objects.filter(pk=offering.pk).update(
        opens_at=now - dt.timedelta(days=22), published_at=now - dt.timedelta(days=22), closes_at=now
    )


@pytest.fixture
def crowdfunded(cast, chain_settings) -> Closed:
    """Reg CF units, locked up on-chain for a year from their issue (227.501)."""
    closed = offering_closed(cast, chain_settings.rpc_url, exemption=Exemption.REG_CF, before_close=_deadline_passed)
    indexed(closed)
    return closed


def _document(name: str = "accreditation-letter.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes("CPA letter: Bob Tanaka is an accredited investor"), "application/pdf")


def _file(closed: Closed, kind: str, to: str, quantity: int | None, **kwargs: object) -> TransferRequest:
    return transfer_request_file(
        investor=closed.alice,
        offering=closed.offering,
        kind=kind,
        from_wallet=str(kwargs.get("source", ALICE)),
        to_wallet=to,
        quantity=quantity,
        explanation="Selling part of my stake to Bob, an accredited investor.",
        document=_document(),
        actor=closed.alice.user,
        idempotency_key=str(uuid.uuid4()),
    )


def _carried_out(closed: Closed, request: TransferRequest) -> TransferRequest:
    indexed(closed)
    token_admin_actions_advance()
    return transfer_request_advance(request=request)


def test_an_exception_approved_by_a_second_admin_is_executed_once_and_posted_to_the_journal(
    crowdfunded: Closed, cast
) -> None:
    closed = crowdfunded
    request = _file(closed, ExceptionKind.REG_CF_ACCREDITED, BOB, 60)
    assert request.state == RequestState.FILED and request.to_investor == closed.bob
    rows = ChainTransaction.objects.count()

    # The first admin approves: the forced transfer is proposed, nothing is sent yet.
    request = transfer_request_approve(request=request, actor=cast.admin)
    assert request.state == RequestState.APPROVING
    action = request.action
    assert action is not None
    assert (action.kind, action.state) == (TokenAdminKind.FORCED_TRANSFER, TokenAdminState.PROPOSED)
    assert action.document_sha256 == request.document_sha256 and str(request.public_id) in action.reason
    assert transfer_request_approve(request=request, actor=cast.admin).action == action  # again: the same proposal
    assert ChainTransaction.objects.count() == rows
    assert action.approval is not None
    approval = ApprovalRequest.objects.get(pk=action.approval.pk)
    with pytest.raises(NotPermitted):
        approval_approve(request=approval, actor=cast.admin)  # four eyes: not by the one who proposed it

    finance = second_admin(cast.issuer)
    approval_approve(request=approval, actor=finance)
    with pytest.raises(Conflict):
        approval_approve(request=approval, actor=second_admin(cast.issuer))  # decided: it runs once
    assert ChainTransaction.objects.count() == rows + 1

    request = _carried_out(closed, request)
    assert request.state == RequestState.DONE and request.done_at is not None
    assert token_balance(closed.rpc_url, closed.token, BOB) == 360
    assert token_balance(closed.rpc_url, closed.token, ALICE) == 140
    forced = LedgerPosting.objects.filter(offering=closed.offering, kind=PostingKind.FORCED_TRANSFER)
    assert forced.count() == 1
    posting = forced.get()
    assert (posting.from_wallet, posting.to_wallet, posting.quantity, posting.via_portal) == (ALICE, BOB, 60, True)
    assert posting in list(journal(offering=closed.offering)) and str(request.public_id) in posting.reason
    assert transfer_request_advance(request=request).state == RequestState.DONE
    actions = set(AuditEvent.objects.filter(object_id=str(request.pk)).values_list("action", flat=True))
    assert {"transfer_request.filed", "transfer_request.approved", "transfer_request.progressed"} <= actions


def test_a_refused_request_moves_nothing_and_the_holder_reads_why(crowdfunded: Closed, cast) -> None:
    closed = crowdfunded
    request = _file(closed, ExceptionKind.REG_CF_ACCREDITED, BOB, 60)
    with pytest.raises(ApplicationError):
        transfer_request_refuse(request=request, actor=cast.admin, note="  ")
    refused = transfer_request_refuse(request=request, actor=cast.admin, note="The letter is older than 3 months.")
    assert (refused.state, refused.decision_note, refused.decided_by) == (
        RequestState.REFUSED,
        "The letter is older than 3 months.",
        cast.admin,
    )
    with pytest.raises(Conflict):
        transfer_request_approve(request=refused, actor=cast.admin)
    with pytest.raises(NotPermitted):
        transfer_request_refuse(request=refused, actor=cast.agent, note="No")  # transfer agents only read
    assert not TokenAdminAction.objects.exists()


def test_a_transfer_agent_decides_requests_only_where_the_issuer_allows_it_and_an_admin_still_approves(
    crowdfunded: Closed, cast
) -> None:
    closed = crowdfunded
    request = _file(closed, ExceptionKind.REG_CF_ACCREDITED, BOB, 60)
    with pytest.raises(NotPermitted):
        transfer_request_approve(request=request, actor=cast.agent)  # the issuer has not allowed it
    with pytest.raises(NotPermitted):
        transfer_agent_decisions_set(issuer=cast.issuer, actor=cast.agent, allowed=True)  # nor may it allow itself
    transfer_agent_decisions_set(issuer=cast.issuer, actor=cast.admin, allowed=True)
    audited = AuditEvent.objects.get(action="issuer.transfer_agent_decides_requests")
    assert (audited.actor_id, audited.after) == (cast.admin.pk, {"transfer_agent_decides_requests": True})

    request = transfer_request_approve(request=request, actor=cast.agent)
    assert request.state == RequestState.APPROVING and request.decided_by == cast.agent
    action = request.action
    assert action is not None and action.proposed_by == cast.agent and action.approval is not None
    approval = ApprovalRequest.objects.get(pk=action.approval.pk)
    with pytest.raises(NotPermitted):
        approval_approve(request=approval, actor=cast.agent)  # what it proposed waits for an issuer admin
    rows = ChainTransaction.objects.count()
    approval_approve(request=approval, actor=cast.admin)
    assert ChainTransaction.objects.count() == rows + 1
    request = _carried_out(closed, request)
    assert request.state == RequestState.DONE and token_balance(closed.rpc_url, closed.token, BOB) == 360

    # Taken back: the transfer agent reads requests again and decides none.
    transfer_agent_decisions_set(issuer=cast.issuer, actor=cast.admin, allowed=False)
    other = _file(closed, ExceptionKind.REG_CF_ISSUER, BOB, 10)
    with pytest.raises(NotPermitted):
        transfer_request_refuse(request=other, actor=cast.agent, note="No")


def test_a_second_admin_who_rejects_the_proposal_refuses_the_request(crowdfunded: Closed, cast) -> None:
    from core.approvals import approval_reject

    closed = crowdfunded
    request = transfer_request_approve(request=_file(closed, ExceptionKind.REG_CF_ISSUER, BOB, 10), actor=cast.admin)
    assert request.action is not None and request.action.approval is not None
    approval_reject(request=request.action.approval, actor=second_admin(cast.issuer), note="Not the issuer's wallet.")
    token_admin_actions_advance()
    request = transfer_request_advance(request=request)
    assert request.state == RequestState.REFUSED and request.decision_note == "Not the issuer's wallet."
    assert token_balance(closed.rpc_url, closed.token, BOB) == 300


def test_units_that_are_not_reg_cf_have_no_first_year_exception(closed: Closed) -> None:
    # Reg A+ units are not restricted: there is no such exception, and none is needed.
    with pytest.raises(ApplicationError) as not_reg_cf:
        _file(closed, ExceptionKind.REG_CF_ACCREDITED, BOB, 10)
    assert not_reg_cf.value.code == "exception_not_applicable"
    assert not TransferRequest.objects.exists()


def test_a_first_year_exception_still_goes_only_to_an_eligible_receiver_of_its_kind(crowdfunded: Closed) -> None:
    stranger, _ = account_new()
    with pytest.raises(ApplicationError) as unknown:
        _file(crowdfunded, ExceptionKind.REG_CF_FAMILY, stranger, 10)
    assert unknown.value.code == "receiver_not_eligible" and stranger in unknown.value.message
    registered(WALLETS[6], accreditation=None)
    with pytest.raises(ApplicationError) as not_accredited:
        _file(crowdfunded, ExceptionKind.REG_CF_ACCREDITED, WALLETS[6], 10)
    assert not_accredited.value.code == "receiver_not_accredited"
    assert not TransferRequest.objects.exists()


def test_a_lost_wallet_is_recovered_to_the_holders_new_wallet_after_two_admins(crowdfunded: Closed, cast) -> None:
    closed = crowdfunded
    request = _file(closed, ExceptionKind.LOST_WALLET, ALICE_2, None)
    assert request.quantity == 200  # everything the lost wallet holds
    request = transfer_request_approve(request=request, actor=cast.admin)
    assert request.action is not None and request.action.kind == TokenAdminKind.RECOVERY
    assert request.action.approval is not None
    approval_approve(request=request.action.approval, actor=second_admin(cast.issuer))
    request = _carried_out(closed, request)
    assert request.state == RequestState.DONE
    assert token_balance(closed.rpc_url, closed.token, ALICE_2) == 200
    assert token_balance(closed.rpc_url, closed.token, ALICE) == 0
