from __future__ import annotations

import datetime as dt

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from backing.models import BackingProfile, BackingRule, NavPoint, ReserveStatement, StatementState
from compliance.models import SanctionsList
from compliance.services.sanctions import active_list
from core.access import has_mfa
from core.audit import audit_chain_verify
from core.models import ApiToken, AuditEvent, Invitation, IssuerMembership, User
from demo.chain import FAUCET_DOLLARS, demo_chain, demo_coupon_advance
from demo.holders import BALLOT_QUESTION, SHARES_TITLE, demo_ballot, demo_ballot_advance
from demo.seed import (
    ALICE,
    ALICE_NEW_WALLET,
    ALICE_WALLET,
    BOB_WALLET,
    DEMO_API_TOKEN,
    DEMO_INVITEE,
    DEMO_LOGINS,
    DEMO_PASSWORD,
    FUND_TITLE,
    NOTES_TITLE,
)
from distributions.services.paying import distribution_pay_on_chain
from governance.models import Vote
from investors.models import (
    AccreditationStatus,
    InvestorDocument,
    InvestorProfile,
    KycStatus,
    RegistryState,
    ScreeningStatus,
    WalletKind,
)
from offerings.models import DocumentKind, Offering, OfferingDocument, OfferingStatus
from offerings.services.closing import closings_advance
from redemptions.models import DealingState, RedemptionRequest, RedemptionTerms, RequestState
from redemptions.services.requesting import redemption_requests_advance
from registry.models import ExportJob, ExportState, LedgerPosting, TokenAdminAction, TokenAdminKind, TokenAdminState
from registry.selectors.ledger import restrictions, wallet_balances
from registry.tasks import ledger_sync_task
from tokens.chain.abi import decode_result, encode_call
from tokens.chain.signer import signing_allowed
from tokens.flags import InvestorFlag
from tokens.indexer import chain_index
from tokens.models import ChainTransaction, ContractDeployment, ContractKind, TxStatus
from tokens.outbox import chain_client, outbox_flush, outbox_watch
from tokens.selectors import reserve_feed_latest
from tokens.services import MINTER_ROLE
from tokens.tasks import chain_bootstrap_task
from transfers.models import Custody, TransferState


@pytest.mark.django_db
def test_demo_data_loads_twice_without_changing_anything_the_second_time(
    capsys: pytest.CaptureFixture[str], settings, tmp_path
) -> None:
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    call_command("demo_seed")
    first = capsys.readouterr().out
    counts = _counts()
    call_command("demo_seed")
    second = capsys.readouterr().out
    assert _counts() == counts
    assert "Loaded the OFAC fixture list" in first and "nothing to change" in second
    for login in DEMO_LOGINS:
        assert login.email in first and login.email in second
        user = User.objects.get(email=login.email)
        assert user.check_password(DEMO_PASSWORD)
        assert EmailAddress.objects.get(user=user).verified
        assert has_mfa(user) == login.mfa
    assert (User.objects.count(), IssuerMembership.objects.count()) == (8, 4)
    # The transfer agent's printed API token reads the registers; it was made once.
    assert DEMO_API_TOKEN in first and DEMO_API_TOKEN in second and ApiToken.objects.count() == 1
    api = Client(HTTP_AUTHORIZATION=f"Token {DEMO_API_TOKEN}").get("/api/v1/registry/issuers/")
    assert api.status_code == 200 and api.json()[0]["slug"] == "harbor-street"
    # Identity is decided by a platform compliance person, who holds no issuer role.
    identity = User.objects.get(email="identity@tessera.local")
    assert identity.platform_compliance and not identity.memberships.exists()
    sanctions = active_list()
    assert sanctions is not None and sanctions.entries > 0

    # Both investors finished onboarding and wait for platform compliance; Alice with a CPA's letter.
    alice = InvestorProfile.objects.get(user__email=ALICE.email)
    bob = InvestorProfile.objects.get(user__email="bob@investor.example")
    for investor, wallet in ((alice, ALICE_WALLET), (bob, BOB_WALLET)):
        assert investor.kyc_status == KycStatus.PENDING and investor.screening_status == ScreeningStatus.CLEAR
        assert investor.screened_at is not None and investor.tax_forms.count() == 1
        assert list(investor.wallets.values_list("address", "kind")) == [(wallet, WalletKind.CUSTODIAL)]
        assert investor.applications.get().issuer.slug == "harbor-street"
    assert alice.accreditation_claims.get().status == AccreditationStatus.PENDING
    assert not bob.accreditation_claims.exists()
    assert alice.registry_state == RegistryState.NONE  # the chain phase approves her

    fund = Offering.objects.get(title=FUND_TITLE)
    notes = Offering.objects.get(title=NOTES_TITLE)
    assert fund.status == notes.status == OfferingStatus.DRAFT and fund.accreditation_verified
    assert {d.kind for d in fund.documents.all()} == {DocumentKind.PPM, DocumentKind.SUBSCRIPTION_AGREEMENT}
    for document in fund.documents.all():
        assert document.file.open("rb").read(5) == b"%PDF-"
    assert not ChainTransaction.objects.exists()  # nothing here needs the chain
    assert audit_chain_verify().ok

    # The fund's backing: described, its rule and its reserves attested and approved by the second admin, and
    # the NAV of its last six dealing Fridays, each approved.
    finance = User.objects.get(email="finance@harborstreet.example")
    assert BackingProfile.objects.get(offering=fund).redemption_terms
    assert BackingRule.objects.get(offering=fund).updated_by == finance
    statement = ReserveStatement.objects.get(offering=fund)
    assert statement.state == StatementState.APPROVED and statement.approved_by == finance
    assert statement.total_amount == 3_250_000_00 and statement.document.open("rb").read(5) == b"%PDF-"
    navs = list(NavPoint.objects.filter(offering=fund).order_by("dealing_day"))
    assert len(navs) == 6 and all(p.state == StatementState.APPROVED and p.approved_by == finance for p in navs)
    assert [p.dealing_day.weekday() for p in navs] == [4] * 6 and navs[-1].nav_per_unit == 100_304_12500

    # One invitation waits on the team page; the invitee has no account until they accept it.
    invited = Invitation.objects.get(email=DEMO_INVITEE)
    assert invited.accepted_at is None and invited.revoked_at is None and not User.objects.filter(email=DEMO_INVITEE)
    admin = Client()
    admin.force_login(User.objects.get(email="admin@harborstreet.example"))
    team = admin.get("/issuers/harbor-street/team/").content.decode()
    assert "Open invitations" in team and DEMO_INVITEE in team


def _counts() -> tuple[int, ...]:
    return (
        User.objects.count(),
        AuditEvent.objects.count(),
        InvestorDocument.objects.count(),
        OfferingDocument.objects.count(),
        Offering.objects.count(),
        SanctionsList.objects.count(),
        Invitation.objects.count(),
    )


def _pump() -> None:
    """One pass of what the workers and the beat do: sign and send what is queued, confirm what was mined,
    carry closings on, index the chain and post it to the ledger."""
    with signing_allowed():
        for sender in set(ChainTransaction.objects.filter(status=TxStatus.PENDING).values_list("sender", flat=True)):
            outbox_flush(chain_id=31337, sender=sender)
        outbox_watch(chain_id=31337)
        closings_advance()
        chain_index(client=chain_client(), chain_id=31337)
        ledger_sync_task()
        redemption_requests_advance()


@pytest.fixture
def demo_chain_settings(anvil_node, settings, tmp_path):
    snapshot = anvil_node.rpc("evm_snapshot")
    settings.CHAIN_RPC_URL = anvil_node.rpc_url
    settings.CHAIN_ID = 31337
    settings.CHAIN_CONFIRMATIONS = 1
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    yield anvil_node
    anvil_node.rpc("evm_revert", [snapshot])


def _view(contract: str, address: str, function: str, *args: object) -> object:
    data = chain_client().call({"to": address, "data": "0x" + encode_call(contract, function, list(args)).hex()})
    return decode_result(contract, function, data)[0]


@pytest.mark.chain
@pytest.mark.django_db
def test_demo_chain_phase_verifies_alice_and_deploys_the_fund_then_queues_nothing(demo_chain_settings, capsys) -> None:
    call_command("demo_seed")
    chain_bootstrap_task()  # what the demo's worker does when it starts
    result = demo_chain(timeout=60, poll=0.05, pump=_pump, say=lambda line: None)

    alice = InvestorProfile.objects.get(user__email=ALICE.email)
    assert alice.kyc_status == KycStatus.APPROVED and alice.registry_state == RegistryState.SYNCED
    registry = ContractDeployment.objects.get(kind=ContractKind.REGISTRY)
    assert _view("InvestorRegistry", registry.address, "isVerified", ALICE_WALLET) is True
    # Bob's identity is approved (not accredited) and Harbor Street admitted him: he may hold the 506(b) notes.
    bob = InvestorProfile.objects.get(user__email="bob@investor.example")
    assert bob.kyc_status == KycStatus.APPROVED and bob.applications.get().status == "admitted"
    assert _view("InvestorRegistry", registry.address, "isVerified", BOB_WALLET) is True
    assert alice.registry_snapshot is not None
    flags = InvestorFlag(alice.registry_snapshot["flags"])
    assert InvestorFlag.KYC in flags and InvestorFlag.ACCREDITED in flags

    fund = Offering.objects.get(title=FUND_TITLE)
    assert fund.status == OfferingStatus.OPEN and result.offering == fund
    token = ContractDeployment.objects.get(kind=ContractKind.SECURITY_TOKEN, owner_ref=fund.owner_ref)
    assert token.address == result.token
    assert chain_client().rpc("eth_getCode", [token.address, "latest"])["result"] not in ("0x", "")
    assert _view("SecurityToken", token.address, "symbol") == "HSLF1"
    # The fund has a backing rule, so it mints only through its reserve-guarded minter, which reads the feed.
    minter = ContractDeployment.objects.get(kind=ContractKind.RESERVE_MINTER, owner_ref=fund.owner_ref)
    assert _view("SecurityToken", token.address, "hasRole", MINTER_ROLE, minter.address) is True
    assert _view("SecurityToken", token.address, "hasRole", MINTER_ROLE, settings.CHAIN_SENDERS["agent"]) is False
    report = reserve_feed_latest(owner_ref=fund.owner_ref)
    assert report is not None and report.reserve > 0
    assert result.alice_stablecoin == FAUCET_DOLLARS * 10**6
    # The fund's first dividend is declared and its record date scheduled on the token.
    assert result.dividend is not None and result.dividend.offering == fund
    assert result.dividend.record_transaction is not None
    assert result.dividend.record_transaction.status == TxStatus.CONFIRMED
    assert not ChainTransaction.objects.exclude(status=TxStatus.CONFIRMED).exists()

    # The notes closed with Alice as their holder; 100 of her notes are frozen on the ledger, and a recovery of
    # her wallet to a new custody wallet waits for the second admin.
    notes = Offering.objects.get(title=NOTES_TITLE)
    assert notes.status == OfferingStatus.CLOSED
    # Alice bought 1,000 of the revenue shares (Regulation A Tier 2: no lock-up) and transferred 250 of them to
    # Bob from her portfolio: checked, confirmed with her authenticator code, sent by the portal from her
    # custodial wallet and posted to the register.
    shares = Offering.objects.get(title=SHARES_TITLE)
    assert shares.status == OfferingStatus.CLOSED and shares.lockup_seconds == 0
    transfer = result.transfer
    assert transfer is not None and (transfer.state, transfer.custody) == (TransferState.POSTED, Custody.CUSTODIAL)
    assert (transfer.from_wallet, transfer.to_wallet, transfer.quantity) == (ALICE_WALLET, BOB_WALLET, 250)
    assert transfer.to_investor == bob and transfer.step_up_at is not None
    assert (transfer.checked["reasons"], transfer.checked["token_code"]) == ([], 0)
    assert transfer.chain_transaction is not None and transfer.chain_transaction.status == TxStatus.CONFIRMED
    tx_hash = transfer.chain_transaction.tx_hash
    assert tx_hash is not None
    assert wallet_balances(offering=shares) == {ALICE_WALLET: 750, BOB_WALLET: 250}
    posting = LedgerPosting.objects.get(offering=shares, transaction_hash=tx_hash)
    assert (posting.from_wallet, posting.to_wallet, posting.quantity, posting.via_portal) == (
        ALICE_WALLET,
        BOB_WALLET,
        250,
        True,
    )
    for email, shown in ((ALICE.email, "750"), ("bob@investor.example", "250")):
        holder = Client()
        holder.force_login(User.objects.get(email=email))
        portfolio = holder.get("/portfolio/").content.decode()
        assert SHARES_TITLE in portfolio and shown in portfolio
        assert tx_hash[:10] in portfolio
    agent = Client()
    agent.force_login(User.objects.get(email="agent@ledgertransfer.example"))
    journal = agent.get(f"/issuers/harbor-street/registry/{shares.public_id}/journal/").content.decode()
    assert "Alice" in journal and "Bob Tanaka" in journal and str(transfer.public_id) in journal
    assert tx_hash[:10] in journal
    # 100 pledged as collateral and 50 in Alice's redemption request, which waits for the quarter's dealing day.
    assert restrictions(offering=notes).frozen_amounts == {ALICE_WALLET: 150}
    redemption = RedemptionRequest.objects.get(offering=notes)
    assert (redemption.state, redemption.quantity, redemption.wallet) == (RequestState.PENDING, 50, ALICE_WALLET)
    assert redemption.dealing_day.state == DealingState.OPEN and redemption.dealing_day.cutoff_at > timezone.now()
    assert RedemptionTerms.objects.get(offering=notes).lockups_apply is False
    holder = Client()
    holder.force_login(User.objects.get(email=ALICE.email))
    window = holder.get("/portfolio/redemptions/").content.decode()
    assert f"Redeem {notes.token_symbol}" in window and "Frozen in your wallet" in window
    assert "Cancel this request" in window
    recovery = TokenAdminAction.objects.get(kind=TokenAdminKind.RECOVERY)
    assert recovery.state == TokenAdminState.PROPOSED and recovery.to_wallet == ALICE_NEW_WALLET
    assert recovery.approval is not None and recovery.approval.state == "pending" and recovery.document_sha256
    assert TokenAdminAction.objects.get(kind=TokenAdminKind.FREEZE_AMOUNT).state == TokenAdminState.POSTED
    # The exports page has one finished export: the notes' master file, Alice's one holding.
    export = ExportJob.objects.get(offering=notes, exporter="master_file")
    assert (export.state, export.rows_done, export.format) == (ExportState.DONE, 1, "xlsx") and export.file

    # Again, as `make demo` does on every start: nothing new is queued or audited.
    counts = (ChainTransaction.objects.count(), AuditEvent.objects.count())
    call_command("demo_seed")
    call_command("demo_chain", url="http://127.0.0.1:8311", timeout=10)
    assert (ChainTransaction.objects.count(), AuditEvent.objects.count()) == counts
    out = capsys.readouterr().out
    assert "Demo ready" in out and f"http://127.0.0.1:8311/offerings/{fund.public_id}/" in out
    assert f"http://127.0.0.1:8311/transparency/{fund.public_id}/" in out
    # The fund's transparency page: public, with its attested reserves and its contract's controls read from the
    # chain; the offering page leads to it and charts the NAV.
    page = Client().get(f"/transparency/{fund.public_id}/").content.decode()
    assert "3,250,000.00 USD" in page and "Moss &amp; Calder LLP" in page and "Pause all transfers" in page
    assert token.address in page
    reader = Client()
    reader.force_login(User.objects.get(email=ALICE.email))
    offering_page = reader.get(f"/offerings/{fund.public_id}/").content.decode()
    assert f"/transparency/{fund.public_id}/" in offering_page and 'id="nav-chart"' in offering_page
    # The fund's NAV oracle (the administrator's feed) published today's NAV, next to the points from documents.
    oracle_point = NavPoint.objects.get(offering=fund, state="approved", oracle_round_id="1")
    assert oracle_point.nav_per_unit == 100_33150000 and oracle_point.dealing_day <= timezone.localdate()
    assert NavPoint.objects.filter(offering=fund, oracle_address="").count() == 6
    assert ", round 1" in page and "100.33150000 USD" in page
    issuer_admin = Client()
    issuer_admin.force_login(User.objects.get(email="admin@harborstreet.example"))
    nav_page = issuer_admin.get(f"/issuers/harbor-street/offerings/{fund.public_id}/backing/nav/").content.decode()
    assert (
        'id="nav-oracle"' in nav_page and oracle_point.oracle_address in nav_page and "read from the oracle" in nav_page
    )
    assert "verified on-chain, 100,000 TUSD" in out
    assert audit_chain_verify().ok

    # The notes' first coupon: declared with the payout contract deployed and the treasury funded; after its
    # record date it is computed, asked for and approved by the second admin, and paid to Alice in TUSD.
    coupon = result.coupon
    assert coupon is not None and coupon.payment_method == "stablecoin"
    assert ContractDeployment.objects.get(kind=ContractKind.DISTRIBUTION_PAYOUT).address
    assert demo_coupon_advance() == "waiting for the record date"
    anvil = demo_chain_settings
    anvil.rpc("evm_setNextBlockTimestamp", [int(coupon.record_at.timestamp()) + 1])
    anvil.rpc("evm_mine")
    for _ in range(3):
        _pump()
    assert demo_coupon_advance(now=coupon.record_at) == "approved"
    coupon.refresh_from_db()
    assert coupon.approved_by == User.objects.get(email="finance@harborstreet.example")
    coin = ContractDeployment.objects.get(kind=ContractKind.STABLECOIN)
    before = int(_view("TestStablecoin", coin.address, "balanceOf", ALICE_WALLET))  # type: ignore[call-overload]
    for _ in range(3):
        distribution_pay_on_chain(distribution_id=coupon.pk, today=coupon.payment_date)
        _pump()
    coupon.refresh_from_db()
    assert coupon.state == "paid"
    after = int(_view("TestStablecoin", coin.address, "balanceOf", ALICE_WALLET))  # type: ignore[call-overload]
    assert after - before == coupon.total_net_minor * 10**4 and coupon.total_net_minor > 0
    assert audit_chain_verify().ok

    # The ballot of the shares' holders, created by the admin in the chain phase: its voting power read after
    # its record date, Alice and Bob vote, and after the close the results page shows the tally in shares and
    # in holders.
    ballot = demo_ballot()
    assert ballot is not None and ballot.created_by == User.objects.get(email="admin@harborstreet.example")
    assert ballot.record_transaction is not None and ballot.record_transaction.status == TxStatus.CONFIRMED
    head = chain_client().block(chain_client().block_number())
    assert head is not None
    anvil.rpc("evm_setNextBlockTimestamp", [max(int(ballot.record_at.timestamp()) + 1, head["timestamp"] + 1)])
    anvil.rpc("evm_mine")
    _pump()
    assert demo_ballot_advance(now=ballot.record_at + dt.timedelta(seconds=2)) == "open, Alice and Bob voted"
    assert sorted(Vote.objects.filter(ballot=ballot).values_list("power", "option__label")) == [
        (250, "Against"),
        (750, "For"),
    ]
    assert demo_ballot_advance(now=ballot.closes_at) == "closed"
    ballot.refresh_from_db()
    assert (ballot.total_power, ballot.power_voted, ballot.holders_voted, ballot.quorum_met) == (1000, 1000, 2, True)
    counts = (Vote.objects.count(), AuditEvent.objects.count())
    assert demo_ballot_advance(now=ballot.closes_at) == "closed"  # counted once
    assert (Vote.objects.count(), AuditEvent.objects.count()) == counts
    admin_client = Client()
    admin_client.force_login(User.objects.get(email="admin@harborstreet.example"))
    results = admin_client.get(f"/issuers/harbor-street/ballots/{ballot.public_id}/").content.decode()
    assert BALLOT_QUESTION in results and "1,000 of 1,000 HSSRS voted (100.00%), by 2 of 2 holders" in results
    assert ">750 HSSRS<" in results and ">250 HSSRS<" in results and "Against" in results
    assert audit_chain_verify().ok


@pytest.mark.chain
@pytest.mark.django_db
def test_demo_chain_phase_says_what_to_do_when_the_chain_state_was_lost(demo_chain_settings) -> None:
    call_command("demo_seed")
    chain_bootstrap_task()
    demo_chain(timeout=60, poll=0.05, pump=_pump, say=lambda line: None)
    # The registry's code gone, the database kept: as after deleting var/anvil-state.json.
    registry = ContractDeployment.objects.get(kind=ContractKind.REGISTRY)
    demo_chain_settings.rpc("anvil_setCode", [registry.address, "0x"])
    with pytest.raises(CommandError, match=r"no contract there.*make demo-reset"):
        call_command("demo_chain", timeout=5)


@pytest.mark.chain
@pytest.mark.django_db
def test_demo_chain_phase_funds_an_agent_pool_and_makes_it_agent_of_every_contract(
    demo_chain_settings, settings
) -> None:
    pool = list(settings.ANVIL_DEV_POOL)[:2]  # anvil's accounts 10 and 11: not funded by anvil itself
    settings.CHAIN_AGENT_POOL = pool
    call_command("demo_seed")
    chain_bootstrap_task()
    result = demo_chain(timeout=60, poll=0.05, pump=_pump, say=lambda line: None)
    registry = ContractDeployment.objects.get(kind=ContractKind.REGISTRY)
    for address in pool:
        assert _view("InvestorRegistry", registry.address, "isAgent", address) is True
        assert _view("SecurityToken", result.token, "isAgent", address) is True
        assert int(chain_client().rpc("eth_getBalance", [address, "latest"])["result"], 16) > 0
    assert not ChainTransaction.objects.filter(status=TxStatus.FAILED).exists()
