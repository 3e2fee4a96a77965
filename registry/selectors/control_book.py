"""Reads of the control book and the record differences reconciliation found."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Sum
from django.utils import timezone

from core.models import ApprovalRequest, ApprovalState
from offerings.models import Offering
from registry.models import (
    AUTHORIZATION_APPROVAL_KIND,
    ControlBookEntry,
    ControlEntryKind,
    IssuerAuthorization,
    Reconciliation,
    RecordDifference,
)
from registry.selectors.ledger import ledger_total
from tokens.selectors import explorer_url


@dataclass(frozen=True)
class DifferenceRow:
    difference: RecordDifference
    age_days: int
    aged: bool
    tx_url: str | None


def differences_open(*, offering: Offering, now: dt.datetime | None = None) -> list[DifferenceRow]:
    """Open record differences, oldest first, with their age in calendar days and whether they are aged."""
    now = now or timezone.now()
    rows = RecordDifference.objects.filter(offering=offering, resolved_at__isnull=True).order_by("arose_at", "id")
    return [
        DifferenceRow(
            difference=d,
            age_days=d.age(now).days,
            aged=d.aged(now),
            tx_url=explorer_url(d.transaction_hash or None),
        )
        for d in rows
    ]


def reconciliation_latest(*, offering: Offering) -> Reconciliation | None:
    return Reconciliation.objects.filter(offering=offering).order_by("-ran_at", "-id").first()


@dataclass(frozen=True)
class AuthorizationRow:
    authorization: IssuerAuthorization
    state: str  # "effective", "pending" (waiting for a second admin) or "not approved"
    approval: ApprovalRequest | None

    @property
    def declined(self) -> bool:
        """Not approved because the second admin declined it (not withdrawn by its proposer)."""
        return (
            self.state == "not approved" and self.approval is not None and self.approval.state == ApprovalState.REJECTED
        )


@dataclass(frozen=True)
class ControlBook:
    authorized: int | None
    issued: int
    ledger_total: int
    reconciliation: Reconciliation | None
    authorizations: list[AuthorizationRow]


# The history shown on the page; older records stay in the database and the admin.
AUTHORIZATIONS_SHOWN = 100


def authorization_rows(*, records: list[IssuerAuthorization]) -> list[AuthorizationRow]:
    """Each authorization with its four-eyes state and the approval that decided it (one query)."""
    approvals: dict[str, ApprovalRequest] = {}
    for request in (
        ApprovalRequest.objects.filter(
            kind=AUTHORIZATION_APPROVAL_KIND,
            object_type=IssuerAuthorization._meta.label_lower,
            object_id__in=[str(r.pk) for r in records],
        )
        .select_related("decided_by")
        .order_by("proposed_at", "pk")
    ):
        approvals[request.object_id] = request  # the latest request per record wins
    rows = []
    for record in records:
        approval = approvals.get(str(record.pk))
        if record.effective_at is not None:
            state = "effective"
        elif approval is not None and approval.state == ApprovalState.PENDING:
            state = "pending"
        else:
            state = "not approved"
        rows.append(AuthorizationRow(authorization=record, state=state, approval=approval))
    return rows


def control_book_of(*, offering: Offering) -> ControlBook:
    """Authorized, issued (control book), ledger total and the last reconciliation's on-chain supply, with
    the authorization history and each record's four-eyes state (a fixed number of queries)."""
    records = list(
        IssuerAuthorization.objects.filter(offering=offering)
        .select_related("recorded_by", "approved_by")
        .order_by("-recorded_at", "-id")[:AUTHORIZATIONS_SHOWN]
    )
    rows = authorization_rows(records=records)
    issued = 0
    for kind, total in (
        ControlBookEntry.objects.filter(offering=offering).values_list("kind").annotate(n=Sum("quantity")).order_by()
    ):
        issued += int(total) if kind == ControlEntryKind.ISSUE else -int(total)
    return ControlBook(
        authorized=IssuerAuthorization.objects.filter(offering=offering, effective_at__isnull=False)
        .order_by("-effective_at", "-id")
        .values_list("authorized_quantity", flat=True)
        .first(),
        issued=issued,
        ledger_total=ledger_total(offering=offering),
        reconciliation=reconciliation_latest(offering=offering),
        authorizations=rows,
    )
