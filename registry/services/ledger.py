"""Posting indexed token events to the holdings ledger, in chain order, once each.

The ledger is a replay of the token's `ChainEvent` rows: postings are keyed by (token, block hash,
log index), and when an event appears before the last one posted (the indexer rolled back and read
again) every posting after it is deleted and replayed, so the lots always equal a replay from the
fork point. A rollback that deletes events deletes their postings with them (on_delete=CASCADE).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils.module_loading import import_string

from core.audit import audit_record
from core.errors import ApplicationError
from investors.models import InvestorProfile, Wallet
from offerings.models import MintBatch, Offering
from registry.models import IssuancePrice, LedgerPosting, Lot, LotMovement, PostingKind
from registry.selectors.ledger import holder_key
from registry.services.positions import PositionTracker
from tokens.models import ChainEvent, ChainTransaction, ContractDeployment, ContractKind, RegistryWallet
from tokens.selectors import address_checksum, block_times, token_deployment, token_events

ZERO = "0x0000000000000000000000000000000000000000"
# The events that change who holds what or what they may do with it; the rest are read as context.
POSTED_EVENTS = ["Transfer", "AddressFrozen", "TokensFrozen", "TokensUnfrozen", "Paused", "Unpaused"]
CONTEXT_EVENTS = ["ForcedTransfer", "RecoverySuccess"]


class LedgerInconsistent(ApplicationError):
    """An event moves more than the ledger holds for the sender: an event was missed."""


@dataclass
class _OpenLot:
    lot: Lot
    remaining: int


class _Book:
    """The open lots of the wallets one sync touches, with their remaining units kept in step."""

    def __init__(self, offering: Offering) -> None:
        self.offering = offering
        self.wallets: dict[str, list[_OpenLot]] = {}

    def open_lots(self, wallet: str) -> list[_OpenLot]:
        if wallet not in self.wallets:
            rows = (
                Lot.objects.filter(offering=self.offering, wallet=wallet)
                .annotate(remaining=Sum("movements__delta"))
                .filter(remaining__gt=0)
                .order_by("acquired_at", "id")
            )
            self.wallets[wallet] = [_OpenLot(lot=lot, remaining=int(lot.remaining)) for lot in rows]
        return self.wallets[wallet]

    def take(self, wallet: str, quantity: int) -> list[tuple[Lot, int]]:
        """Units leave a wallet first-in, first-out by acquisition date (the oldest lots go first)."""
        lots = self.open_lots(wallet)
        if sum(o.remaining for o in lots) < quantity:
            raise LedgerInconsistent(
                f"{wallet} sends {quantity} but the ledger holds {sum(o.remaining for o in lots)} for it.",
                code="ledger_short",
            )
        taken = []
        left = quantity
        for open_lot in lots:
            if left == 0:
                break
            part = min(open_lot.remaining, left)
            open_lot.remaining -= part
            left -= part
            taken.append((open_lot.lot, part))
        self.wallets[wallet] = [o for o in lots if o.remaining > 0]
        return taken

    def add(self, lot: Lot) -> None:
        lots = self.open_lots(lot.wallet)
        lots.append(_OpenLot(lot=lot, remaining=lot.quantity))
        lots.sort(key=lambda o: (o.lot.acquired_at, o.lot.pk))


# Apps above the registry that send transactions through the portal say what they were for, in words the
# transfer agent's journal shows (a redemption request frozen, cancelled, redeemed): hashes → reason, or
# "hash|wallet" → reason for one wallet's freeze in a transaction that freezes several.
PostingReasons = Callable[[set[str]], dict[str, str]]
_posting_reasons: list[PostingReasons] = []


def posting_reasons_register(provider: PostingReasons) -> None:
    if provider not in _posting_reasons:
        _posting_reasons.append(provider)


def _reasons_of(hashes: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for provider in _posting_reasons:
        for tx_hash, reason in provider(hashes).items():
            found.setdefault(tx_hash, reason[:500])
    return found


def wallet_investors(addresses: Iterable[str]) -> dict[str, InvestorProfile]:
    """wallet → the investor it belongs to: the investor's linked wallets, else the on-chain registry's."""
    wanted = {address_checksum(a) for a in addresses if a and a != ZERO}
    found: dict[str, InvestorProfile] = {}
    # A wallet linked, removed and linked again belongs to its latest owner.
    for wallet in Wallet.objects.filter(address__in=wanted).select_related("investor").order_by("linked_at"):
        found[wallet.address] = wallet.investor
    missing = wanted - set(found)
    if missing:
        refs = dict(RegistryWallet.objects.filter(address__in=missing).values_list("address", "investor__investor_ref"))
        by_ref = {p.reference: p for p in InvestorProfile.objects.filter(public_id__in=set(refs.values()))}
        for address, ref in refs.items():
            if ref in by_ref:
                found[address] = by_ref[ref]
    return found


def _after(*, block: int, log: int) -> Q:
    return Q(block_number__gt=block) | Q(block_number=block, log_index__gt=log)


def ledger_sync(*, offering: Offering) -> int:
    """Post every indexed event of the offering's token not yet on the ledger; returns how many.

    Idempotent: running it again posts nothing. Runs under the offering's row lock.
    """
    deployment = token_deployment(owner_ref=offering.owner_ref)
    if deployment is None or not deployment.address:
        return 0
    events = token_events(address=deployment.address, names=POSTED_EVENTS).order_by("block_number", "log_index")
    with transaction.atomic():
        Offering.objects.select_for_update().only("pk").get(pk=offering.pk)
        first = events.filter(ledger_posting__isnull=True).first()
        if first is None:
            return 0
        later = LedgerPosting.objects.filter(offering=offering).filter(
            _after(block=first.block_number, log=first.log_index)
        )
        replayed = later.count()
        if replayed:
            later.delete()  # their lots and movements go with them; they are posted again below
        rows = list(events.filter(ledger_posting__isnull=True))
        posted = _post(offering=offering, address=deployment.address, rows=rows)
        audit_record(
            actor="ledger",
            action="registry.ledger_posted",
            obj=offering,
            after={
                "postings": posted,
                "replayed": replayed,
                "from_block": rows[0].block_number,
                "to_block": rows[-1].block_number,
            },
        )
    return posted


def _post(*, offering: Offering, address: str, rows: list[ChainEvent]) -> int:
    times = block_times(numbers={e.block_number for e in rows})
    hashes = {e.transaction_hash for e in rows}
    context: dict[str, list[ChainEvent]] = defaultdict(list)
    for e in token_events(address=address, names=CONTEXT_EVENTS).filter(transaction_hash__in=hashes):
        context[e.transaction_hash].append(e)
    portal_hashes = set(ChainTransaction.objects.filter(tx_hash__in=hashes).values_list("tx_hash", flat=True))
    portal_hashes |= portal_signed_hashes(hashes - portal_hashes)
    mint_prices = _mint_prices(offering, hashes)
    reasons = _reasons_of({h for h in portal_hashes if h}) if portal_hashes else {}
    wallets: set[str] = set()
    for e in rows:
        wallets.update(str(e.args.get(k, "")) for k in ("from", "to", "userAddress"))
    investors = wallet_investors(wallets)
    book = _Book(offering)
    tracker = PositionTracker(
        offering=offering,
        expected={holder_key(investors[w].pk if w in investors else None, w) for w in wallets if w and w != ZERO},
    )
    for event in rows:
        chain_time = times.get(event.block_number)
        if chain_time is None:
            raise ApplicationError(f"Block {event.block_number} is not on the chain.", code="block_missing")
        _post_one(
            offering=offering,
            event=event,
            chain_time=chain_time,
            context=context.get(event.transaction_hash, []),
            via_portal=event.transaction_hash in portal_hashes,
            investors=investors,
            book=book,
            tracker=tracker,
            mint_price=mint_prices.get(event.transaction_hash),
            reason=reasons.get(f"{event.transaction_hash}|{event.args.get('userAddress', '')}")
            or reasons.get(event.transaction_hash, ""),
        )
    tracker.finish()
    return len(rows)


def _mint_prices(offering: Offering, hashes: set[str]) -> dict[str, tuple[int, str]]:
    """Transaction hash → (price per unit, currency) of the offering's mints among these whose price is known:
    closing mints at the offering price, and mints recorded with their own issuance price (reinvestment)."""
    rows = MintBatch.objects.filter(offering=offering, chain_transaction__tx_hash__in=hashes)
    prices = {
        h: (offering.price_minor, offering.currency)
        for h in rows.values_list("chain_transaction__tx_hash", flat=True)
        if h
    }
    priced = IssuancePrice.objects.filter(offering=offering, chain_transaction__tx_hash__in=hashes)
    for h, price, currency in priced.values_list("chain_transaction__tx_hash", "price_minor", "currency"):
        if h:
            prices[h] = (price, currency)
    return prices


def _kind_of_transfer(event: ChainEvent, source: str, target: str, context: list[ChainEvent]) -> tuple[str, str]:
    if source == ZERO:
        return PostingKind.MINT, ""
    if target == ZERO:
        return PostingKind.BURN, ""
    for other in context:
        if other.name == "RecoverySuccess" and other.args.get("lostWallet") == source:
            return PostingKind.RECOVERY, ""
        if (
            other.name == "ForcedTransfer"
            and other.log_index == event.log_index + 1
            and other.args.get("from") == source
            and other.args.get("to") == target
        ):
            return PostingKind.FORCED_TRANSFER, str(other.args.get("reason", ""))[:500]
    return PostingKind.TRANSFER, ""


def _post_one(
    *,
    offering: Offering,
    event: ChainEvent,
    chain_time: dt.datetime,
    context: list[ChainEvent],
    via_portal: bool,
    investors: dict[str, InvestorProfile],
    book: _Book,
    tracker: PositionTracker,
    mint_price: tuple[int, str] | None,
    reason: str = "",
) -> LedgerPosting:
    args = event.args
    posting = LedgerPosting(
        event=event,
        offering=offering,
        block_number=event.block_number,
        block_hash=event.block_hash,
        log_index=event.log_index,
        transaction_hash=event.transaction_hash,
        via_portal=via_portal,
        chain_time=chain_time,
    )
    if event.name == "Transfer":
        source, target, quantity = str(args["from"]), str(args["to"]), int(args["value"])
        posting.kind, posting.reason = _kind_of_transfer(event, source, target, context)
        posting.reason = posting.reason or reason
        posting.from_wallet = "" if source == ZERO else source
        posting.to_wallet = "" if target == ZERO else target
        posting.from_investor = investors.get(source)
        posting.to_investor = investors.get(target)
        posting.quantity = quantity
        posting.save()
        if quantity:
            _move(posting=posting, offering=offering, book=book, tracker=tracker, mint_price=mint_price)
        return posting
    wallet = str(args.get("userAddress", ""))
    posting.kind = {
        ("AddressFrozen", True): PostingKind.FREEZE,
        ("AddressFrozen", False): PostingKind.UNFREEZE,
        ("TokensFrozen", None): PostingKind.PARTIAL_FREEZE,
        ("TokensUnfrozen", None): PostingKind.PARTIAL_UNFREEZE,
        ("Paused", None): PostingKind.PAUSE,
        ("Unpaused", None): PostingKind.UNPAUSE,
    }[(event.name, bool(args["isFrozen"]) if event.name == "AddressFrozen" else None)]
    if event.name in ("AddressFrozen", "TokensFrozen", "TokensUnfrozen"):
        posting.to_wallet = wallet
        posting.to_investor = investors.get(wallet)
        posting.reason = reason
    posting.quantity = int(args.get("amount", 0))
    posting.save()
    return posting


def _move(
    *,
    posting: LedgerPosting,
    offering: Offering,
    book: _Book,
    tracker: PositionTracker,
    mint_price: tuple[int, str] | None,
) -> None:
    movements: list[LotMovement] = []
    moves: list[tuple[Lot, int]] = []

    def moved(lot: Lot, delta: int) -> None:
        moves.append((lot, delta))
        movements.append(
            LotMovement(
                lot=lot, posting=posting, delta=delta, block_number=posting.block_number, chain_time=posting.chain_time
            )
        )

    if posting.kind == PostingKind.MINT:
        lot = Lot.objects.create(
            offering=offering,
            investor=posting.to_investor,
            wallet=posting.to_wallet,
            quantity=posting.quantity,
            issued_at=posting.chain_time,
            acquired_at=posting.chain_time,
            exemption=offering.exemption,
            lockup_release=(
                posting.chain_time + dt.timedelta(seconds=offering.lockup_seconds) if offering.lockup_seconds else None
            ),
            # Primary issuance at closing: the subscription price; reinvested units: the declared price.
            # Units minted any other way: unknown.
            cost_basis_minor=posting.quantity * mint_price[0] if mint_price else None,
            currency=mint_price[1] if mint_price else "",
            transaction_hash=posting.transaction_hash,
            opened_by=posting,
        )
        moved(lot, posting.quantity)
        book.add(lot)
    else:
        same_holder = posting.from_investor_id is not None and posting.from_investor_id == posting.to_investor_id
        for source, part in book.take(posting.from_wallet, posting.quantity):
            moved(source, -part)
            if posting.kind == PostingKind.BURN:
                continue
            lot = Lot.objects.create(
                offering=offering,
                investor=posting.to_investor,
                wallet=posting.to_wallet,
                quantity=part,
                issued_at=source.issued_at,
                # Between one investor's own wallets nothing is acquired: the lot keeps its date and basis.
                acquired_at=source.acquired_at if same_holder else posting.chain_time,
                exemption=source.exemption,
                lockup_release=source.lockup_release,
                cost_basis_minor=(
                    source.cost_basis_minor * part // source.quantity
                    if same_holder and source.cost_basis_minor is not None
                    else None
                ),
                currency=source.currency if same_holder else "",
                transaction_hash=posting.transaction_hash,
                opened_by=posting,
                source=source,
            )
            moved(lot, part)
            book.add(lot)
    LotMovement.objects.bulk_create(movements)
    tracker.posted(posting, moves)


def portal_signed_hashes(hashes: set[str]) -> set[str]:
    """Of these hashes, the transactions a holder's wallet signed on the portal's instruction, as the apps that
    instruct them say (settings.LEDGER_PORTAL_SIGNED: dotted paths to `hashes -> hashes`)."""
    found: set[str] = set()
    for path in settings.LEDGER_PORTAL_SIGNED if hashes else ():
        found |= set(import_string(path)(hashes))
    return found & hashes


@transaction.atomic
def postings_mark_via_portal(*, offering: Offering, transaction_hash: str) -> int:
    """A transaction posted before the portal matched it to a holder's instruction is marked as sent through the
    portal (the next replay derives the same from `portal_signed_hashes`)."""
    rows = LedgerPosting.objects.filter(offering=offering, transaction_hash=transaction_hash, via_portal=False)
    marked = rows.update(via_portal=True)
    if marked:
        audit_record(
            actor="ledger",
            action="registry.postings_via_portal",
            obj=offering,
            after={"transaction_hash": transaction_hash, "postings": marked},
        )
    return marked


def ledger_sync_all() -> int:
    """Post new events for every offering with a token (the beat task after each indexing pass)."""
    total = 0
    for offering in Offering.objects.filter(pk__in=offerings_with_tokens()).order_by("pk"):
        total += ledger_sync(offering=offering)
    return total


def offerings_with_tokens() -> list[int]:
    refs = ContractDeployment.objects.filter(
        chain_id=settings.CHAIN_ID, kind=ContractKind.SECURITY_TOKEN, owner_ref__startswith="offering:"
    ).exclude(address="")
    return [int(ref.removeprefix("offering:")) for ref in refs.values_list("owner_ref", flat=True)]


def issuance_price_record(
    *, chain_transaction: ChainTransaction, offering: Offering, price_minor: int, currency: str
) -> IssuancePrice:
    """Record that the units this mint issues cost `price_minor` each (their lots' cost basis on the ledger).

    Written in the caller's transaction, beside the mint's outbox row, so the ledger knows it before the
    mint can be indexed."""
    if price_minor <= 0:
        raise ApplicationError("An issuance price is above zero.", code="invalid_price")
    price, _ = IssuancePrice.objects.get_or_create(
        chain_transaction=chain_transaction,
        defaults={"offering": offering, "price_minor": price_minor, "currency": currency},
    )
    return price
