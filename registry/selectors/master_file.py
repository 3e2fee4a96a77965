"""Reads for the transfer agent: the master securityholder file, the journal, the control book and
record differences of each token whose register a person may read (17Ad-9, 17Ad-10).

Every list is a queryset ordered by a unique key, so a page (or an API cursor) costs the same few
queries at any size of register.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db.models import IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.access import registry_issuer_ids
from core.models import Issuer, Role, User
from investors.models import InvestorProfile
from offerings.models import Offering, OfferingStatus
from registry.models import (
    AGED_AFTER_DAYS,
    ControlBookEntry,
    ControlEntryKind,
    IssuerAuthorization,
    LedgerPosting,
    Lot,
    LotMovement,
    Reconciliation,
    RecordDifference,
)
from registry.selectors.control_book import AuthorizationRow, authorization_rows
from registry.selectors.ledger import NOW, AsOf, ledger_block, ledger_total
from tokens.models import ContractDeployment, ContractKind


@dataclass(frozen=True)
class RegisterToken:
    offering: Offering
    address: str  # "" while the token is not deployed


@dataclass(frozen=True)
class RegisterIssuer:
    issuer: Issuer
    role: str
    tokens: list[RegisterToken]

    @property
    def role_label(self) -> str:
        return Role(self.role).label if self.role in Role.values else ""


def registers_of(*, user: User) -> list[RegisterIssuer]:
    """The issuers whose register `user` reads, with each published offering's token (three queries)."""
    issuer_ids = registry_issuer_ids(user)
    roles = dict(user.memberships.filter(issuer_id__in=issuer_ids).values_list("issuer_id", "role"))
    offerings = list(
        Offering.objects.filter(issuer_id__in=issuer_ids)
        .exclude(status=OfferingStatus.DRAFT)
        .select_related("issuer")
        .order_by("issuer__name", "title", "pk")
    )
    addresses = dict(
        ContractDeployment.objects.filter(
            chain_id=settings.CHAIN_ID,
            kind=ContractKind.SECURITY_TOKEN,
            owner_ref__in=[o.owner_ref for o in offerings],
        ).values_list("owner_ref", "address")
    )
    issuers = {i.pk: i for i in Issuer.objects.filter(pk__in=issuer_ids).order_by("name")}
    tokens: dict[int, list[RegisterToken]] = {pk: [] for pk in issuers}
    for o in offerings:
        tokens[o.issuer_id].append(RegisterToken(offering=o, address=addresses.get(o.owner_ref, "")))
    return [RegisterIssuer(issuer=i, role=roles.get(pk, ""), tokens=tokens[pk]) for pk, i in issuers.items()]


def register_offering(*, issuer: Issuer, public_id: uuid.UUID | str) -> Offering | None:
    """A published offering of the issuer (drafts have no register yet)."""
    return (
        Offering.objects.filter(issuer=issuer, public_id=public_id)
        .exclude(status=OfferingStatus.DRAFT)
        .select_related("issuer")
        .first()
    )


def token_address(*, offering: Offering) -> str:
    row = ContractDeployment.objects.filter(
        chain_id=settings.CHAIN_ID, kind=ContractKind.SECURITY_TOKEN, owner_ref=offering.owner_ref
    ).first()
    return row.address if row else ""


def as_of_end_of_day(day: dt.date) -> dt.datetime:
    """A register "as of" a calendar date includes the whole of that day (UTC, the chain's clock)."""
    return dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC)


def _units(offering: Offering, as_of: AsOf, key: str) -> Subquery:
    """Units left as of the point per row of the outer query, matched on `key` (a lot, an investor)."""
    movements = as_of.movements(LotMovement.objects.filter(lot__offering=offering, **{key: OuterRef("pk")}))
    return Subquery(movements.values(key).annotate(t=Sum("delta")).values("t")[:1], output_field=IntegerField())


def holdings_as_of(*, offering: Offering, as_of: AsOf = NOW, search: str = "") -> QuerySet[Lot]:
    """The master file's holdings: each lot with units left at the point, annotated `remaining`, by id.

    `search` matches the holder's name or reference, or a wallet address."""
    lots = (
        Lot.objects.filter(offering=offering)
        .annotate(remaining=Coalesce(_units(offering, as_of, "lot_id"), 0))
        .filter(remaining__gt=0)
        .select_related("investor")
    )
    search = search.strip()
    if search:
        match = Q(investor__legal_name__icontains=search) | Q(wallet__iexact=search)
        reference = _reference(search)
        if reference is not None:
            match |= Q(investor__public_id=reference)
        lots = lots.filter(match)
    return lots.order_by("id")


def _reference(text: str) -> uuid.UUID | None:
    """An investor's reference (the 32 hex digits the on-chain registry knows them by), else None."""
    try:
        return uuid.UUID(hex=text) if len(text) == 32 else None
    except ValueError:
        return None


def holders_as_of(*, offering: Offering, as_of: AsOf = NOW, search: str = "") -> QuerySet[InvestorProfile]:
    """Holders of record (persons) at the point, annotated `quantity` (their units across wallets), by id."""
    movements = as_of.movements(LotMovement.objects.filter(lot__offering=offering))
    holders = (
        InvestorProfile.objects.filter(pk__in=movements.values("lot__investor_id"))
        .annotate(quantity=Coalesce(_units(offering, as_of, "lot__investor_id"), 0))
        .filter(quantity__gt=0)
    )
    search = search.strip()
    if search:
        holders = holders.filter(Q(legal_name__icontains=search) | Q(wallets__address__iexact=search)).distinct()
    return holders.order_by("id")


def holder_wallets(*, offering: Offering, investor_ids: list[int], as_of: AsOf = NOW) -> dict[int, dict[str, int]]:
    """investor id → wallet → units, for one page of holders (one query)."""
    rows = (
        as_of.movements(LotMovement.objects.filter(lot__offering=offering, lot__investor_id__in=investor_ids))
        .values_list("lot__investor_id", "lot__wallet")
        .annotate(total=Sum("delta"))
        .order_by()
    )
    found: dict[int, dict[str, int]] = {}
    for investor_id, wallet, total in rows:
        if total:
            found.setdefault(investor_id, {})[wallet] = int(total)
    return found


def journal_postings(
    *, offering: Offering, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> QuerySet[LedgerPosting]:
    """The transaction journal for a period of block time (both ends included), in chain order."""
    rows = LedgerPosting.objects.filter(offering=offering).select_related("from_investor", "to_investor")
    if since is not None:
        rows = rows.filter(chain_time__gte=since)
    if until is not None:
        rows = rows.filter(chain_time__lte=until)
    return rows.order_by("block_number", "log_index")


@dataclass(frozen=True)
class ControlBook:
    authorized: int | None  # None: no written authorization in effect yet
    issued: int  # issued less cancelled, as the control book entered it
    ledger_total: int
    ledger_block: int | None
    last_reconciliation: Reconciliation | None
    authorizations: list[AuthorizationRow]  # each with its state: in effect, pending, not approved
    entries: list[ControlBookEntry]
    entries_count: int


CONTROL_BOOK_ROWS = 100  # the latest authorizations and entries shown; the API and exports give all


def control_book(*, offering: Offering) -> ControlBook:
    entries = ControlBookEntry.objects.filter(offering=offering)
    sums = entries.aggregate(
        issued=Coalesce(Sum("quantity", filter=Q(kind=ControlEntryKind.ISSUE)), 0),
        cancelled=Coalesce(Sum("quantity", filter=Q(kind=ControlEntryKind.CANCEL)), 0),
    )
    # A raise waiting for its second admin has authorized nothing yet.
    in_effect = (
        IssuerAuthorization.objects.filter(offering=offering, effective_at__isnull=False)
        .order_by("-effective_at", "-id")
        .first()
    )
    records = list(
        IssuerAuthorization.objects.filter(offering=offering)
        .select_related("recorded_by", "approved_by")
        .order_by("-recorded_at", "-id")[:CONTROL_BOOK_ROWS]
    )
    return ControlBook(
        authorized=in_effect.authorized_quantity if in_effect else None,
        issued=int(sums["issued"]) - int(sums["cancelled"]),
        ledger_total=ledger_total(offering=offering),
        ledger_block=ledger_block(offering=offering),
        last_reconciliation=Reconciliation.objects.filter(offering=offering).order_by("-ran_at", "-id").first(),
        authorizations=authorization_rows(records=records),
        entries=list(entries.select_related("authorization").order_by("-recorded_at", "-id")[:CONTROL_BOOK_ROWS]),
        entries_count=entries.count(),
    )


def control_book_entries(*, offering: Offering) -> QuerySet[ControlBookEntry]:
    """Every control book entry of the token by id (oldest first), for the API's cursor."""
    return ControlBookEntry.objects.filter(offering=offering).order_by("id")


def control_book_authorizations(*, offering: Offering) -> QuerySet[IssuerAuthorization]:
    """Every written authorization of the token by id (oldest first), for the API's cursor."""
    return IssuerAuthorization.objects.filter(offering=offering).order_by("id")


DIFFERENCE_STATES = {
    "open": "Open",
    "aged": "Aged (open more than 30 days)",
    "resolved": "Resolved",
    "all": "All",
}


def record_differences(
    *, offering: Offering, state: str = "open", now: dt.datetime | None = None
) -> QuerySet[RecordDifference]:
    """Record differences by id: open, aged (open and arisen more than 30 calendar days ago), resolved, or all."""
    now = now or timezone.now()
    rows = RecordDifference.objects.filter(offering=offering)
    if state in ("open", "aged"):
        rows = rows.filter(resolved_at__isnull=True)
    if state == "aged":
        rows = rows.filter(arose_at__lt=now - dt.timedelta(days=AGED_AFTER_DAYS))
    if state == "resolved":
        rows = rows.filter(resolved_at__isnull=False)
    return rows.order_by("id")
