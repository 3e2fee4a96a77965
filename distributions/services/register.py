"""The register of a distribution: entitlements at the record date, allocation, withholding, one line each.

Entitlements come from the holdings ledger at the last block of the record date, per investor across
their wallets, cross-checked against the token's own checkpoint (`balanceOfAt` / `totalSupplyAt` for the
record date's id). Any difference stops the distribution and records a record difference (17Ad-9):
nothing is paid from a register the chain does not confirm.
"""

from __future__ import annotations

from array import array

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.models import User
from core.money import MAX_AMOUNT_MINOR, Money
from distributions.allocation import allocation_compute
from distributions.models import (
    AmountBasis,
    DestinationStatus,
    Distribution,
    DistributionLine,
    DistributionState,
    PaymentMethod,
)
from distributions.reinvestment import reinvestment_split
from distributions.selectors import active_wallets, bank_account_holders, reinvestment_elected, tax_standings
from distributions.withholding import TaxStatus, Withholding, withholding_for
from offerings.models import Offering
from registry.models import DifferenceKind, RecordDifference
from registry.selectors.record_date import (
    RecordPoint,
    WalletHolding,
    holdings_at,
    record_cross_check,
    record_point,
)
from registry.services.ledger import ledger_sync

LINE_BATCH = 2000


def _record_point(distribution: Distribution) -> RecordPoint:
    return record_point(
        offering=distribution.offering,
        record_at=distribution.record_at,
        record_transaction=distribution.record_transaction,
        record_id=distribution.record_id,
        resubmit_hint="cancel this distribution and declare it again",
    )


def _stop(distribution: Distribution, *, actor: User | None, reason: str, expected: int, actual: int) -> None:
    """17Ad-9: the ledger and the token disagree at the record date; stop and record the difference."""
    now = timezone.now()
    tx = distribution.record_transaction
    cause = (tx.tx_hash or "") if tx else ""
    difference = RecordDifference.objects.filter(
        offering=distribution.offering,
        kind=DifferenceKind.RECORD_DATE_CHECKPOINT,
        transaction_hash=cause,
        resolved_at__isnull=True,
    ).first()
    if difference is None:
        difference = RecordDifference.objects.create(
            offering=distribution.offering,
            kind=DifferenceKind.RECORD_DATE_CHECKPOINT,
            transaction_hash=cause,
            expected=expected,
            actual=actual,
            arose_at=distribution.record_at,
            first_found_at=now,
            last_found_at=now,
        )
        audit_record(
            actor=actor,
            action="registry.difference_found",
            obj=difference,
            issuer=distribution.offering.issuer,
            after={"kind": difference.kind, "transaction": cause, "expected": expected, "actual": actual},
        )
    else:
        difference.expected, difference.actual, difference.last_found_at = expected, actual, now
        difference.save(update_fields=["expected", "actual", "last_found_at"])
    distribution.state = DistributionState.STOPPED
    distribution.stop_reason = reason
    distribution.record_difference = difference
    distribution.save(update_fields=["state", "stop_reason", "record_difference", "record_id", "record_block"])
    audit_record(
        actor=actor,
        action="distribution.stopped",
        obj=distribution,
        issuer=distribution.offering.issuer,
        before={"state": DistributionState.DRAFT},
        after={"state": distribution.state, "record_difference": difference.pk, "reason": reason},
    )


def distribution_register_compute(*, distribution: Distribution, actor: User | None) -> Distribution:
    """Compute (or compute again) the register of a draft whose record date has passed.

    Returns the distribution: a draft with its register, or stopped with a record difference."""
    current = Distribution.objects.select_related("offering", "record_transaction").get(pk=distribution.pk)
    if current.state != DistributionState.DRAFT:
        raise Conflict(
            f"The register is fixed once the distribution is {current.get_state_display().lower()}.", code="state"
        )
    point = _record_point(current)
    ledger_sync(offering=current.offering)  # every indexed event on the ledger before it is read
    holdings = holdings_at(offering=current.offering, block=point.block)
    mismatches, ledger_sum, chain_supply = record_cross_check(point, holdings)

    with transaction.atomic():
        Offering.objects.select_for_update().only("pk").get(pk=current.offering_id)
        locked = (
            Distribution.objects.select_for_update(of=("self",))
            .select_related("offering__issuer", "record_transaction")
            .get(pk=current.pk)
        )
        if locked.state != DistributionState.DRAFT:
            raise Conflict("Someone else changed this distribution meanwhile; reload the page.", code="state")
        locked.record_id, locked.record_block = point.record_id, point.block
        if mismatches or ledger_sum != chain_supply:
            shown = "; ".join(f"{m.wallet}: ledger {m.ledger:,}, token {m.chain:,}" for m in mismatches[:5])
            more = f" and {len(mismatches) - 5} more" if len(mismatches) > 5 else ""
            reason = (
                f"At the record date (block {point.block}) the ledger holds {ledger_sum:,} units and the token's "
                f"checkpoint {chain_supply:,}." + (f" Wallets that differ: {shown}{more}." if shown else "")
            )
            _stop(locked, actor=actor, reason=reason, expected=chain_supply, actual=ledger_sum)
            return locked
        _lines_write(locked, holdings=holdings, actor=actor)
    return locked


def _lines_write(distribution: Distribution, *, holdings: list[WalletHolding], actor: User | None) -> None:
    excluded = set(distribution.excluded_wallets)
    excluded_units = sum(h.units for h in holdings if h.wallet in excluded)
    unknown = [h for h in holdings if h.investor_id is None and h.wallet not in excluded]
    if unknown:
        raise ApplicationError(
            f"{sum(h.units for h in unknown):,} units sat at the record date in wallets the register knows no "
            f"investor for ({', '.join(h.wallet for h in unknown[:3])}); declare the distribution again excluding "
            "them if they are the issuer's own.",
            code="unknown_holders",
        )
    per_investor: dict[int, int] = {}
    top_wallet: dict[int, tuple[int, str]] = {}
    for h in holdings:
        if h.wallet in excluded or h.investor_id is None:
            continue
        per_investor[h.investor_id] = per_investor.get(h.investor_id, 0) + h.units
        if h.units > top_wallet.get(h.investor_id, (0, ""))[0]:
            top_wallet[h.investor_id] = (h.units, h.wallet)
    ids = array("q", sorted(per_investor))
    balances = array("q", (per_investor[i] for i in ids))
    eligible = sum(balances)
    if eligible == 0:
        raise ApplicationError("Nobody held units of the token at the record date.", code="no_holders")
    standings = tax_standings(investor_ids=ids)
    payment_date = distribution.payment_date
    # Holders share a handful of tax standings: each distinct one is judged once.
    judged: dict[TaxStatus, Withholding] = {}
    rules: list[Withholding] = []
    for investor_id in ids:
        standing_status = standings[investor_id].status
        rule = judged.get(standing_status)
        if rule is None:
            rule = withholding_for(status=standing_status, kind=distribution.kind, payment_date=payment_date)
            judged[standing_status] = rule
        rules.append(rule)
    rates = array("q", (r.rate_bps for r in rules))
    allocation = allocation_compute(
        balances=balances,
        holder_ids=ids,
        rates_bps=rates,
        total=distribution.amount_minor if distribution.amount_basis == AmountBasis.TOTAL else None,
        per_unit=distribution.amount_minor if distribution.amount_basis == AmountBasis.PER_UNIT else None,
    )
    if allocation.total_gross > MAX_AMOUNT_MINOR:
        raise ApplicationError(
            f"{Money(distribution.amount_minor, distribution.currency)} on each of the {eligible:,} units entitled is "
            f"more than the {Money(MAX_AMOUNT_MINOR, distribution.currency)} any distribution may pay.",
            code="invalid_amount",
        )
    price = distribution.reinvestment_price_minor
    # Elections open at the record moment count: the record date is the cut-off.
    reinvesting = reinvestment_elected(offering=distribution.offering, at=distribution.record_at) if price else set()
    # Reinvested units are minted to a wallet whatever the cash is paid by.
    wallets = (
        active_wallets(investor_ids=ids)
        if distribution.payment_method == PaymentMethod.STABLECOIN or reinvesting
        else {}
    )

    with_bank_details = (
        bank_account_holders(investor_ids=ids) if distribution.payment_method == PaymentMethod.BANK_FILE else set()
    )

    DistributionLine.objects.filter(distribution=distribution).delete()
    key_prefix = f"distribution:{settings.CHAIN_ID}:{distribution.public_id}:line"
    batch: list[DistributionLine] = []
    reinvest_units = 0
    for n, investor_id in enumerate(ids):
        standing, rule = standings[investor_id], rules[n]
        destination, status = "", DestinationStatus.BANK_MISSING
        reinvests = investor_id in reinvesting
        if distribution.payment_method == PaymentMethod.STABLECOIN or reinvests:
            on_file = wallets.get(investor_id, [])
            held = top_wallet[investor_id][1]
            # Paid (or minted) to the wallet that held most of the units, while it is still on file.
            destination = held if held in on_file else (on_file[0] if on_file else "")
        if distribution.payment_method == PaymentMethod.STABLECOIN:
            status = DestinationStatus.WALLET if destination else DestinationStatus.NO_WALLET
        elif investor_id in with_bank_details:
            status = DestinationStatus.BANK_ACCOUNT
        net = allocation.net[n]
        split = reinvestment_split(net_minor=net, price_minor=price) if reinvests and price else None
        reinvest_units += split.units if split else 0
        batch.append(
            DistributionLine(
                distribution=distribution,
                line_index=n,
                investor_id=investor_id,
                balance_at_record=balances[n],
                gross_minor=allocation.gross[n],
                withholding_rate_bps=rule.rate_bps,
                withholding_reason=rule.reason,
                tax_form_id=standing.form_id if rule.form_applies else None,
                tax_form_kind=standing.form_kind,
                withheld_minor=allocation.withheld[n],
                net_minor=allocation.net[n],
                cash_minor=split.cash_minor if split else net,
                reinvest_units=split.units if split else 0,
                destination_status=status,
                destination_wallet=destination,
                reinvest=reinvests,
                idempotency_key=f"{key_prefix}:{investor_id}",
            )
        )
        if len(batch) == LINE_BATCH:
            DistributionLine.objects.bulk_create(batch)
            batch = []
    if batch:
        DistributionLine.objects.bulk_create(batch)
    distribution.register_computed_at = timezone.now()
    distribution.holders = len(ids)
    distribution.eligible_units = eligible
    distribution.excluded_units = excluded_units
    distribution.total_gross_minor = allocation.total_gross
    distribution.total_withheld_minor = allocation.total_withheld
    distribution.total_net_minor = allocation.total_net
    distribution.save(
        update_fields=[
            "record_id",
            "record_block",
            "register_computed_at",
            "holders",
            "eligible_units",
            "excluded_units",
            "total_gross_minor",
            "total_withheld_minor",
            "total_net_minor",
        ]
    )
    audit_record(
        actor=actor,
        action="distribution.register_computed",
        obj=distribution,
        issuer=distribution.offering.issuer,
        after={
            "record_id": distribution.record_id,
            "record_block": distribution.record_block,
            "holders": distribution.holders,
            "eligible_units": eligible,
            "excluded_units": excluded_units,
            "total_gross_minor": distribution.total_gross_minor,
            "total_withheld_minor": distribution.total_withheld_minor,
            "total_net_minor": distribution.total_net_minor,
            "reinvesting_holders": sum(1 for i in ids if i in reinvesting),
            "reinvest_units": reinvest_units,
        },
    )
