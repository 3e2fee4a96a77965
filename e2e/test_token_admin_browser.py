"""An issuer admin freezes part of a holding, watches it reach the ledger and finds it on the holder's cap table
page; they propose a forced transfer with its court order, and a second admin reads the document, approves it,
and sees the units move.

The chain is a real anvil; the test runs the chain pipeline, the indexer and the ledger in-process between
browser steps (what the workers and the beat do) while the action page polls its progress.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client

from compliance.exemptions import Exemption
from core.models import Role
from core.tests.factories import MembershipFactory
from core.tests.files import pdf_bytes
from registry.models import TokenAdminAction, TokenAdminState
from registry.selectors.ledger import restrictions, wallet_balances
from registry.services.ledger import ledger_sync
from registry.services.token_admin import token_admin_actions_advance
from registry.tests.conftest import Closed, offering_closed
from tokens.tests.support import WALLETS, chain_indexed, drain, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.chain, pytest.mark.django_db(transaction=True)]

ALICE_0, BOB, CAROL_3 = WALLETS[0], WALLETS[2], WALLETS[3]


@pytest.fixture
def closed(anvil_node, settings, tmp_path, cast) -> Iterator[Closed]:
    snapshot = anvil_node.rpc("evm_snapshot")
    settings.CHAIN_RPC_URL = anvil_node.rpc_url
    settings.CHAIN_ID = 31337
    settings.CHAIN_CONFIRMATIONS = 1
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.ALLOWED_HOSTS = ["*"]
    closed = offering_closed(cast, anvil_node.rpc_url, exemption=Exemption.REG_A_TIER2)
    _settle(closed)
    yield closed
    anvil_node.rpc("evm_revert", [snapshot])


def _settle(closed: Closed) -> None:
    drain()
    chain_indexed(closed.rpc_url)
    ledger_sync(offering=closed.offering)
    token_admin_actions_advance()


def _signed_in(browser, live_server, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def _until_posted(closed: Closed, page, what: str) -> None:
    """Run the workers' steps until the action page, polling by itself, says the ledger shows it."""
    wait_until(
        lambda: page.locator("#action-posted").count() == 1,
        what=what,
        timeout=60,
        interval=0.5,
        tick=lambda: _settle(closed),
    )


def test_an_admin_freezes_an_amount_and_a_second_admin_approves_a_forced_transfer(
    closed: Closed, cast, live_server, browser, tmp_path
) -> None:
    finance = MembershipFactory.create(
        issuer=cast.issuer, role=Role.ISSUER_ADMIN, user__email="finance@harbor.example"
    ).user
    admin = _signed_in(browser, live_server, cast.admin)
    base = f"{live_server.url}/issuers/{cast.issuer.slug}"

    # From the offering's dashboard to its token administration, then to Alice.
    admin.goto(f"{base}/offerings/{closed.offering.public_id}/dashboard/")
    admin.get_by_role("link", name="Token administration").click()
    admin.get_by_role("heading", name=re.compile("Token administration")).wait_for()
    holders = admin.locator("#token-holders")
    assert ALICE_0 in holders.inner_text() and BOB in holders.inner_text()
    holders.get_by_role("link", name=f"Act on {closed.alice.legal_name}", exact=True).click()

    freeze = admin.locator("#form-freeze-amount")
    freeze.get_by_label("Units", exact=True).fill("50")
    freeze.get_by_label("Reason").fill("Pledged as collateral under the loan of 1 December")
    freeze.get_by_role("button", name="Send to the chain").click()
    admin.get_by_text("is on its way to the chain").wait_for()
    assert "Queued for the chain" in admin.locator("#token-admin-progress").inner_text()
    _until_posted(closed, admin, "the frozen amount on the ledger")
    assert "0x" in admin.locator("#token-admin-progress").inner_text()  # the transaction hash is shown
    assert restrictions(offering=closed.offering).frozen_amounts == {ALICE_0: 50}

    # The cap table's page of the holder shows it, and leads back to her actions: 50 of 200 units frozen.
    admin.get_by_role("link", name="Cap table").click()
    admin.locator("tr.holder-row").filter(has_text=closed.alice.legal_name).get_by_role("link").first.click()
    restricted = admin.locator(f'#holder-restrictions li[data-wallet="{ALICE_0}"]')
    assert "50 units frozen" in restricted.inner_text()
    admin.get_by_role("link", name="Freeze, force a transfer or recover").click()
    row = admin.locator(f'#holder-wallets tr[data-wallet="{ALICE_0}"]')
    assert re.search(r"200\s+50\s+150", row.inner_text())

    # A forced transfer from Bob to Carol, with the court order attached.
    order = tmp_path / "court-order-2026-17.pdf"
    order.write_bytes(pdf_bytes("Court order 2026-17"))
    admin.goto(f"{base}/offerings/{closed.offering.public_id}/token/holders/{closed.bob.public_id}/")
    transfer = admin.locator("#form-forced-transfer")
    transfer.get_by_label("To wallet").fill(CAROL_3)
    transfer.get_by_label("Units", exact=True).fill("120")
    transfer.get_by_label("Reason").fill("Court order 2026-17")
    transfer.get_by_label("Supporting document").set_input_files(str(order))
    transfer.get_by_role("button", name="Propose the transfer").click()
    admin.get_by_text("waits for a second admin").wait_for()
    assert "You proposed this" in admin.locator("#decide").inner_text()
    action = TokenAdminAction.objects.get(kind="forced_transfer")
    assert action.state == TokenAdminState.PROPOSED and action.chain_transaction is None

    # The second admin reads the document and approves.
    second = _signed_in(browser, live_server, finance)
    second.goto(f"{base}/token-actions/{action.public_id}/")
    link = second.locator("#action-document")
    assert link.inner_text() == "court-order-2026-17.pdf"
    document = second.request.get(f"{live_server.url}{link.get_attribute('href')}")
    assert document.status == 200 and document.body().startswith(b"%PDF-")
    assert action.document_sha256 in second.locator("body").inner_text()
    second.get_by_role("button", name="Approve and send").click()
    second.get_by_text("Approved: the transaction is on its way").wait_for()
    _until_posted(closed, second, "the forced transfer on the ledger")
    assert wallet_balances(offering=closed.offering) == {ALICE_0: 200, BOB: 180, CAROL_3: 120}
    second.goto(f"{base}/offerings/{closed.offering.public_id}/token/")
    assert CAROL_3 in second.locator("#token-holders").inner_text()
    assert "Forced transfer" in second.locator(".token-admin-actions").inner_text()
