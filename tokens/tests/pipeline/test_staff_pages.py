from __future__ import annotations

from django.core.management import call_command
from django.test import Client

from core.tests.support import Cast
from tokens.models import ChainTransaction, ContractDeployment, TxStatus
from tokens.services import token_mint
from tokens.tests.support import WALLETS, Chain


def test_staff_see_transactions_with_decoded_errors_and_retry_failed_ones(chain: Chain, cast: Cast) -> None:
    failed = token_mint(owner_ref="offering:1", wallet=WALLETS[7], amount=3, idempotency_key="page-1")
    chain.drain()
    client = Client()
    client.force_login(cast.staff)
    page = client.get("/staff/chain/?status=failed")
    assert page.status_code == 200
    assert b"ReceiverNotVerified" in page.content and b"Mint 3 to" in page.content
    response = client.post(f"/staff/chain/{failed.pk}/retry/", follow=True)
    assert b"will be signed and sent again" in response.content
    assert ChainTransaction.objects.get(pk=failed.pk).status == TxStatus.PENDING
    again = client.post(f"/staff/chain/{failed.pk}/retry/", follow=True)
    assert b"Only a failed transaction can be retried" in again.content


def test_the_deploy_command_refuses_a_second_registry(chain: Chain, capsys) -> None:
    import pytest
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="already deployed"):
        call_command("chain_deploy", "registry")
    call_command(
        "chain_deploy", "token", "--owner", "offering:2", "--name", "Beacon Notes", "--symbol", "BCN", "--wait"
    )
    deployment = ContractDeployment.objects.get(owner_ref="offering:2")
    assert deployment.address and "Deployed at" in capsys.readouterr().out
