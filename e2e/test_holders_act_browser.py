"""Holders act, in the browser: Alice starts a transfer from her portfolio to a mistyped wallet, reads why it cannot go
on both sides (the portal's rules and the token's answer), fixes the recipient to Carol's wallet and signs it in her
own wallet; Carol's portfolio shows the tokens. Then an issuer admin creates a ballot, Alice and Bob vote, and the
results page shows the tally counted at the record date.

The chain is a real anvil; Alice's browser has an EIP-1193 provider injected whose transactions her dev account
sends (as a wallet extension would), and the test does what the beat does between steps (index, post, count) and
moves the clocks (the chain's past the record date, the ballot's times as the portal's clock would reach them).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from compliance.exemptions import Exemption
from core.tests.words import page_problems
from governance.models import Ballot, BallotState
from governance.services.ballots import ballots_due_advance
from registry.services.ledger import ledger_sync
from registry.tests.conftest import Closed, offering_closed
from tokens.selectors import chain_head_time
from tokens.tests.support import WALLETS, Chain, chain_indexed, drain, token_balance, transaction_send
from transfers.models import HolderTransfer, TransferState
from transfers.services.transfers import transfers_advance

pytestmark = [pytest.mark.browser, pytest.mark.chain, pytest.mark.django_db(transaction=True)]

ALICE, BOB, CAROL = WALLETS[0], WALLETS[2], WALLETS[3]
TYPO = "0x90F79bf6EB2c4f870365E785982E1f101E93b907"  # Carol's wallet with its last digit wrong

PROVIDER = """
(() => {
  const address = "%s";
  window.ethereum = {
    request: async ({ method, params }) => {
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [address];
      if (method === "eth_chainId") return "0x7a69";
      if (method === "eth_sendTransaction") return await window.tesseraTestSend(params[0]);
      throw Object.assign(new Error(`unsupported method ${method}`), { code: 4200 });
    },
  };
})();
"""


@pytest.fixture
def closed(cast, chain_settings) -> Closed:
    """Alice holds 200 units in wallet 0, Bob 300 in wallet 2, Carol none yet (wallets 3 and 4)."""
    closed = offering_closed(cast, chain_settings.rpc_url, exemption=Exemption.REG_A_TIER2)
    drain()
    chain_indexed(closed.rpc_url)
    ledger_sync(offering=closed.offering)
    return closed


def _context(browser, live_server, user, *, wallet: str | None = None, rpc_url: str = "", width: int = 1280):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": width, "height": 900 if width > 600 else 844})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    if wallet:

        def send(tx: dict) -> str:
            assert tx["from"].lower() == wallet.lower()
            receipt = transaction_send(rpc_url, tx["from"], tx["to"], data=tx["data"])
            return "0x" + bytes(receipt["transactionHash"]).hex()

        context.expose_function("tesseraTestSend", send)
        context.add_init_script(PROVIDER % wallet)
    return context


def _page(context):
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def _beat(closed: Closed) -> None:
    """What the beat does between two clicks: index the chain, post to the register, follow transfers."""
    chain_indexed(closed.rpc_url)
    ledger_sync(offering=closed.offering)
    transfers_advance()


def test_a_holder_fixes_a_refused_transfer_and_signs_it_then_two_holders_vote_and_the_tally_shows(
    closed: Closed, cast, live_server, browser, settings
) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    alice = _context(browser, live_server, closed.alice.user, wallet=ALICE, rpc_url=closed.rpc_url)
    page = _page(alice)
    try:
        page.goto(f"{live_server.url}/portfolio/")
        page.get_by_role("link", name="Transfer HSCA").click()
        page.get_by_role("heading", name="Your lots").wait_for()
        page.get_by_label("From").select_option(ALICE)
        page.get_by_label("To", exact=True).select_option("other")
        page.get_by_label("Receiving wallet address").fill(TYPO)
        page.get_by_label("Quantity").fill("50")
        page.get_by_role("button", name="Check the transfer").click()
        check = page.locator("#transfer-check")
        check.get_by_role("heading", name="This transfer cannot go").wait_for()
        assert "is not the wallet of a verified investor" in page.locator("#portal-reasons").inner_text()
        assert "Receiver wallet is not verified" in page.locator("#token-answer").inner_text()
        assert page.get_by_role("button", name="Transfer (sign in your wallet next)").count() == 0

        page.get_by_label("Receiving wallet address").fill(CAROL)
        page.get_by_role("button", name="Check the transfer").click()
        check.get_by_role("heading", name="This transfer can go").wait_for()
        assert "It would accept the transfer" in page.locator("#token-answer").inner_text()
        page.get_by_role("button", name="Transfer (sign in your wallet next)").click()
        page.get_by_role("button", name="Sign the transfer in my wallet").click()
        page.get_by_text("Sent: transaction").wait_for()
        transfer = HolderTransfer.objects.get()
        assert transfer.state == TransferState.SUBMITTED and transfer.tx_hash

        _beat(closed)
        page.reload()
        page.get_by_text("Done: on the register").wait_for()
    finally:
        alice.close()
    assert token_balance(closed.rpc_url, closed.token, CAROL) == 50

    carol = _context(browser, live_server, closed.carol.user)
    page = _page(carol)
    try:
        page.goto(f"{live_server.url}/portfolio/")
        holdings = page.locator("#holdings").inner_text()
        assert "Harbor Street Class A" in holdings and "50 HSCA" in holdings
        movement = page.locator("#movements tbody tr").first.inner_text()
        assert "Received" in movement and "through the portal" in movement
    finally:
        carol.close()
    # On a phone, each holding's key columns (quantity, lock-up, transaction) show within the screen.
    carol = _context(browser, live_server, closed.carol.user, width=390)
    page = _page(carol)
    try:
        page.goto(f"{live_server.url}/portfolio/")
        row = page.locator("#holdings tbody tr").first
        for label in ("Tokens", "Lock-up ends", "Mint transaction"):
            cell = row.locator(f'td[data-label="{label}"]')
            box = cell.bounding_box()
            assert cell.is_visible() and box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, label
        assert "50 HSCA" in row.locator('td[data-label="Tokens"]').inner_text()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        carol.close()

    # A ballot: Alice now holds 150, Bob 300 and Carol 50.
    record_at = timezone.localtime(max(timezone.now(), chain_head_time()) + dt.timedelta(minutes=10))
    admin = _context(browser, live_server, cast.admin)
    page = _page(admin)
    try:
        page.goto(f"{live_server.url}/issuers/{cast.issuer.slug}/ballots/new/")
        page.get_by_label("Question").fill("Approve the 2027 budget?")
        page.get_by_label("Options").fill("For\nAgainst")
        moment = "%Y-%m-%dT%H:%M"
        page.get_by_label("Record date and time").fill(record_at.strftime(moment))
        page.get_by_label("Voting opens").fill(record_at.strftime(moment))
        page.get_by_label("Voting closes").fill((record_at + dt.timedelta(days=7)).strftime(moment))
        page.get_by_label("Quorum (% of the voting power)").fill("50")
        page.get_by_role("button", name="Create the ballot").click()
        page.get_by_role("button", name="Read the voting power").wait_for()
        ballot = Ballot.objects.get()

        drain()  # the token schedules the record date; then the chain's clock passes it
        chain = Chain(rpc_url=closed.rpc_url)
        chain.rpc("evm_setNextBlockTimestamp", [int(ballot.record_at.timestamp()) + 1])
        chain.rpc("evm_mine")
        chain.rpc("evm_mine")
        chain_indexed(closed.rpc_url)
        # The portal's clock reaches the opening (the record date, ten minutes from now).
        opens = timezone.now() - dt.timedelta(minutes=1)
        Ballot.objects.filter(pk=ballot.pk).update(opens_at=opens, closes_at=opens + dt.timedelta(days=7))
        page.get_by_role("button", name="Read the voting power").click()
        page.locator("#progress").wait_for()
        assert "0 of 3 holders have voted" in page.locator("#progress").inner_text()
    finally:
        admin.close()

    for holder, option in ((closed.alice, "For"), (closed.bob, "Against")):
        context = _context(browser, live_server, holder.user)
        page = _page(context)
        try:
            page.goto(f"{live_server.url}/portfolio/votes/")
            page.locator("#open-ballots").get_by_role("link", name="Vote").click()
            page.get_by_label(option).check()
            page.get_by_role("button", name="Vote", exact=True).click()
            page.get_by_text("Your vote is recorded").wait_for()
        finally:
            context.close()

    # The portal's clock passes the close; the beat counts the votes.
    closes = timezone.now() - dt.timedelta(seconds=1)
    Ballot.objects.filter(pk=ballot.pk).update(opens_at=closes - dt.timedelta(days=1), closes_at=closes)
    assert ballots_due_advance().closed == 1
    assert Ballot.objects.get(pk=ballot.pk).state == BallotState.CLOSED
    admin = _context(browser, live_server, cast.admin)
    page = _page(admin)
    try:
        page.goto(f"{live_server.url}/issuers/{cast.issuer.slug}/ballots/{ballot.public_id}/")
        rows = {
            row.locator("th").inner_text(): row.locator("td").all_inner_texts()
            for row in page.locator("#tally tbody tr").all()
        }
        symbol = closed.offering.token_symbol
        assert rows["For"][0] == f"150 {symbol}" and rows["For"][2] == "1"
        assert rows["Against"][0] == f"300 {symbol}" and rows["Against"][2] == "1"
        turnout = page.locator("#turnout").inner_text()
        assert f"450 of 500 {symbol} voted" in turnout and "by 2 of 3 holders" in turnout and "met" in turnout
        # The closed ballot reads cleanly wherever it is listed (no "Closed, closes ...").
        problems = page_problems(page.content())
        for path in (
            f"/issuers/{cast.issuer.slug}/ballots/",
            f"/issuers/{cast.issuer.slug}/offerings/{closed.offering.public_id}/dashboard/",
        ):
            page.goto(live_server.url + path)
            problems += [f"{path}: {p}" for p in page_problems(page.content())]
        assert not problems, "\n".join(problems)
        # The dashboard lists the counted ballot in the past tense ("voting closed", not "closes").
        listed = page.get_by_role("link", name="Approve the 2027 budget?").locator("xpath=..").inner_text()
        assert "Closed and counted, voting closed" in listed, listed
    finally:
        admin.close()
    context = _context(browser, live_server, closed.alice.user)
    page = _page(context)
    try:
        problems = []
        for path in ("/portfolio/", "/portfolio/votes/", f"/portfolio/votes/{ballot.public_id}/"):
            page.goto(live_server.url + path)
            problems += [f"{path}: {p}" for p in page_problems(page.content())]
        assert not problems, "\n".join(problems)
    finally:
        context.close()
