"""The demo's holders acting: Alice transfers revenue shares to Bob, and the shares' holders vote on a ballot.

The fund and the notes are restricted securities in their lock-up for a year (Regulation D), so holders act on
a third offering, Harbor Street Solar Revenue Shares (Regulation A Tier 2, no lock-up): published, bought by
Alice by wire (booked by two admins) and closed. Bob's identity is approved and Harbor Street admits him (his
wallet goes to the investor registry); Alice then transfers some of her shares to him as her portfolio's
transfer does: checked by both the portal and the token, confirmed with her authenticator code, sent by the
portal from her custodial wallet and posted to the register. The admin creates a ballot of the shares' holders;
after its record date the voting power is read, Alice and Bob vote, and after the close the tally is counted
(`demo_ballot_advance`, carried on by the chain phase's process as the notes' coupon is).
"""

from __future__ import annotations

import datetime as dt

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import validate_totp_code
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from compliance.services.kyc import kyc_approve
from core.approvals import approval_approve
from core.errors import ApplicationError
from core.mfa import totp_code
from core.money import Money
from demo import documents as pdfs
from demo.seed import (
    ALICE,
    BOB,
    DEMO_ISSUER_SLUG,
    DEMO_TOTP_SECRET,
    DemoTeam,
    _pdf_upload,
    _terms_table,
    demo_team,
    demo_user,
)
from governance.models import Ballot, BallotState, Vote
from governance.services.ballots import RECORD_DATE_LEAD, BallotInput, ballot_close, ballot_create, ballot_power_read
from governance.services.voting import vote_cast
from investors.models import ApplicationStatus, InvestorProfile, KycStatus
from investors.services.applications import issuer_application_decide
from offerings.models import (
    DocumentKind,
    Exemption,
    Offering,
    OfferingStatus,
    SecurityType,
    Subscription,
    SubscriptionStatus,
)
from offerings.selectors.offerings import current_documents
from offerings.services.closing import offering_close
from offerings.services.documents import document_upload
from offerings.services.offerings import OfferingInput, offering_create, offering_publish
from offerings.services.subscriptions import subscription_create, subscription_sign
from offerings.services.wires import wire_receipt_propose
from registry.selectors.ledger import wallet_balances
from registry.selectors.record_date import record_date_ahead
from tokens.outbox import chain_client
from tokens.selectors import chain_head_time
from transfers.models import HolderTransfer, TransferState
from transfers.services.transfers import transfer_advance, transfer_custodial_confirm, transfer_instruct

LOCAL_CHAIN_ID = 31337
SHARES_TITLE = "Harbor Street Solar Revenue Shares"
SHARES_SECTIONS = [
    (
        "The offering",
        "Revenue shares offered under Tier 2 of Regulation A: each share receives a part of the revenue of the "
        "rooftop solar arrays on Harbor Street's warehouses. Shares sold under Regulation A are not restricted "
        "securities and may be transferred to other verified investors of the portal.",
    ),
    ("Risks", "Revenue depends on the arrays' output and the tenants' power purchase agreements."),
]
# Alice buys 1,000 shares at 10.00 USD (the soft cap) and transfers 250 of them to Bob.
SHARES_ALICE_MINOR = 10_000_00
TRANSFER_SHARES = 250
TRANSFER_KEY = "4d656d6f-0000-4000-8000-7472616e7366"
BALLOT_QUESTION = "Approve adding battery storage to the arrays, paid from the next two quarters of revenue?"
BALLOT_OPTIONS = ("For", "Against", "Abstain")
# Alice votes for, Bob against: the tally shows two holders and the units of each.
VOTES = ((ALICE.email, 1), (BOB.email, 2))
VOTING_OPEN = dt.timedelta(minutes=3)


def demo_shares() -> Offering | None:
    return Offering.objects.filter(issuer__slug=DEMO_ISSUER_SLUG, title=SHARES_TITLE).first()


def _shares_input() -> OfferingInput:
    opens = timezone.now()
    return OfferingInput(
        title=SHARES_TITLE,
        summary="Revenue shares in the rooftop solar arrays of Harbor Street's New Jersey warehouses.",
        security_type=SecurityType.REVENUE_SHARE,
        exemption=Exemption.REG_A_TIER2,
        currency="USD",
        price_minor=10_00,
        min_investment_minor=1_000_00,
        max_investment_minor=None,
        soft_cap_minor=SHARES_ALICE_MINOR,
        hard_cap_minor=2_000_000_00,
        opens_at=opens,
        closes_at=opens + dt.timedelta(days=60),
        token_name=SHARES_TITLE,
        token_symbol="HSSRS",
    )


@transaction.atomic
def demo_shares_published(team: DemoTeam) -> list[str]:
    """The revenue shares, created with their offering circular and subscription agreement, and published."""
    shares = demo_shares()
    if shares is not None and shares.status != OfferingStatus.DRAFT:
        return []
    data = _shares_input()
    done: list[str] = []
    if shares is None:
        shares = offering_create(issuer=team.issuer, actor=team.admin, data=data)
        terms = _terms_table(data)
        circular = pdfs.offering_ppm_pdf(
            title=data.title, issuer=team.issuer.legal_name, terms=terms, summary=data.summary, sections=SHARES_SECTIONS
        )
        agreement = pdfs.subscription_agreement_pdf(title=data.title, issuer=team.issuer.legal_name, terms=terms)
        for kind, title, name, content in (
            (DocumentKind.OTHER, "Offering circular (Form 1-A)", "offering-circular.pdf", circular),
            (DocumentKind.SUBSCRIPTION_AGREEMENT, "Subscription agreement", "agreement.pdf", agreement),
        ):
            document_upload(
                offering=shares, actor=team.admin, kind=kind, title=title, upload=_pdf_upload(name, content)
            )
    shares = offering_publish(offering=shares, actor=team.admin)
    done.append(f"{team.issuer.name} published “{shares.title}” (Regulation A Tier 2); its token is deploying.")
    return done


def demo_wire_purchase(
    *,
    team: DemoTeam,
    alice: InvestorProfile,
    offering: Offering,
    amount_minor: int,
    bank_reference: str,
    done: list[str],
) -> Subscription:
    """Alice subscribes and signs (once), and her wire is recorded by the admin and approved by the second admin."""
    subscription = Subscription.objects.filter(offering=offering, investor=alice).first()
    if subscription is None:
        subscription = subscription_create(
            offering=offering, investor=alice, actor=alice.user, amount_minor=amount_minor
        )
        subscription = subscription_sign(
            subscription=subscription,
            actor=alice.user,
            accepted_document_ids=[d.pk for d in current_documents(offering=offering)],
            ip_address="127.0.0.1",
            user_agent="demo",
        )
        done.append(f"Alice subscribed {Money(amount_minor, offering.currency)} to “{offering.title}” and signed.")
    if subscription.status == SubscriptionStatus.SIGNED:
        outcome = wire_receipt_propose(
            issuer=team.issuer,
            actor=team.admin,
            reference=subscription.wire_reference,
            amount_minor=subscription.amount_minor,
            currency=offering.currency,
            received_on=timezone.localdate(),
            bank_reference=bank_reference,
            payer=str(ALICE.details["legal_name"]),
        )
        if outcome.request is not None and outcome.pending:
            approval_approve(request=outcome.request, actor=demo_user("finance@harborstreet.example"))
        done.append("Her wire was recorded by the admin and approved by the second admin.")
    return subscription


@transaction.atomic
def demo_shares_sold(team: DemoTeam) -> list[str]:
    """Alice buys the soft cap by wire (recorded by the admin, approved by the second admin); the admin closes."""
    shares = demo_shares()
    if shares is None or shares.status != OfferingStatus.OPEN:
        return []
    done: list[str] = []
    alice = InvestorProfile.objects.get(user=demo_user(ALICE.email))
    subscription = demo_wire_purchase(
        team=team,
        alice=alice,
        offering=shares,
        amount_minor=SHARES_ALICE_MINOR,
        bank_reference="DEMO-SHARES-0001",
        done=done,
    )
    subscription.refresh_from_db()
    if subscription.status == SubscriptionStatus.PAID:
        offering_close(offering=shares, actor=team.admin)
        done.append(f"The admin closed “{shares.title}”: the shares are minted.")
    return done


def demo_shares_held() -> bool:
    shares = demo_shares()
    return (
        shares is not None
        and shares.status == OfferingStatus.CLOSED
        and bool(wallet_balances(offering=shares).get(ALICE.wallet))
    )


def demo_bob_admitted(team: DemoTeam, done: list[str]) -> InvestorProfile:
    """Platform compliance approves Bob's identity (his wallet goes to the registry, not accredited) and Harbor
    Street's compliance officer admits him, so he may receive the revenue shares (Regulation A takes
    non-accredited investors)."""
    bob = InvestorProfile.objects.get(user=demo_user(BOB.email))
    if bob.kyc_status in {KycStatus.PENDING, KycStatus.MORE_INFO}:
        kyc_approve(investor=bob, actor=team.identity)
        done.append("Platform compliance approved Bob's KYC; his wallet goes to the on-chain investor registry.")
    application = bob.applications.filter(issuer=team.issuer, status=ApplicationStatus.SUBMITTED).first()
    if application is not None:
        issuer_application_decide(application=application, actor=team.compliance, decision="admit")
        done.append(f"{team.issuer.name}'s compliance officer admitted Bob to its offerings.")
    bob.refresh_from_db()
    return bob


def demo_transfer() -> HolderTransfer | None:
    return HolderTransfer.objects.filter(idempotency_key=TRANSFER_KEY).first()


def _step_up_checked(alice: InvestorProfile) -> dt.datetime:
    """Alice's second factor, checked now with a code of her authenticator (the demo's shared secret)."""
    authenticator = Authenticator.objects.get(user=alice.user, type=Authenticator.Type.TOTP)
    # Checked against the secret her authenticator holds (a rerun of the demo may use the same code again).
    if not validate_totp_code(decrypt(authenticator.data["secret"]), totp_code(secret=DEMO_TOTP_SECRET)):
        raise ApplicationError("Alice's authenticator code was not accepted.", code="step_up")
    return timezone.now()


@transaction.atomic
def demo_transfer_instruct(shares: Offering) -> list[str]:
    """Alice transfers 250 shares to Bob through the portal: checked on both sides, confirmed after a fresh
    two-factor check, signed by the portal from her custodial wallet. A later run changes nothing."""
    found = demo_transfer()
    if found is not None and found.state != TransferState.AWAITING_CONFIRMATION:
        return []
    alice = InvestorProfile.objects.get(user=demo_user(ALICE.email))
    transfer = found or transfer_instruct(
        investor=alice,
        offering=shares,
        from_wallet=ALICE.wallet,
        to_wallet=BOB.wallet,
        quantity=TRANSFER_SHARES,
        actor=alice.user,
        idempotency_key=TRANSFER_KEY,
    )
    transfer_custodial_confirm(transfer=transfer, actor=alice.user, step_up_at=_step_up_checked(alice))
    return [
        f"Alice transferred {TRANSFER_SHARES} {shares.token_symbol} to Bob's wallet {BOB.wallet} from her portfolio "
        "(both sides checked, confirmed with her authenticator code); the portal signs it from her custody wallet."
    ]


def demo_transfer_posted() -> bool:
    """The transfer is on the register (the beat advances transfers after the ledger's sync; so does this)."""
    transfer = demo_transfer()
    if transfer is None:
        return False
    return transfer_advance(transfer=transfer).state == TransferState.POSTED


def demo_ballot() -> Ballot | None:
    shares = demo_shares()
    return Ballot.objects.filter(offering=shares, question=BALLOT_QUESTION).first() if shares is not None else None


def _chain_now(now: dt.datetime) -> dt.datetime:
    return max(now, chain_head_time())


def _past_on_chain(moment: dt.datetime, now: dt.datetime) -> bool:
    """The chain's clock is past `moment`; a local anvil makes a block only when sent something, so past the
    portal's clock it is given blocks to final depth."""
    client = chain_client()
    head = client.block(client.block_number())
    if head is not None and head["timestamp"] > int(moment.timestamp()):
        return True
    if now <= moment or settings.CHAIN_ID != LOCAL_CHAIN_ID:
        return False
    client.rpc("anvil_mine", [hex(max(int(settings.CHAIN_CONFIRMATIONS), 1) + 1)])
    return True


def demo_ballot_advance(*, now: dt.datetime | None = None) -> str:
    """The demo's ballot, carried on as its people would: the admin creates it once the shares are with Alice
    and Bob (and the token has no other record date ahead), its voting power is read after the record date,
    Alice and Bob vote while it is open, and after the close it is counted. Returns what it waits for, or
    "closed"."""
    shares = demo_shares()
    if shares is None or demo_transfer() is None:
        return "no transfer yet"
    moment = now or timezone.now()
    team = demo_team()
    ballot = demo_ballot()
    if ballot is None:
        if record_date_ahead(offering=shares) is not None:
            return "waiting for the token's record date ahead to pass"
        record_at = (_chain_now(moment) + RECORD_DATE_LEAD + dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
        ballot = ballot_create(
            issuer=team.issuer,
            offering=shares,
            actor=team.admin,
            data=BallotInput(
                question=BALLOT_QUESTION,
                options=list(BALLOT_OPTIONS),
                record_at=record_at,
                opens_at=record_at,
                closes_at=record_at + VOTING_OPEN,
                quorum_bps=5_000,
            ),
        )
        return f"created, record date {timezone.localtime(ballot.record_at):%H:%M} UTC"
    if ballot.state == BallotState.SCHEDULED:
        if not _past_on_chain(ballot.record_at, moment):
            return "waiting for the record date"
        try:
            ballot = ballot_power_read(ballot=ballot, actor=team.admin)
        except ApplicationError as exc:
            return exc.message
        if ballot.state != BallotState.READY:
            return "waiting for the record date"
    if ballot.state == BallotState.READY and moment < ballot.opens_at:
        return "waiting for voting to open"
    if ballot.state == BallotState.READY and moment < ballot.closes_at:
        for email, option in VOTES:
            investor = InvestorProfile.objects.get(user=demo_user(email))
            if not Vote.objects.filter(ballot=ballot, investor=investor).exists():
                vote_cast(ballot=ballot, investor=investor, option=option, actor=investor.user, now=moment)
        return "open, Alice and Bob voted"
    if ballot.state == BallotState.READY:
        ballot = ballot_close(ballot=ballot, actor=team.admin, now=moment)
    return str(ballot.state)
