"""Reconciliation: control book issued, on-chain total supply and ledger total, per token.

Each run posts what is new (ledger and control book first), compares the three numbers and records
every record difference (17Ad-9) with the transaction that caused it and its age: a difference still
found keeps the moment it arose; one no longer found is resolved.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Min, Sum
from django.utils import timezone

from core.audit import audit_record
from offerings.models import Offering
from registry.models import (
    ControlBookEntry,
    DifferenceKind,
    LedgerPosting,
    PostingKind,
    Reconciliation,
    RecordDifference,
)
from registry.selectors.ledger import ledger_block, ledger_total
from registry.services.control_book import authorized_quantity_of, control_book_post_issuances
from registry.services.ledger import ledger_sync, offerings_with_tokens
from tokens.selectors import token_deployment, token_total_supply

# The differences this run finds, and so may resolve; a distribution's record-date difference is resolved by a person.
RECONCILED_KINDS = (
    DifferenceKind.UNRECORDED_ISSUANCE,
    DifferenceKind.UNPOSTED_ISSUANCE,
    DifferenceKind.LEDGER_VS_SUPPLY,
    DifferenceKind.OVER_AUTHORIZED,
)


@dataclass(frozen=True)
class _Found:
    kind: str
    transaction_hash: str
    expected: int
    actual: int
    arose_at: dt.datetime | None


def _issuance_by_transaction(offering: Offering) -> tuple[dict[str, int], dict[str, int], dict[str, dt.datetime]]:
    """Per transaction hash: net units the control book entered, net units the ledger minted or burned."""
    control: dict[str, int] = defaultdict(int)
    for entry in ControlBookEntry.objects.filter(offering=offering):
        control[entry.transaction_hash] += entry.signed_quantity
    ledger: dict[str, int] = defaultdict(int)
    when: dict[str, dt.datetime] = {}
    rows = (
        LedgerPosting.objects.filter(offering=offering, kind__in=[PostingKind.MINT, PostingKind.BURN])
        .values_list("transaction_hash", "kind")
        .annotate(n=Sum("quantity"), at=Min("chain_time"))
        .order_by()
    )
    for tx_hash, kind, n, at in rows:
        ledger[tx_hash] += int(n) if kind == PostingKind.MINT else -int(n)
        when[tx_hash] = at
    return control, ledger, when


def reconcile(*, offering: Offering) -> Reconciliation | None:
    """Reconcile one token; None when it has no deployed token yet."""
    deployment = token_deployment(owner_ref=offering.owner_ref)
    if deployment is None or not deployment.address:
        return None
    ledger_sync(offering=offering)
    control_book_post_issuances(offering=offering)
    now = timezone.now()
    block = ledger_block(offering=offering)
    total = ledger_total(offering=offering)
    # Supply read at the ledger's last posted block, so blocks not yet final are not a difference.
    supply = token_total_supply(address=deployment.address, block=block) if block is not None else 0
    authorized = authorized_quantity_of(offering=offering)
    control, ledger, when = _issuance_by_transaction(offering)
    issued = sum(control.values())

    found: list[_Found] = []
    for tx_hash in sorted(set(control) | set(ledger)):
        expected, actual = control.get(tx_hash, 0), ledger.get(tx_hash, 0)
        if expected == actual:
            continue
        kind = DifferenceKind.UNRECORDED_ISSUANCE if actual != 0 else DifferenceKind.UNPOSTED_ISSUANCE
        found.append(_Found(kind, tx_hash, expected, actual, when.get(tx_hash)))
    if total != supply:
        found.append(_Found(DifferenceKind.LEDGER_VS_SUPPLY, "", supply, total, None))
    if authorized is not None and issued > authorized:
        found.append(_Found(DifferenceKind.OVER_AUTHORIZED, "", authorized, issued, None))

    with transaction.atomic():
        Offering.objects.select_for_update().only("pk").get(pk=offering.pk)
        open_rows = {
            (d.kind, d.transaction_hash): d
            for d in RecordDifference.objects.select_for_update().filter(
                offering=offering, resolved_at__isnull=True, kind__in=RECONCILED_KINDS
            )
        }
        seen = set()
        for f in found:
            key = (f.kind, f.transaction_hash)
            seen.add(key)
            row = open_rows.get(key)
            if row is None:
                row = RecordDifference.objects.create(
                    offering=offering,
                    kind=f.kind,
                    transaction_hash=f.transaction_hash,
                    expected=f.expected,
                    actual=f.actual,
                    arose_at=f.arose_at or now,
                    first_found_at=now,
                    last_found_at=now,
                )
                audit_record(
                    actor="reconciliation",
                    action="registry.difference_found",
                    obj=row,
                    after={
                        "kind": f.kind,
                        "transaction": f.transaction_hash,
                        "expected": f.expected,
                        "actual": f.actual,
                    },
                    issuer=offering.issuer,
                )
            else:
                before = {"expected": row.expected, "actual": row.actual}
                row.expected, row.actual, row.last_found_at = f.expected, f.actual, now
                row.save(update_fields=["expected", "actual", "last_found_at"])
                if before != {"expected": f.expected, "actual": f.actual}:
                    audit_record(
                        actor="reconciliation",
                        action="registry.difference_changed",
                        obj=row,
                        before=before,
                        after={"expected": f.expected, "actual": f.actual},
                        issuer=offering.issuer,
                    )
        for key, row in open_rows.items():
            if key not in seen:
                row.resolved_at = now
                row.save(update_fields=["resolved_at"])
                audit_record(
                    actor="reconciliation",
                    action="registry.difference_resolved",
                    obj=row,
                    after={"resolved_at": now.isoformat()},
                    issuer=offering.issuer,
                )
        run = Reconciliation.objects.create(
            offering=offering,
            authorized=authorized,
            issued=issued,
            on_chain_supply=supply,
            ledger_total=total,
            ledger_block=block if block is not None else -1,
            differences_open=len(found),
            ran_at=now,
        )
        audit_record(
            actor="reconciliation",
            action="registry.reconciled",
            obj=run,
            after={
                "authorized": authorized,
                "issued": issued,
                "on_chain_supply": supply,
                "ledger_total": total,
                "block": run.ledger_block,
                "differences_open": len(found),
            },
            issuer=offering.issuer,
        )
    return run


def reconcile_all() -> int:
    """Reconcile every token (the scheduled task); returns how many tokens were reconciled."""
    done = 0
    for offering in Offering.objects.filter(pk__in=offerings_with_tokens()).order_by("pk"):
        if reconcile(offering=offering) is not None:
            done += 1
    return done
