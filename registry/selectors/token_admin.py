"""Reads for token administration: what a wallet holds, the holders an admin acts on, and how far each action got."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet, Sum

from investors.models import InvestorProfile
from offerings.models import Offering
from registry.models import (
    FOUR_EYES_KINDS,
    LedgerPosting,
    LotMovement,
    TokenAdminAction,
    TokenAdminState,
)
from registry.selectors.ledger import NOW, AsOf, Restrictions, restrictions
from tokens.models import TxStatus
from tokens.selectors import explorer_url, registry_wallets_confirmed


def wallet_holding(*, offering: Offering, wallet: str) -> int:
    """Units the ledger holds for one wallet now."""
    total = LotMovement.objects.filter(lot__offering=offering, lot__wallet=wallet).aggregate(t=Sum("delta"))["t"]
    return int(total or 0)


@dataclass(frozen=True)
class WalletRow:
    wallet: str
    held: int
    frozen_amount: int
    frozen: bool

    @property
    def free(self) -> int:
        return max(self.held - self.frozen_amount, 0)


@dataclass(frozen=True)
class HolderWallets:
    """One holder as token administration sees them: each wallet with units or restrictions, and the
    registry wallets recovery may move them to."""

    investor: InvestorProfile | None
    wallets: list[WalletRow]
    recovery_targets: list[str] = field(default_factory=list)

    @property
    def held(self) -> int:
        return sum(w.held for w in self.wallets)


def holder_wallets(
    *, offering: Offering, investor: InvestorProfile, current: Restrictions | None = None
) -> HolderWallets:
    """The investor's wallets holding units of the offering or restricted on it, and their empty registry wallets."""
    current = current or restrictions(offering=offering)
    held = dict(
        LotMovement.objects.filter(lot__offering=offering, lot__investor=investor)
        .values_list("lot__wallet")
        .annotate(total=Sum("delta"))
        .order_by()
    )
    linked = set(investor.wallets.filter(removed_at__isnull=True).values_list("address", flat=True))
    confirmed = registry_wallets_confirmed(investor_refs=[investor.reference]).get(investor.reference, frozenset())
    restricted = {w for w in (set(current.frozen_amounts) | current.frozen_wallets) if w in linked | set(held)}
    rows = [
        WalletRow(
            wallet=w,
            held=int(held.get(w) or 0),
            frozen_amount=current.frozen_amounts.get(w, 0),
            frozen=w in current.frozen_wallets,
        )
        for w in sorted({w for w, n in held.items() if n} | restricted)
    ]
    in_use = {r.wallet for r in rows}
    targets = sorted(w for w in confirmed & linked if w not in in_use)
    return HolderWallets(investor=investor, wallets=rows, recovery_targets=targets)


def token_admin_actions(*, offering: Offering) -> QuerySet[TokenAdminAction]:
    return (
        TokenAdminAction.objects.filter(offering=offering)
        .select_related("proposed_by", "approved_by", "chain_transaction", "approval")
        .defer("chain_transaction__data", "chain_transaction__signed_raw")
    )


def token_admin_actions_of_holder(*, offering: Offering, investor: InvestorProfile) -> QuerySet[TokenAdminAction]:
    return token_admin_actions(offering=offering).filter(Q(investor=investor) | Q(to_investor=investor))


# --------------------------------------------------------------------------- decoded failures

# What a contract error means for the admin, and what to do next. Names are SecurityToken's custom errors.
FAILURE_ADVICE: dict[str, tuple[str, str]] = {
    "FreezeExceedsBalance": (
        "The wallet holds {balance} units on-chain, fewer than the {frozen} that would be frozen: the holder moved "
        "units after the ledger was read.",
        "Wait for the ledger to catch up, check the holder's balance, and freeze at most what it holds.",
    ),
    "UnfreezeExceedsFrozen": (
        "Only {frozen} units are frozen in the wallet on-chain, fewer than the {amount} to unfreeze.",
        "Check the frozen amount on the holder page and unfreeze at most that.",
    ),
    "ERC20InsufficientBalance": (
        "The sending wallet holds {balance} units on-chain, fewer than the {needed} to move.",
        "Check the holder's balance once the ledger catches up, and propose the transfer again with at most that.",
    ),
    "ReceiverNotRegistered": (
        "The receiving wallet is not registered in the on-chain investor registry.",
        "Have the investor's wallet registered (it follows their verification), then propose it again.",
    ),
    "RecoveryInvestorMismatch": (
        "The registry does not bind both wallets to the same investor.",
        "Check that the new wallet is the investor's own, registered wallet, then propose the recovery again.",
    ),
    "RecoveryWalletNotEmpty": (
        "The new wallet already holds units or restrictions of this token.",
        "Recover into an empty wallet of the investor.",
    ),
    "NothingToRecover": (
        "The lost wallet holds nothing on-chain.",
        "Nothing is left to recover; check the holder's wallets on the ledger.",
    ),
    "TokenPaused": (
        "The token is paused.",
        "Unpause the token first, or wait until it is unpaused.",
    ),
    "AccessControlUnauthorizedAccount": (
        "The portal's agent key is not an agent of this token.",
        "Ask platform staff to check the token's agent role.",
    ),
    "OutOfGas": (
        "The transaction ran out of gas.",
        "Propose the action again; its gas is estimated afresh.",
    ),
}
GENERIC_NEXT = "Check the holder and the token on this page, then propose the action again, or ask platform staff."


@dataclass(frozen=True)
class Step:
    label: str
    done: bool
    current: bool
    detail: str = ""


@dataclass(frozen=True)
class Progress:
    state: str
    state_label: str
    steps: list[Step]
    tx_hash: str | None
    tx_url: str | None
    failure: str | None
    next_step: str | None
    finished: bool
    posted_block: int | None


def _failure(action: TokenAdminAction) -> tuple[str, str]:
    tx = action.chain_transaction
    if tx is None:
        return "It failed.", GENERIC_NEXT
    name, args = tx.error_name, dict(tx.error_args or {})
    if name in FAILURE_ADVICE:
        what, next_step = FAILURE_ADVICE[name]
        try:
            return f"The contract refused it ({name}): {what.format(**args)}", next_step
        except (KeyError, IndexError):
            return f"The contract refused it ({name}).", next_step
    if name:
        detail = ", ".join(f"{k}={v}" for k, v in args.items())
        return f"The contract refused it ({name}{': ' + detail if detail else ''}).", GENERIC_NEXT
    return tx.last_error or "The transaction failed.", GENERIC_NEXT


def _live_state(action: TokenAdminAction) -> tuple[str, int | None]:
    """The state as the outbox and the ledger show it right now (the beat records it a little later)."""
    tx = action.chain_transaction
    state = action.state
    if (
        action.approval is not None
        and state == TokenAdminState.PROPOSED
        and action.approval.state
        in (
            "rejected",
            "withdrawn",
        )
    ):
        return TokenAdminState.REJECTED, None
    if tx is None or state in (TokenAdminState.POSTED, TokenAdminState.FAILED, TokenAdminState.REJECTED):
        block = None
        if state == TokenAdminState.POSTED and tx is not None and tx.tx_hash:
            block = (
                LedgerPosting.objects.filter(offering_id=action.offering_id, transaction_hash=tx.tx_hash)
                .values_list("block_number", flat=True)
                .first()
            )
        return state, block
    if tx.status == TxStatus.FAILED:
        return TokenAdminState.FAILED, None
    if tx.status == TxStatus.CONFIRMED:
        block = None
        if tx.tx_hash:
            block = (
                LedgerPosting.objects.filter(offering_id=action.offering_id, transaction_hash=tx.tx_hash)
                .values_list("block_number", flat=True)
                .first()
            )
        return (TokenAdminState.POSTED if block is not None else TokenAdminState.CONFIRMED), block
    if tx.tx_hash and tx.status in (TxStatus.BROADCAST, TxStatus.MINED):
        return TokenAdminState.SENT, None
    return TokenAdminState.APPROVED, None


def token_admin_progress(*, action: TokenAdminAction) -> Progress:
    """Each step the action passes, which one it is at, its transaction and, if it failed, why and what next."""
    state, block = _live_state(action)
    tx = action.chain_transaction
    tx_hash = tx.tx_hash if tx is not None and tx.tx_hash else None
    four_eyes = action.kind in FOUR_EYES_KINDS
    # The index of the first step not done yet (the one the action waits at, or failed at).
    waiting_at = {
        TokenAdminState.PROPOSED: 1,
        TokenAdminState.REJECTED: 1,
        TokenAdminState.APPROVED: 2,
        TokenAdminState.SENT: 3,
        TokenAdminState.CONFIRMED: 4,
        TokenAdminState.POSTED: 5,
    }
    # A transaction refused before it was sent (its gas estimate reverted) fails at "Sent"; a revert in a block
    # fails at "Confirmed".
    at = (3 if tx_hash else 2) if state == TokenAdminState.FAILED else waiting_at[TokenAdminState(state)]
    approver = action.approved_by.email if action.approved_by else ""
    labels = [
        ("Proposed" if four_eyes else "Requested", f"by {action.proposed_by.email}"),
        (
            "Approved by a second admin" if four_eyes else "Queued for the chain",
            f"by {approver}" if approver else ("waiting for another admin of the issuer" if four_eyes else ""),
        ),
        ("Sent", tx_hash or ""),
        ("Confirmed on-chain", f"block {tx.block_number}" if tx is not None and tx.block_number else ""),
        ("On the ledger", f"posted from block {block}" if block is not None else ""),
    ]
    steps = []
    for i, (label, detail) in enumerate(labels):
        steps.append(Step(label=label, done=i < at, current=i == at, detail=detail))
    failure = next_step = None
    if state == TokenAdminState.FAILED:
        failure, next_step = _failure(action)
    elif state == TokenAdminState.REJECTED:
        approval = action.approval
        note = approval.decision_note if approval is not None else ""
        withdrawn = approval is not None and approval.state == "withdrawn"
        failure = "Withdrawn by its proposer." if withdrawn else "Rejected" + (f": {note}" if note else ".")
        next_step = "Nothing was sent. Propose it again if it is still needed."
    return Progress(
        state=state,
        state_label=TokenAdminState(state).label,
        steps=steps,
        tx_hash=tx_hash,
        tx_url=explorer_url(tx_hash),
        failure=failure,
        next_step=next_step,
        finished=state in (TokenAdminState.POSTED, TokenAdminState.FAILED, TokenAdminState.REJECTED),
        posted_block=block,
    )


@dataclass(frozen=True)
class HolderRow:
    investor: InvestorProfile | None
    wallets: list[WalletRow]

    @property
    def held(self) -> int:
        return sum(w.held for w in self.wallets)


def token_holders(*, offering: Offering, current: Restrictions, query: str = "") -> list[HolderRow]:
    """Every holder of the offering's units (and wallets restricted on it), largest first; a fixed number of
    queries whatever the number of holders. `query` matches a wallet address or the holder's legal name."""
    rows = (
        LotMovement.objects.filter(lot__offering=offering)
        .values_list("lot__investor_id", "lot__wallet")
        .annotate(total=Sum("delta"))
        .order_by()
    )
    by_investor: dict[int | None, dict[str, int]] = {}
    wallet_owner: dict[str, int | None] = {}
    for investor_id, wallet, total in rows:
        wallet_owner[wallet] = investor_id
        if total:
            by_investor.setdefault(investor_id, {})[wallet] = int(total)
    for wallet in set(current.frozen_amounts) | current.frozen_wallets:
        if wallet in wallet_owner:
            by_investor.setdefault(wallet_owner[wallet], {}).setdefault(wallet, 0)
    investors = InvestorProfile.objects.select_related("user").in_bulk([i for i in by_investor if i is not None])
    needle = query.strip().lower()
    holders = []
    for investor_id, wallets in by_investor.items():
        investor = investors.get(investor_id) if investor_id is not None else None
        if needle:
            name = (investor.legal_name if investor else "").lower()
            if needle not in name and not any(needle in w.lower() for w in wallets):
                continue
        holders.append(
            HolderRow(
                investor=investor,
                wallets=[
                    WalletRow(
                        wallet=w,
                        held=n,
                        frozen_amount=current.frozen_amounts.get(w, 0),
                        frozen=w in current.frozen_wallets,
                    )
                    for w, n in sorted(wallets.items())
                ],
            )
        )
    holders.sort(key=lambda h: (-h.held, h.investor.pk if h.investor else 0))
    return holders


@dataclass(frozen=True)
class HolderRestrictions:
    """What limits one holder's wallets at a point on the register: the token's pause, frozen wallets and units."""

    paused: bool
    wallets: list[WalletRow]


def holder_restrictions(*, offering: Offering, wallets: set[str], as_of: AsOf = NOW) -> HolderRestrictions:
    current = restrictions(offering=offering, as_of=as_of)
    rows = [
        WalletRow(wallet=w, held=0, frozen_amount=current.frozen_amounts.get(w, 0), frozen=w in current.frozen_wallets)
        for w in sorted(wallets)
        if w in current.frozen_amounts or w in current.frozen_wallets
    ]
    return HolderRestrictions(paused=current.paused, wallets=rows)
