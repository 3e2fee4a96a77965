"""A token's contract controls as the chain shows them, never as typed by hand: the roles that exist and
the addresses that hold them, which administrative functions the deployed code has, whether it can be
upgraded, and the investor registry it trusts.

Role holders come from the token's RoleGranted events, each confirmed with `hasRole` now (AccessControl
does not enumerate members). Functions are found in the deployed code's dispatcher, so a function that
the ABI names but the code lacks shows as absent. Reads are cached briefly: the page that shows them is
opened far more often than roles change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from tokens.chain.abi import decode_log, decode_result, encode_call, function_selector
from tokens.chain.addresses import checksum, keccak_text
from tokens.chain.bytecode import DELEGATECALL, SELFDESTRUCT, code_has_opcode, code_pushes_selector
from tokens.chain.client import client_for
from tokens.models import ContractDeployment, ContractKind

CONTROLS_CACHE_SECONDS = 60
# ERC-1967 storage slots a proxy keeps its implementation and its admin in.
ERC1967_IMPLEMENTATION_SLOT = "0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc"
ERC1967_ADMIN_SLOT = "0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103"
ZERO_ROLE = bytes(32)

# (what a holder's adviser asks about, the SecurityToken functions that do it)
CONTROL_FUNCTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Pause all transfers", ("pause", "unpause")),
    ("Freeze a wallet or part of its tokens", ("setAddressFrozen", "freezePartialTokens")),
    ("Forced transfer between wallets", ("forcedTransfer",)),
    ("Recover a lost wallet's tokens", ("recoveryAddress",)),
    ("Mint new tokens", ("mint", "batchMint")),
    ("Burn tokens", ("burn", "batchBurn")),
)


@dataclass(frozen=True)
class ControlFunction:
    label: str
    functions: tuple[str, ...]
    present: bool


@dataclass(frozen=True)
class RoleHolders:
    role: str  # "admin", "agent" or "minter"
    label: str
    role_id: str  # bytes32, hex
    holders: tuple[str, ...]


@dataclass(frozen=True)
class TokenControls:
    address: str
    code_size: int
    roles: tuple[RoleHolders, ...]
    functions: tuple[ControlFunction, ...]
    upgradeable: bool
    upgradeability: str  # in words, with the evidence
    registry: str
    read_at_block: int


def _view(address: str, function: str, args: list[Any]) -> Any:
    client = client_for(settings.CHAIN_RPC_URL)
    data = client.call({"to": address, "data": "0x" + encode_call("SecurityToken", function, args).hex()})
    return decode_result("SecurityToken", function, data)[0]


def _holders(address: str, role_id: bytes, from_block: int, to_block: int) -> tuple[str, ...]:
    client = client_for(settings.CHAIN_RPC_URL)
    topic = "0x" + keccak_text("RoleGranted(bytes32,address,address)").hex()
    logs = client.logs([address], from_block, to_block, [topic, "0x" + role_id.hex()])
    candidates: list[str] = []
    for log in logs:
        decoded = decode_log(log["topics"], log["data"])
        if decoded is not None and decoded[1]["account"] not in candidates:
            candidates.append(decoded[1]["account"])
    return tuple(a for a in candidates if _view(address, "hasRole", [role_id, checksum(a)]))


def _slot(address: str, slot: str) -> int:
    response = client_for(settings.CHAIN_RPC_URL).rpc("eth_getStorageAt", [address, slot, "latest"])
    value = response.get("result") if isinstance(response, dict) else response
    return int(value or "0x0", 16)


def _read(deployment: ContractDeployment) -> TokenControls | None:
    address = deployment.address
    client = client_for(settings.CHAIN_RPC_URL)
    head = client.block_number()
    code = client.code(address)
    if not code:
        return None  # the node holds no contract at the recorded address (not mined yet, or another chain's state)
    deployed_at = deployment.deploy_transaction.block_number if deployment.deploy_transaction else None
    from_block = deployed_at or deployment.index_from_block or 0
    agent_role = bytes(_view(address, "AGENT_ROLE", []))
    minter_role = bytes(_view(address, "MINTER_ROLE", []))
    declared = (
        RoleHolders("admin", "Admin (grants and revokes roles, sets the rules)", "0x" + ZERO_ROLE.hex(), ()),
        RoleHolders(
            "agent", "Agent (burns, freezes, pauses, forces transfers, recovers wallets)", "0x" + agent_role.hex(), ()
        ),
        RoleHolders("minter", "Minter (mints new tokens)", "0x" + minter_role.hex(), ()),
    )
    roles = tuple(
        RoleHolders(r.role, r.label, r.role_id, _holders(address, bytes.fromhex(r.role_id[2:]), from_block, head))
        for r in declared
    )
    functions = tuple(
        ControlFunction(
            label,
            names,
            any(code_pushes_selector(code, function_selector("SecurityToken", n)) for n in names),
        )
        for label, names in CONTROL_FUNCTIONS
    )
    proxy_slots = _slot(address, ERC1967_IMPLEMENTATION_SLOT) or _slot(address, ERC1967_ADMIN_SLOT)
    delegates = code_has_opcode(code, DELEGATECALL)
    destructs = code_has_opcode(code, SELFDESTRUCT)
    upgradeable = bool(proxy_slots or delegates or destructs)
    if upgradeable:
        evidence = [
            reason
            for reason, found in (
                ("an ERC-1967 proxy slot is set", proxy_slots),
                ("its code can DELEGATECALL", delegates),
                ("its code can SELFDESTRUCT", destructs),
            )
            if found
        ]
        upgradeability = "Possibly upgradeable: " + ", ".join(evidence) + "."
    else:
        upgradeability = (
            "None: the code at the address is the token itself (no ERC-1967 proxy slot set, no DELEGATECALL or "
            "SELFDESTRUCT in its code), so it cannot be replaced."
        )
    return TokenControls(
        address=address,
        code_size=len(code),
        roles=roles,
        functions=functions,
        upgradeable=upgradeable,
        upgradeability=upgradeability,
        registry=checksum(_view(address, "identityRegistry", [])),
        read_at_block=head,
    )


def token_controls(*, owner_ref: str, fresh: bool = False) -> TokenControls | None:
    """The token's controls read from the node (cached for a minute); None while it has no address, or while the
    node holds no code at it.

    Raises the chain's transient errors when the node cannot be reached."""
    deployment = (
        ContractDeployment.objects.select_related("deploy_transaction")
        .filter(chain_id=settings.CHAIN_ID, kind=ContractKind.SECURITY_TOKEN, owner_ref=owner_ref)
        .first()
    )
    if deployment is None or not deployment.address:
        return None
    key = f"tokens:controls:{settings.CHAIN_ID}:{deployment.address}"
    controls = None if fresh else cache.get(key)
    if controls is None:
        controls = _read(deployment)
        if controls is None:
            return None
        cache.set(key, controls, CONTROLS_CACHE_SECONDS)
    return controls
