"""The portal's own transaction and address pages for a chain without a block explorer (the local anvil):
read from the node, the call and events decoded through the portal's ABIs; and every hash and address on a
page links there, or to the chain's explorer when one is configured."""

from __future__ import annotations

from django.template import Context, Template
from django.test import Client, override_settings

from core.tests.support import Cast
from tokens.models import ChainTransaction, TxStatus
from tokens.selectors import explorer_address_url, explorer_url
from tokens.services import token_mint
from tokens.tests.support import WALLETS, Chain


def _page(client: Client, url: str) -> tuple[int, str]:
    response = client.get(url)
    return response.status_code, response.content.decode()


def test_an_investor_reads_a_registration_from_the_node_with_its_call_and_events(chain: Chain, cast: Cast) -> None:
    tx = ChainTransaction.objects.get(purpose="Register investor alice")
    client = Client()
    client.force_login(cast.investor)

    status, html = _page(client, f"/chain/tx/{tx.tx_hash}/")

    assert status == 200
    assert "Succeeded" in html and f">{tx.block_number:,}" in html
    assert '<code id="tx-function">registerInvestor</code>' in html
    assert f'data-copy="{WALLETS[0]}"' in html  # the wallet argument, as an address with its copy button
    assert "<strong>InvestorRegistered</strong>" in html and "Investor registry" in html
    assert "Sent by the portal" not in html  # what the portal meant by it is for staff


def test_a_refused_mint_reads_as_reverted_and_staff_see_what_the_portal_sent(chain: Chain, cast: Cast) -> None:
    failed = token_mint(owner_ref="offering:1", wallet=WALLETS[7], amount=3, idempotency_key="explorer-1")
    chain.drain()
    failed.refresh_from_db()
    assert failed.status == TxStatus.FAILED
    client = Client()
    client.force_login(cast.staff)

    if failed.tx_hash:  # refused by the node's estimate, it never reached a block: then nothing to read
        status, html = _page(client, f"/chain/tx/{failed.tx_hash}/")
        assert status == 200 and "Reverted" in html
    assert chain.token is not None
    status, html = _page(client, f"/chain/address/{chain.token.address}/")
    assert status == 200 and "a contract the portal deployed" in html and "Harbor Street Class A" in html
    assert "Mint 3 to" in html  # staff see the portal's transactions to it


def test_an_unknown_hash_and_a_malformed_one_are_not_found(chain: Chain, cast: Cast) -> None:
    client = Client()
    client.force_login(cast.investor)
    status, html = _page(client, "/chain/tx/0x" + "ab" * 32 + "/")
    assert status == 404 and "does not know this transaction" in html
    assert client.get("/chain/tx/0x1234/").status_code == 404
    assert client.get("/chain/address/not-an-address/").status_code == 404


def test_a_dead_node_is_said_so_without_a_traceback(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.investor)
    with override_settings(CHAIN_RPC_URL="http://127.0.0.1:9"):
        status, html = _page(client, "/chain/tx/0x" + "cd" * 32 + "/")
    assert status == 404 and "did not answer" in html and "Traceback" not in html


def test_hashes_link_to_the_portal_page_on_a_local_chain_and_to_the_explorer_elsewhere(settings) -> None:
    tx_hash, address = "0x" + "ef" * 32, "0x" + "12" * 20
    settings.CHAIN_EXPLORER_TX_URL = settings.CHAIN_EXPLORER_ADDRESS_URL = ""
    settings.CHAIN_ID = 31337
    assert explorer_url(tx_hash) == f"/chain/tx/{tx_hash}/"
    assert explorer_address_url(address) == f"/chain/address/{address}/"
    settings.CHAIN_ID = 1
    assert explorer_url(tx_hash) == f"https://etherscan.io/tx/{tx_hash}"
    assert explorer_address_url(address) == f"https://etherscan.io/address/{address}"
    settings.CHAIN_EXPLORER_TX_URL = "https://explorer.example/tx/{hash}"
    assert explorer_url(tx_hash) == f"https://explorer.example/tx/{tx_hash}"

    html = Template("{% tx_ref h %} {% address_ref a %} {% tx_ref none %}").render(
        Context({"h": tx_hash, "a": address, "none": None})
    )
    assert f'href="https://explorer.example/tx/{tx_hash}"' in html and 'target="_blank"' in html
    assert ">0xefefefef…efef<" in html and ">0x1212…1212<" in html  # shortened, the whole in title and copy
    assert f'data-copy="{tx_hash}"' in html and f'data-copy="{address}"' in html
    assert '<span class="muted">—</span>' in html
