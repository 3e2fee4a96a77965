"""The demo's chain phase: once anvil and a worker run, finish what needs the chain.

The investor registry and the test stablecoin are queued for deployment unless they are already.
Platform compliance verifies Alice's accreditation and approves her KYC (the pipeline registers her
wallet on the InvestorRegistry), the issuer's compliance officer admits her, the portal's test
stablecoin is minted to her wallet, and the issuer publishes the fund (the pipeline deploys its
token). Workers send the transactions; this waits for them. Running it again queues nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backing.models import NavOracle, NavPoint
from backing.services.nav_oracle import nav_oracle_change_pending, nav_oracle_propose, nav_oracle_read
from backing.services.reserve_guard import reserve_guard_sync
from compliance.services.kyc import kyc_approve
from compliance.services.reviews import accreditation_approve
from core.approvals import approval_approve
from core.errors import ApplicationError, Conflict
from core.models import User
from core.money import Money
from demo import documents as pdfs
from demo.holders import (
    demo_ballot,
    demo_ballot_advance,
    demo_bob_admitted,
    demo_shares,
    demo_shares_held,
    demo_shares_published,
    demo_shares_sold,
    demo_transfer,
    demo_transfer_instruct,
    demo_transfer_posted,
    demo_wire_purchase,
)
from demo.seed import (
    ALICE,
    ALICE_NEW_WALLET,
    COUPON_PER_NOTE_MINOR,
    DEMO_ADMINISTRATOR,
    DEMO_CUSTODIAN,
    DEMO_ISSUER_SLUG,
    FUND_TITLE,
    NOTES_TITLE,
    DemoTeam,
    _pdf_upload,
    _terms_table,
    demo_coupon,
    demo_dividend,
    demo_export,
    demo_fund,
    demo_redemption,
    demo_redemption_frozen,
    demo_team,
    demo_token_admin,
    demo_token_admin_done,
    demo_user,
)
from distributions.models import Distribution, DistributionState
from distributions.services.approval import distribution_propose
from distributions.services.register import distribution_register_compute
from investors.models import AccreditationStatus, ApplicationStatus, InvestorProfile, KycStatus
from investors.selectors import accreditation_current
from investors.services.applications import issuer_application_decide
from investors.services.wallets import wallet_custodial_record
from offerings.models import DocumentKind, Offering, OfferingStatus, SubscriptionStatus
from offerings.services.closing import offering_close
from offerings.services.documents import document_upload
from offerings.services.offerings import RULE_FIELDS, TERM_FIELDS, OfferingInput, offering_publish, offering_update
from registry.models import Reconciliation, TokenAdminAction, TokenAdminState
from registry.selectors.ledger import wallet_balances
from registry.services.reconciliation import reconcile
from tokens.chain.abi import decode_result, encode_call
from tokens.chain.node import node_status
from tokens.chain.signer import agent_pool
from tokens.models import OPEN_STATUSES, ChainTransaction, ContractDeployment, ContractKind, TxStatus
from tokens.outbox import chain_client
from tokens.payout import payout_allowance_ensure, payout_contract_deploy, payout_treasury, portal_payout
from tokens.selectors import RegistrationState, chain_head_time, nav_feed_of, registry_wallet_states
from tokens.services import (
    PORTAL_REGISTRY,
    agent_pool_ensure,
    nav_feed_deploy,
    nav_feed_publish,
    portal_registry_ensure,
)
from tokens.stablecoin import portal_stablecoin, stablecoin_deploy, stablecoin_faucet
from transfers.models import HolderTransfer

LOCAL_CHAIN_ID = 31337
# 100,000 test dollars; the test stablecoin has STABLECOIN_DECIMALS (6) decimals.
FAUCET_DOLLARS = 100_000
FAUCET_KEY = "demo:faucet:alice"


class DemoChainError(Exception):
    """The chain phase cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class DemoChainResult:
    registry: str
    stablecoin: str
    token: str
    offering: Offering
    alice_wallet: str
    alice_stablecoin: int
    done: list[str]
    dividend: Distribution | None = None
    coupon: Distribution | None = None
    transfer: HolderTransfer | None = None


def _opening_not_past(fund: Offering, admin: User, *, now_at_the_latest: bool = False) -> Offering:
    """An offering opens when it is published at the earliest: a seeded opening already past moves to now,
    as the issuer would set it on the draft before publishing (the close date stays). With
    `now_at_the_latest`, a later opening moves to now too (the notes open at once for the register)."""
    now = timezone.now()
    if fund.opens_at >= now and not now_at_the_latest:
        return fund
    return offering_update(offering=fund, actor=admin, data=dataclasses.replace(_input_of(fund), opens_at=now))


def _sleep_or_pump(pump: Callable[[], None] | None, poll: float) -> None:
    if pump is not None:
        pump()
    time.sleep(poll)


def _wait(
    what: str,
    ready: Callable[[], bool],
    *,
    timeout: float,
    poll: float,
    pump: Callable[[], None] | None,
    hint: str,
    say: Callable[[str], None],
) -> None:
    if ready():
        return
    say(f"Waiting for {what}…")
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise DemoChainError(f"Gave up after {timeout:.0f} s waiting for {what}. {hint}")
        _sleep_or_pump(pump, poll)


def _has_code(address: str) -> bool:
    response = chain_client().rpc("eth_getCode", [address, "latest"])
    code = response.get("result") if isinstance(response, dict) else response
    return bool(code) and str(code) not in ("0x", "0x0")


def _view(contract: str, address: str, function: str, *args: object) -> object:
    data = chain_client().call({"to": address, "data": "0x" + encode_call(contract, function, list(args)).hex()})
    return decode_result(contract, function, data)[0]


def _confirmed(deployment: ContractDeployment | None) -> bool:
    if deployment is None or not deployment.address:
        return False
    tx = deployment.deploy_transaction
    return tx is None or tx.status == TxStatus.CONFIRMED


def chain_state_check() -> None:
    """Every contract the database says is deployed must have code on the node; else the chain was reset."""
    for deployment in ContractDeployment.objects.filter(chain_id=settings.CHAIN_ID).select_related(
        "deploy_transaction"
    ):
        if _confirmed(deployment) and not _has_code(deployment.address):
            raise DemoChainError(
                f"The database says the {deployment.get_kind_display().lower()} “{deployment.name}” is deployed at "
                f"{deployment.address}, but the chain at {settings.CHAIN_RPC_URL} has no contract there. The chain's "
                "state file (var/anvil-state.json) was deleted or replaced while the database was kept, so the two "
                "no longer match. Run `.venv/bin/python manage.py chain_resync --apply` to send the recorded "
                "transactions to the new chain, or `make demo-reset` (it deletes the demo's database, chain state "
                "and uploads under var/), then `make demo` to start again from scratch."
            )


def _reserve_guard_ready(fund: Offering) -> bool:
    """What the backing sweep does each few seconds, done here too so the demo need not wait for the beat."""
    readiness = reserve_guard_sync(offering_id=fund.pk)
    if readiness is not None and readiness.problem:
        raise DemoChainError(f"The fund's reserve guard is stuck: {readiness.problem}")
    return readiness is not None and readiness.ready and _open_transactions() == 0


def _registry() -> ContractDeployment | None:
    return (
        ContractDeployment.objects.filter(
            chain_id=settings.CHAIN_ID, kind=ContractKind.REGISTRY, owner_ref=PORTAL_REGISTRY
        )
        .select_related("deploy_transaction")
        .first()
    )


def _agent_pool_ready() -> None:
    """A configured agent pool (CHAIN_AGENT_POOL_ADDRESSES): funded on the local chain, agents of every contract."""
    pool = agent_pool()
    if not pool:
        return
    client = chain_client()
    for address in pool:
        if settings.CHAIN_ID == LOCAL_CHAIN_ID and client.balance(address) == 0:
            client.rpc("anvil_setBalance", [address, hex(10**22)])  # anvil funds its first ten accounts only
    agent_pool_ensure()


def _contracts_ensure() -> None:
    """The registry and the test stablecoin (a worker of the local settings queues them as it starts, too)."""
    _agent_pool_ready()
    portal_registry_ensure()
    if portal_stablecoin() is None:
        with contextlib.suppress(Conflict):  # a worker queued it at the same moment
            stablecoin_deploy()


def _payout_ensure() -> bool:
    """The distribution payout contract, once the stablecoin is on the chain, and the treasury's allowance to it
    once the contract is. True when both are in place (queued or confirmed)."""
    if portal_payout() is None:
        with contextlib.suppress(Conflict):  # a worker queued it at the same moment
            payout_contract_deploy()
        return False
    if not _confirmed(portal_payout()):
        return False
    payout_allowance_ensure()
    return True


def _alice_approvals(team: DemoTeam, done: list[str]) -> InvestorProfile:
    """Accreditation first, then KYC, so the registry hears of Alice once, with both flags."""
    investor = InvestorProfile.objects.get(user=demo_user(ALICE.email))
    claim = accreditation_current(investor=investor)
    if claim is not None and claim.status == AccreditationStatus.PENDING:
        accreditation_approve(claim=claim, actor=team.identity)
        done.append("Platform compliance verified Alice's accreditation (CPA letter, Rule 506(c)).")
    investor.refresh_from_db()
    if investor.kyc_status in {KycStatus.PENDING, KycStatus.MORE_INFO}:
        kyc_approve(investor=investor, actor=team.identity)
        done.append("Platform compliance approved Alice's KYC; her wallet goes to the on-chain investor registry.")
    application = investor.applications.filter(issuer=team.issuer, status=ApplicationStatus.SUBMITTED).first()
    if application is not None:
        issuer_application_decide(application=application, actor=team.compliance, decision="admit")
        done.append(f"{team.issuer.name}'s compliance officer admitted Alice to its offerings.")
    investor.refresh_from_db()
    return investor


def _open_transactions() -> int:
    return ChainTransaction.objects.filter(chain_id=settings.CHAIN_ID, status__in=OPEN_STATUSES).count()


def _failed_since(first_id: int) -> list[ChainTransaction]:
    return list(ChainTransaction.objects.filter(chain_id=settings.CHAIN_ID, status=TxStatus.FAILED, pk__gt=first_id))


# Alice buys the notes' whole soft cap (1,000 notes), so they close and the register has a holder.
NOTES_ALICE_MINOR = 1_000_000_00


def _notes_published(team: DemoTeam, done: list[str]) -> Offering | None:
    """The notes, published with a subscription agreement and opening now, so that they can close."""
    notes = Offering.objects.filter(issuer=team.issuer, title=NOTES_TITLE).first()
    if notes is None or notes.status != OfferingStatus.DRAFT:
        return notes
    if not notes.documents.filter(kind=DocumentKind.SUBSCRIPTION_AGREEMENT).exists():
        content = pdfs.subscription_agreement_pdf(
            title=notes.title, issuer=team.issuer.legal_name, terms=_terms_table(_input_of(notes))
        )
        document_upload(
            offering=notes,
            actor=team.admin,
            kind=DocumentKind.SUBSCRIPTION_AGREEMENT,
            title="Subscription agreement",
            upload=_pdf_upload("agreement.pdf", content),
        )
    notes = _opening_not_past(notes, team.admin, now_at_the_latest=True)
    notes = offering_publish(offering=notes, actor=team.admin)
    done.append(f"{team.issuer.name} published “{notes.title}”; its token {notes.token_symbol} is deploying.")
    return notes


def _input_of(offering: Offering) -> OfferingInput:
    return OfferingInput(
        **{n: getattr(offering, n) for n in TERM_FIELDS if n not in ("allowed_countries", "blocked_countries")},
        allowed_countries=tuple(offering.allowed_countries),
        blocked_countries=tuple(offering.blocked_countries),
        rules={name: getattr(offering, name) for name in RULE_FIELDS},
    )


def _notes_sold(team: DemoTeam, alice: InvestorProfile, notes: Offering, done: list[str]) -> None:
    """Alice subscribes, signs and pays by wire (recorded by the admin, approved by the second admin); the admin
    closes the notes; a new custody wallet of Alice's is registered for the recovery."""
    if notes.status != OfferingStatus.OPEN:
        return
    subscription = demo_wire_purchase(
        team=team,
        alice=alice,
        offering=notes,
        amount_minor=NOTES_ALICE_MINOR,
        bank_reference="DEMO-NOTES-0001",
        done=done,
    )
    if not alice.wallets.filter(address=ALICE_NEW_WALLET).exists():
        wallet_custodial_record(
            investor=alice, actor=team.identity, address=ALICE_NEW_WALLET, custodian_name=DEMO_CUSTODIAN
        )
        done.append(f"Platform compliance recorded Alice's new custody wallet {ALICE_NEW_WALLET}.")
    subscription.refresh_from_db()
    if subscription.status == SubscriptionStatus.PAID:
        offering_close(offering=notes, actor=team.admin)
        done.append(f"The admin closed “{notes.title}”: the soft cap is met, the notes are minted.")


def _notes_held(notes: Offering) -> bool:
    notes.refresh_from_db()
    return notes.status == OfferingStatus.CLOSED and bool(wallet_balances(offering=notes).get(ALICE.wallet))


def _freeze_posted() -> bool:
    return TokenAdminAction.objects.filter(
        kind="freeze_amount", state__in=[TokenAdminState.POSTED, TokenAdminState.FAILED]
    ).exists()


def _register(
    team: DemoTeam, *, timeout: float, poll: float, pump: Callable[[], None] | None, say: Callable[[str], None]
) -> list[str]:
    """The notes sold and closed, then token administration on them (demo.seed.demo_token_admin)."""
    done: list[str] = []
    alice = InvestorProfile.objects.get(user=demo_user(ALICE.email))
    with transaction.atomic():
        notes = _notes_published(team, done)
    if notes is None or demo_token_admin_done():
        return done
    hint = "Check the worker and beat output above, and /staff/chain/ once signed in as staff."
    _wait(
        "the notes' token", lambda: _open_transactions() == 0, timeout=timeout, poll=poll, pump=pump, hint=hint, say=say
    )
    notes.refresh_from_db()
    with transaction.atomic():
        _notes_sold(team, alice, notes, done)
    _wait(
        "the notes to be minted and posted to the ledger",
        lambda: _notes_held(notes),
        timeout=timeout,
        poll=poll,
        pump=pump,
        hint=hint,
        say=say,
    )
    with transaction.atomic():
        done += demo_token_admin(notes=notes, alice=alice, team=team)
    _wait("the frozen notes on the ledger", _freeze_posted, timeout=timeout, poll=poll, pump=pump, hint=hint, say=say)
    with transaction.atomic():
        done += demo_redemption(notes=notes, alice=alice, team=team)
    _wait(
        "Alice's redemption request to be frozen on-chain",
        demo_redemption_frozen,
        timeout=timeout,
        poll=poll,
        pump=pump,
        hint=hint,
        say=say,
    )
    with transaction.atomic():
        done += demo_token_admin(notes=notes, alice=alice, team=team)
    done += demo_export(notes=notes, team=team)
    return done


def _holders_act(
    team: DemoTeam, *, timeout: float, poll: float, pump: Callable[[], None] | None, say: Callable[[str], None]
) -> list[str]:
    """The revenue shares published, sold to Alice and closed; her transfer of some of them to Bob, through the
    portal, waited for until it is on the register; then the admin's ballot of their holders (demo.holders)."""
    hint = "Check the worker and beat output above, and /staff/chain/ once signed in as staff."
    done = demo_shares_published(team)
    _wait(
        "the shares' token",
        lambda: _open_transactions() == 0,
        timeout=timeout,
        poll=poll,
        pump=pump,
        hint=hint,
        say=say,
    )
    done += demo_shares_sold(team)
    _wait(
        "the shares to be minted and posted to the ledger",
        demo_shares_held,
        timeout=timeout,
        poll=poll,
        pump=pump,
        hint=hint,
        say=say,
    )
    shares = demo_shares()
    assert shares is not None  # published above
    done += demo_transfer_instruct(shares)
    _wait(
        "Alice's transfer to Bob to reach the register",
        demo_transfer_posted,
        timeout=timeout,
        poll=poll,
        pump=pump,
        hint=hint,
        say=say,
    )
    if demo_ballot() is None:
        state = demo_ballot_advance()
        done.append(f"{team.issuer.name}'s admin created a ballot of the shares' holders: {state}.")
        _wait(
            "the ballot's record date on the token",
            lambda: _open_transactions() == 0,
            timeout=timeout,
            poll=poll,
            pump=pump,
            hint=hint,
            say=say,
        )
    return done


def demo_chain(
    *, timeout: float = 240.0, poll: float = 1.0, pump: Callable[[], None] | None = None, say: Callable[[str], None]
) -> DemoChainResult:
    """Run the chain phase. `pump` runs the chain pipeline in this process (tests); without it, workers do."""
    if not Offering.objects.filter(issuer__slug=DEMO_ISSUER_SLUG, title=FUND_TITLE).exists():
        raise DemoChainError("The demo data is not loaded; run `python manage.py demo_seed` first (`make demo` does).")
    rpc = settings.CHAIN_RPC_URL
    _wait(
        f"the chain at {rpc}",
        lambda: bool(node_status(rpc_url=rpc, timeout=2.0).get("ok")),
        timeout=timeout,
        poll=poll,
        pump=None,
        hint="Is anvil running (the `chain` process)? Is CHAIN_PORT free?",
        say=say,
    )
    chain_state_check()
    _contracts_ensure()
    worker_hint = "Check the worker and beat output above, and /staff/chain/ once signed in as staff."
    _wait(
        "a worker to deploy the investor registry and the test stablecoin",
        lambda: _confirmed(_registry()) and _confirmed(portal_stablecoin()),
        timeout=timeout,
        poll=poll,
        pump=pump,
        hint=worker_hint,
        say=say,
    )
    _wait(
        "a worker to deploy the distribution payout contract",
        lambda: _payout_ensure() and _open_transactions() == 0,
        timeout=timeout,
        poll=poll,
        pump=pump,
        hint=worker_hint,
        say=say,
    )
    chain_state_check()

    team = demo_team()
    done: list[str] = []
    first_id = ChainTransaction.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with transaction.atomic():
        alice = _alice_approvals(team, done)
        demo_bob_admitted(team, done)
        units = FAUCET_DOLLARS * 10**settings.STABLECOIN_DECIMALS
        if not ChainTransaction.objects.filter(idempotency_key=FAUCET_KEY).exists():
            stablecoin_faucet(wallet=ALICE.wallet, amount=units, idempotency_key=FAUCET_KEY, actor=team.staff)
            done.append(f"Minted {FAUCET_DOLLARS:,} test stablecoin (TUSD) to Alice's wallet {ALICE.wallet}.")
        fund = demo_fund()
        assert fund is not None  # checked above
        if fund.status == OfferingStatus.DRAFT:
            fund = _opening_not_past(fund, team.admin)
            fund = offering_publish(offering=fund, actor=team.admin)
            done.append(f"{team.issuer.name} published “{fund.title}”; its token {fund.token_symbol} is deploying.")
    for line in done:
        say(f"  {line}")
    _wait(
        "the worker to send and confirm the demo's transactions",
        lambda: _open_transactions() == 0,
        timeout=timeout,
        poll=poll,
        pump=pump,
        hint=worker_hint,
        say=say,
    )
    fund.refresh_from_db()
    _wait(
        f"the fund's reserve feed and reserve-guarded minter (only the minter mints {fund.token_symbol})",
        lambda: _reserve_guard_ready(fund),
        timeout=timeout,
        poll=poll,
        pump=pump,
        hint=worker_hint,
        say=say,
    )
    done.append(
        f"{fund.token_symbol} mints only through its reserve-guarded minter, which reads the attested reserves "
        "from the token's reserve feed on-chain."
    )
    say(f"  {done[-1]}")
    dividend = demo_dividend(team, fund)
    if dividend is not None:
        say(f"  {team.issuer.name} declared a dividend on {fund.token_symbol}; the token schedules its record date.")
        _wait(
            "the worker to schedule the dividend's record date on the token",
            lambda: _open_transactions() == 0,
            timeout=timeout,
            poll=poll,
            pump=pump,
            hint=worker_hint,
            say=say,
        )
    _nav_oracle(team, fund, done, timeout=timeout, poll=poll, pump=pump, say=say)
    failed = _failed_since(first_id)
    if failed:
        names = "; ".join(f"{tx.purpose}: {tx.error_name or tx.last_error or 'failed'}" for tx in failed)
        raise DemoChainError(f"Some demo transactions failed ({names}). See /staff/chain/ for details.")
    chain_state_check()

    registry, coin = _registry(), portal_stablecoin()
    token = ContractDeployment.objects.filter(
        chain_id=settings.CHAIN_ID, kind=ContractKind.SECURITY_TOKEN, owner_ref=fund.owner_ref
    ).first()
    if registry is None or coin is None or token is None or not token.address:
        raise DemoChainError("The fund's token was not deployed; see /staff/chain/.")
    state = registry_wallet_states(investor_ref=alice.reference).get(ALICE.wallet)
    on_chain = _view("InvestorRegistry", registry.address, "isVerified", ALICE.wallet)
    if state is None or state.state != RegistrationState.CONFIRMED or not on_chain:
        raise DemoChainError(f"Alice's wallet {ALICE.wallet} is not verified on the registry; see /staff/chain/.")
    balance = int(_view("TestStablecoin", coin.address, "balanceOf", ALICE.wallet))  # type: ignore[call-overload]
    for line in _register(team, timeout=timeout, poll=poll, pump=pump, say=say):
        done.append(line)
        say(f"  {line}")
    for line in _holders_act(team, timeout=timeout, poll=poll, pump=pump, say=say):
        done.append(line)
        say(f"  {line}")
    coupon_line = _coupon_declared(team)
    if coupon_line:
        done.append(coupon_line)
        say(f"  {coupon_line}")
        _wait(
            "the worker to schedule the coupon's record date on the notes",
            lambda: _open_transactions() == 0,
            timeout=timeout,
            poll=poll,
            pump=pump,
            hint=worker_hint,
            say=say,
        )
    for offering in Offering.objects.filter(issuer=team.issuer).order_by("pk"):
        _reconciliation(offering, done, say)
    return DemoChainResult(
        registry=registry.address,
        stablecoin=coin.address,
        token=token.address,
        offering=fund,
        alice_wallet=ALICE.wallet,
        alice_stablecoin=balance,
        done=done,
        dividend=Distribution.objects.filter(offering=fund).order_by("pk").first(),
        coupon=demo_coupon_of(),
        transfer=demo_transfer(),
    )


# The administrator's NAV of the fund for today, published on its feed (8 decimals, as the NAV is declared).
NAV_ORACLE_ANSWER = 100_33150000
NAV_ORACLE_KEY = "demo:nav-oracle:1"


def _nav_oracle(
    team: DemoTeam,
    fund: Offering,
    done: list[str],
    *,
    timeout: float,
    poll: float,
    pump: Callable[[], None] | None,
    say: Callable[[str], None],
) -> None:
    """The fund's NAV oracle: the administrator's feed (played by the portal's attestor key) deployed, named by the
    admin and approved by finance@, one round published for today and read into the NAV history, next to the
    points entered from documents."""
    if NavPoint.objects.filter(offering=fund).exclude(oracle_address="").exists():
        return
    worker_hint = "Check the worker output above, and /staff/chain/ once signed in as staff."

    def confirmed() -> bool:
        return _open_transactions() == 0

    if nav_feed_of(fund.owner_ref) is None:
        nav_feed_deploy(
            owner_ref=fund.owner_ref,
            decimals=8,
            description=f"{DEMO_ADMINISTRATOR}: NAV per unit of {fund.token_symbol} (USD)",
            actor=team.staff,
        )
    _wait(
        "the worker to deploy the fund's NAV feed",
        confirmed,
        timeout=timeout,
        poll=poll,
        pump=pump,
        hint=worker_hint,
        say=say,
    )
    feed = nav_feed_of(fund.owner_ref)
    if feed is None or not _confirmed(feed):
        raise DemoChainError("The fund's NAV feed was not deployed; see /staff/chain/.")
    if not ChainTransaction.objects.filter(idempotency_key=NAV_ORACLE_KEY).exists():
        # Struck now, as the chain's clock has it too (a round's time is never ahead of its block).
        as_of = min(timezone.now(), chain_head_time()).replace(microsecond=0)
        nav_feed_publish(
            owner_ref=fund.owner_ref,
            nav_per_unit=NAV_ORACLE_ANSWER,
            as_of=as_of,
            idempotency_key=NAV_ORACLE_KEY,
            actor=team.staff,
        )
    _wait(
        "the worker to publish the fund's NAV on its feed",
        confirmed,
        timeout=timeout,
        poll=poll,
        pump=pump,
        hint=worker_hint,
        say=say,
    )
    if not NavOracle.objects.filter(offering=fund).exists():
        request = nav_oracle_change_pending(offering=fund) or nav_oracle_propose(
            offering=fund, address=feed.address, actor=team.admin
        )
        approval_approve(request=request, actor=demo_user("finance@harborstreet.example"))
    nav_oracle_read(offering_id=fund.pk)  # the worker may have read it first, once the approval committed
    point = NavPoint.objects.filter(offering=fund, oracle_address=feed.address).first()
    if point is None:
        raise DemoChainError(f"The fund's NAV oracle {feed.address} was read but its round was not recorded.")
    line = (
        f"“{fund.title}”: NAV oracle {feed.address} named by the admin and approved by finance@; its round "
        f"{point.oracle_round_id} is the NAV of {point.dealing_day:%d %B %Y} in the fund's history."
    )
    done.append(line)
    say(f"  {line}")


def _dividend_lines(result: DemoChainResult, desk: str) -> list[str]:
    dividend = result.dividend
    if dividend is None:
        return []
    per_unit = Money(dividend.amount_minor, dividend.currency)
    return [
        f"     A dividend of {per_unit} per unit is declared, record date {dividend.record_date:%d %B %Y}:",
        f"     {desk}/offerings/{result.offering.public_id}/distributions/ — after the record date admin@ computes",
        "     its register and asks for approval; finance@ approves it.",
    ]


COUPON_TREASURY_KEY = "demo:faucet:treasury-coupon"


def _notes() -> Offering | None:
    return Offering.objects.filter(issuer__slug=DEMO_ISSUER_SLUG, title=NOTES_TITLE).first()


def demo_coupon_of() -> Distribution | None:
    notes = _notes()
    return Distribution.objects.filter(offering=notes).order_by("pk").first() if notes is not None else None


def _coupon_declared(team: DemoTeam) -> str:
    """Once the notes are held: their first coupon declared, and the treasury funded with its gross."""
    notes = _notes()
    if notes is None or not _notes_held(notes):
        return ""
    with transaction.atomic():
        coupon = demo_coupon(team, notes)
        if coupon is None:
            return ""
        held = sum(wallet_balances(offering=notes).values())
        units = held * COUPON_PER_NOTE_MINOR * 10 ** (settings.STABLECOIN_DECIMALS - 2)
        stablecoin_faucet(wallet=payout_treasury(), amount=units, idempotency_key=COUPON_TREASURY_KEY, actor=team.staff)
    return (
        f"{team.issuer.name} declared the notes' first coupon, {Money(COUPON_PER_NOTE_MINOR, notes.currency)} per "
        f"note, record date {timezone.localtime(coupon.record_at):%H:%M} UTC; the treasury holds its gross in TUSD."
    )


def demo_coupon_advance(*, now: dt.datetime | None = None) -> str:
    """The demo's coupon, carried on as its people would: after the record date its register is computed, the
    admin asks for approval and the second admin approves; the payment runs (beat and worker) pay it. Returns
    the coupon's state (or what it waits for); run it again until it says paid."""
    coupon = demo_coupon_of()
    if coupon is None:
        return "no coupon"
    now = now or timezone.now()
    team = demo_team()
    if coupon.state == DistributionState.DRAFT and not coupon.register_ready:
        client = chain_client()
        head = client.block(client.block_number())
        if head is None or head["timestamp"] <= int(coupon.record_at.timestamp()):
            if now <= coupon.record_at or settings.CHAIN_ID != LOCAL_CHAIN_ID:
                return "waiting for the record date"
            # A local anvil makes a block only when sent something: blocks past the record date, to final depth.
            client.rpc("anvil_mine", [hex(max(int(settings.CHAIN_CONFIRMATIONS), 1) + 1)])
        try:
            coupon = distribution_register_compute(distribution=coupon, actor=team.admin)
        except ApplicationError as exc:
            return exc.message
    if coupon.state == DistributionState.DRAFT and coupon.register_ready:
        with transaction.atomic():
            outcome = distribution_propose(distribution=coupon, actor=team.admin)
            if outcome.request is not None and outcome.pending:
                approval_approve(request=outcome.request, actor=demo_user("finance@harborstreet.example"))
        coupon.refresh_from_db()
    return str(coupon.state)


def _coupon_lines(result: DemoChainResult, desk: str) -> list[str]:
    coupon = result.coupon
    if coupon is None:
        return []
    return [
        f"     The notes' first coupon ({Money(coupon.amount_minor, coupon.currency)} per note) has its record date at "
        f"{timezone.localtime(coupon.record_at):%H:%M} UTC. This process then has its register computed, admin@ ask "
        "for approval and finance@ approve it; the payment runs pay Alice in TUSD. Follow it live:",
        f"     {desk}/distributions/{coupon.public_id}/",
    ]


def _holders_lines(result: DemoChainResult, url: str) -> list[str]:
    transfer = result.transfer
    if transfer is None:
        return []
    shares = transfer.offering
    desk = f"{url}/issuers/{DEMO_ISSUER_SLUG}"
    ballot = demo_ballot()
    lines = [
        f"  Holders act on “{shares.title}” (Regulation A Tier 2, no lock-up): Alice bought 1,000 and transferred "
        f"{transfer.quantity:,} {shares.token_symbol} to Bob from her portfolio (confirmed with her authenticator "
        f"code, sent from her custody wallet); alice's and bob's {url}/portfolio/ show it, and the journal "
        f"{desk}/registry/{shares.public_id}/journal/ records it.",
    ]
    if ballot is not None:
        lines.append(
            f"     Ballot “{ballot.question}”: record date {timezone.localtime(ballot.record_at):%H:%M} UTC, "
            f"voting until {timezone.localtime(ballot.closes_at):%H:%M} UTC. This process has Alice and Bob vote; "
            f"once it closes the tally is at {desk}/ballots/{ballot.public_id}/ (bob → {url}/portfolio/votes/)."
        )
    return lines


def cap_table_lines(fund: Offering, url: str) -> list[str]:
    """Where the closing's holders show: the cap table, once the mints are final and posted to the ledger."""
    cap_table = f"{url}/issuers/{DEMO_ISSUER_SLUG}/offerings/{fund.public_id}/cap-table/"
    return [
        f"     admin (or agent@ledgertransfer.example, read-only) → {cap_table}: Alice as a holder of record, "
        "her share of the class, lock-up, the 12(g) counts and the charts; her row opens her lots and wallets.",
    ]


def _reconciliation(fund: Offering, done: list[str], say: Callable[[str], None]) -> None:
    """The fund's first reconciliation (the hourly beat does the next): control book, supply and ledger."""
    if Reconciliation.objects.filter(offering=fund).exists():
        return
    run = reconcile(offering=fund)
    if run is None:
        return
    line = (
        f"Reconciled {fund.token_symbol}: {run.authorized if run.authorized is not None else 'no'} units authorized, "
        f"{run.issued} issued, {run.on_chain_supply} on-chain, {run.ledger_total} on the ledger."
    )
    done.append(line)
    say(f"  {line}")


def ready_lines(result: DemoChainResult, url: str) -> list[str]:
    fund = result.offering
    cur = fund.currency
    decimals = 10**settings.STABLECOIN_DECIMALS
    desk = f"{url}/issuers/{DEMO_ISSUER_SLUG}"
    status = fund.get_status_display().lower()
    if fund.status == OfferingStatus.OPEN:
        status = f"open until {fund.closes_at:%d %B %Y}"
    return [
        f"Offering: {fund.title} ({fund.get_exemption_display()}), {status}",
        f"  {url}/offerings/{fund.public_id}/",
        f"  {Money(fund.price_minor, cur)} per unit, minimum {Money(fund.min_investment_minor, cur)}, "
        f"soft cap {Money(fund.soft_cap_minor, cur)}, hard cap {Money(fund.hard_cap_minor, cur)}",
        f"Chain {settings.CHAIN_RPC_URL}: registry {result.registry}",
        f"  token {fund.token_symbol} {result.token}, test stablecoin TUSD {result.stablecoin}",
        f"Alice's wallet {result.alice_wallet}: verified on-chain, {result.alice_stablecoin // decimals:,} TUSD",
        "",
        "Try:",
        f"  1. alice@investor.example → {url}/offerings/ → {fund.title} → Subscribe "
        f"{Money(fund.soft_cap_minor, cur)} (the soft cap) → sign → pay by bank wire; note the wire reference.",
        f"  2. admin@harborstreet.example (code: `make otp`) → {desk}/wires/ → record the wire (that reference, "
        "the amount and the bank's reference of the wire); it waits for a second admin.",
        f"     finance@harborstreet.example → {desk}/approvals/ → approve it: the wire is booked.",
        f"  3. Same admin → {desk}/offerings/{fund.public_id}/dashboard/ → Close offering: the units are minted.",
        f"  4. alice → {url}/portfolio/: the units, their lock-up and the mint transaction.",
        *cap_table_lines(fund, url),
        f"  Transparency, public (no sign-in): {url}/transparency/{fund.public_id}/ — supply on-chain against the "
        "attested reserves, the attestation's PDF and SHA-256, the contract's controls, the NAV per unit with each "
        "point's document or oracle round; the offering page links to it and charts the fund's NAV per unit.",
        f"  NAV: admin@harborstreet.example → {desk}/offerings/{fund.public_id}/backing/nav/ — the fund "
        "administrator's oracle (its contract, last round read) and its points next to those entered from documents.",
        *_dividend_lines(result, desk),
        *_coupon_lines(result, desk),
        *_holders_lines(result, url),
        f"  5. bob@investor.example → {url}/offerings/{fund.public_id}/: told why he cannot subscribe (506(c) needs "
        f"verified accreditation); {url}/portfolio/ shows the revenue shares Alice transferred to him.",
        f"  6. alice → {url}/portfolio/ → Transfer on the revenue shares: a wallet that is not an investor's is"
        " refused with the portal's and the token's reasons; Bob's goes through after her authenticator code.",
        f"  7. finance@harborstreet.example → {desk}/approvals/ → approve the recovery of Alice's {NOTES_TITLE} to "
        "her new custody wallet (proposed by the admin with the custodian's notice); the notes' Token administration "
        "tab follows it to the ledger and shows the 100 notes frozen as collateral.",
        f"  8. alice → {url}/portfolio/redemptions/: her request to redeem 50 {NOTES_TITLE} waits, frozen, for the "
        "quarter's dealing day (she can cancel it until the cut-off); admin@ follows the dealing day from the "
        "notes' Redemptions tab, enters its price after the cut-off and asks finance@ to approve the burn and payout.",
        f"  9. admin@harborstreet.example → {desk}/exports/: the notes' master securityholder file is ready to "
        "download; ask for the journal, the control book or the cap table as an Open Cap Format package.",
        f"  Staff: {url}/staff/chain/ lists every chain transaction; {url}/health/ shows each process.",
    ]
