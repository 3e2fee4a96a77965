"""Running the chain pipeline in-process against anvil, for closing tests."""

from __future__ import annotations

from web3 import Web3

from investors.models import InvestorProfile
from investors.services.verification import investor_registry_refresh
from tokens.chain.abi import decode_result, encode_call
from tokens.models import ChainTransaction, ContractDeployment, TxStatus
from tokens.outbox import outbox_flush, outbox_watch

# anvil's default accounts 1..9 (account 0 is the portal's signer).
WALLETS = [
    Web3.to_checksum_address(a)
    for a in (
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        "0x90F79bf6EB2c4f870365E9A6b6D8f1f6b5F3e0a6",
        "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
        "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    )
]


def drain(rounds: int = 30) -> None:
    """Sign, send and confirm every pending row, as the workers do."""
    for _ in range(rounds):
        for sender in set(ChainTransaction.objects.filter(status=TxStatus.PENDING).values_list("sender", flat=True)):
            outbox_flush(chain_id=31337, sender=sender)
        if outbox_watch(chain_id=31337) == 0:
            failed = ChainTransaction.objects.filter(status=TxStatus.FAILED).first()
            assert failed is None, f"{failed.purpose}: {failed.error_name or failed.last_error}"
            return
    raise AssertionError("the outbox did not drain")


def register(investor: InvestorProfile) -> None:
    investor_registry_refresh(investor=investor, actor=None)


def balance(rpc_url: str, token: ContractDeployment, wallet: str) -> int:
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    data = w3.eth.call({"to": token.address, "data": "0x" + encode_call("SecurityToken", "balanceOf", [wallet]).hex()})
    return int(decode_result("SecurityToken", "balanceOf", bytes(data))[0])
