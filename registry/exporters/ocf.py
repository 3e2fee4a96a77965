"""The cap table as an Open Cap Format 1.2.0 package, and the import that reads one back.

The package is a zip (`.ocf.zip`) holding `Manifest.ocf.json` (the issuer, the as-of date and each
file with its MD5, as the OCF manifest schema requires) and one file per object type: stakeholders,
stock classes (one per token), stock legend templates and transactions. Every object is built and
validated with pyocf's models (generated from the OCF 1.2.0 schemas) and written as soon as it is
made, so memory holds the per-lot state of the replay, never the whole package.

The package is the issuer's whole cap table: every token of the issuer is a stock class, and an
investor is one stakeholder across all of them.

How the ledger maps onto OCF: each lot is a security. A mint issues one (TX_STOCK_ISSUANCE); a
transfer consumes the sender's security (TX_STOCK_TRANSFER) and names the resulting security of the
receiver and, when units stay behind, the sender's balance security (OCF securities are consumed
whole); each is then issued on the transfer's date. A burn is a TX_STOCK_CANCELLATION with a balance
security likewise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import tempfile
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from django.db.models import Count, Q
from django.utils import timezone
from pydantic import BaseModel, ValidationError
from pyocf.enums.addresstype import AddressType
from pyocf.enums.authorizedshares import AuthorizedShares
from pyocf.enums.stakeholdertype import StakeholderType
from pyocf.enums.stockclasstype import StockClassType
from pyocf.files.ocfmanifestfile import OCFManifestFile
from pyocf.files.stakeholdersfile import StakeholdersFile
from pyocf.files.stockclassesfile import StockClassesFile
from pyocf.files.stocklegendtemplatesfile import StockLegendTemplatesFile
from pyocf.files.transactionsfile import TransactionsFile
from pyocf.objects.issuer import Issuer as OcfIssuer
from pyocf.objects.stakeholder import Stakeholder
from pyocf.objects.stockclass import StockClass
from pyocf.objects.stocklegendtemplate import StockLegendTemplate
from pyocf.objects.transactions.cancellation.stockcancellation import StockCancellation
from pyocf.objects.transactions.issuance.stockissuance import StockIssuance
from pyocf.objects.transactions.transfer.stocktransfer import StockTransfer
from pyocf.types.address import Address
from pyocf.types.file import File
from pyocf.types.monetary import Monetary
from pyocf.types.name import Name
from pyocf.types.securityexemption import SecurityExemption

from compliance.exemptions import Exemption
from core.csv import Cell
from core.errors import ApplicationError
from core.money import CURRENCY_EXPONENTS
from registry.exporters.base import OCF, Exporter, ExportError, ExportParams, Progress
from registry.legends import legend_for
from registry.models import IssuerAuthorization, Lot, LotMovement, PostingKind
from registry.selectors.holders import HolderDetails, holder_details

if TYPE_CHECKING:
    from offerings.models import Offering

MANIFEST = "Manifest.ocf.json"
STAKEHOLDERS, STOCK_CLASSES, LEGENDS, TRANSACTIONS = (
    "stakeholders.ocf.json",
    "stock_classes.ocf.json",
    "stock_legend_templates.ocf.json",
    "transactions.ocf.json",
)
REASONS = {
    PostingKind.TRANSFER: "Transfer between holders",
    PostingKind.FORCED_TRANSFER: "Forced transfer by the transfer agent",
    PostingKind.RECOVERY: "Recovery of a lost wallet",
}


class OcfImportError(ApplicationError):
    """The file is not an Open Cap Format package this portal can read; `message` says what is wrong."""

    code = "ocf_invalid"


def _money(minor: int, currency: str) -> Monetary:
    exponent = CURRENCY_EXPONENTS.get(currency.upper(), 2)
    return Monetary(amount=Decimal(minor).scaleb(-exponent), currency=currency.upper()[:3])


def _stakeholder_id(investor_ref: str | None, wallet: str) -> str:
    return f"holder-{investor_ref}" if investor_ref else f"wallet-{wallet.lower()}"


def _security_id(symbol: str, lot_id: int, version: int) -> str:
    return f"{symbol}-{lot_id}" if version == 0 else f"{symbol}-{lot_id}.{version}"


def _stakeholder(details: HolderDetails | None, wallet: str) -> Stakeholder:
    if details is None:
        return Stakeholder(
            id=_stakeholder_id(None, wallet),
            name=Name(legal_name=f"Unregistered wallet {wallet}"),
            stakeholder_type=StakeholderType.ENUM_INSTITUTION,
            comments=["The wallet holds units but is not linked to a registered holder."],
        )
    addresses = None
    if len(details.country) == 2:
        addresses = [
            Address(
                address_type=AddressType.ENUM_LEGAL,
                street_suite=details.address or None,
                country=details.country,
            )
        ]
    return Stakeholder(
        id=_stakeholder_id(details.reference, wallet),
        name=Name(legal_name=details.legal_name or f"Holder {details.reference}"),
        stakeholder_type=(
            StakeholderType.ENUM_INSTITUTION
            if details.holder_type.startswith("Entity")
            else StakeholderType.ENUM_INDIVIDUAL
        ),
        issuer_assigned_id=details.reference,
        addresses=addresses,
    )


class _Json:
    """One OCF file, spooled to disk as its objects are made, with the MD5 of what was written."""

    def __init__(self, path: str, file_type: str) -> None:
        self.path = path
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - closed in `into`
        self.count = 0
        self._emit(f'{{"file_type":"{file_type}","items":['.encode())

    def _emit(self, data: bytes) -> None:
        self.md5.update(data)
        self.spool.write(data)

    def add(self, item: BaseModel) -> None:
        self._emit((b"," if self.count else b"") + item.model_dump_json(exclude_none=True).encode())
        self.count += 1

    def into(self, package: zipfile.ZipFile) -> File:
        """Finish the file, copy it into the package and say where it is and what its MD5 is."""
        self._emit(b"]}")
        self.spool.seek(0)
        with package.open(self.path, "w", force_zip64=True) as entry:
            shutil.copyfileobj(self.spool, entry, 1 << 20)
        self.spool.close()
        return File(filepath=self.path, md5=self.md5.hexdigest())


@dataclass
class _LotState:
    security: str
    remaining: int
    stakeholder: str
    exemption: str = ""
    cost_basis_minor: int | None = None
    currency: str = ""
    version: int = 0


@dataclass(frozen=True)
class _NewLot:
    """A lot opened by a posting, as the transactions need it."""

    lot_id: int
    quantity: int
    investor_id: int | None
    wallet: str
    source_id: int | None
    exemption: str
    cost_basis_minor: int | None
    currency: str


def issuer_offerings(offering: Offering) -> list[Offering]:
    """Every token of the offering's issuer with a register (drafts have none), in the order they were made."""
    from offerings.models import Offering, OfferingStatus

    return list(
        Offering.objects.filter(issuer_id=offering.issuer_id).exclude(status=OfferingStatus.DRAFT).order_by("pk")
        or [offering]
    )


def stock_class_ids(offerings: Sequence[Offering]) -> dict[int, str]:
    """offering id → its stock class id: the token symbol, with the offering's id where two share one."""
    counts: dict[str, int] = defaultdict(int)
    for o in offerings:
        counts[o.token_symbol] += 1
    return {o.pk: f"class-{o.token_symbol}" + (f"-{o.pk}" if counts[o.token_symbol] > 1 else "") for o in offerings}


class OcfCapTableExporter(Exporter):
    identifier = "cap_table_ocf"
    verbose_name = "Cap table (Open Cap Format 1.2.0)"
    description = (
        "The issuer's whole cap table: every token as a stock class, its stakeholders, legends and every "
        "issuance, transfer and cancellation."
    )
    formats = (OCF,)
    holder_data = True
    takes = frozenset({"as_of", "block"})
    columns = ()

    def _movements(self, offerings: Sequence[Offering], params: ExportParams) -> Any:
        return params.point.movements(LotMovement.objects.filter(lot__offering__in=[o.pk for o in offerings]))

    def filename(self, offering: Offering, params: ExportParams, fmt: str) -> str:
        slug = "".join(ch for ch in offering.issuer.slug if ch.isalnum() or ch == "-") or "issuer"
        return f"{slug}-{self.identifier}-{params.slug()}.ocf.zip"

    def row_count(self, offering: Offering, params: ExportParams) -> int:
        """Stakeholders plus transactions, estimated from the lots and movements (balance issuances aside)."""
        counts = self._movements(issuer_offerings(offering), params).aggregate(
            n=Count("id"), out=Count("id", filter=Q(delta__lt=0)), holders=Count("lot__investor", distinct=True)
        )
        return int(counts["holders"] or 0) + int(counts["n"] or 0) + int(counts["out"] or 0)

    def rows(self, offering: Offering, params: ExportParams) -> Iterator[Sequence[Cell]]:
        """The package's objects, one row each: file, object type, id."""
        for path, obj in self.objects(offering, params):
            yield (path, str(getattr(obj, "object_type", "")), str(getattr(obj, "id", "")))

    def _issuer(self, offering: Offering, params: ExportParams) -> OcfIssuer:
        issuer = offering.issuer
        comments = [f"Jurisdiction of incorporation: {issuer.jurisdiction}."]
        formation = issuer.formation_date
        if formation is None:
            # OCF requires a formation date; without the issuer's own, the date it joined stands in, and says so.
            formation = issuer.created_at.date()
            comments.append("The date of incorporation is not recorded: formation_date is when the issuer joined.")
        return OcfIssuer(
            id=f"issuer-{issuer.slug}",
            legal_name=issuer.legal_name or issuer.name,
            dba=issuer.name if issuer.legal_name and issuer.name != issuer.legal_name else None,
            formation_date=formation,
            country_of_formation=str(issuer.country or "US"),
            comments=comments,
        )

    def _stock_class(self, offering: Offering, params: ExportParams, class_id: str) -> StockClass:
        # Only authorizations in effect count: a raise waiting for its second admin has authorized nothing.
        authorizations = IssuerAuthorization.objects.filter(offering=offering, effective_at__isnull=False)
        if params.as_of_moment is not None:
            authorizations = authorizations.filter(effective_at__lte=params.as_of_moment)
        latest = authorizations.order_by("-effective_at", "-id").first()
        return StockClass(
            id=class_id,
            name=f"{offering.token_name} ({offering.token_symbol})",
            class_type=StockClassType.ENUM_COMMON,
            default_id_prefix=f"{offering.token_symbol}-",
            initial_shares_authorized=(
                Decimal(latest.authorized_quantity) if latest else AuthorizedShares.ENUM_NOTAPPLICABLE
            ),
            board_approval_date=latest.authorized_on if latest else None,
            votes_per_share=Decimal(1),
            seniority=Decimal(1),
            price_per_share=_money(offering.price_minor, offering.currency),
            comments=[
                f"Security token {offering.token_symbol}; security type: {offering.get_security_type_display()}."
            ],
        )

    def objects(self, offering: Offering, params: ExportParams) -> Iterator[tuple[str, BaseModel]]:
        """Every object of the package in the order it is written: legends, the issuer's stock classes (one per
        token), the stakeholders across them, then each token's transactions."""
        offerings = issuer_offerings(offering)
        class_ids = stock_class_ids(offerings)
        movements = self._movements(offerings, params)
        exemptions = {o.exemption for o in offerings} | set(
            Lot.objects.filter(pk__in=movements.values("lot_id")).values_list("exemption", flat=True).distinct()
        )
        legends = {legend.identifier: legend for e in sorted(exemptions) if (legend := legend_for(e)) is not None}
        for legend in legends.values():
            yield LEGENDS, StockLegendTemplate(id=legend.identifier, name=legend.name, text=legend.text)
        for o in offerings:
            yield STOCK_CLASSES, self._stock_class(o, params, class_ids[o.pk])

        # Stakeholders: everyone who held units of any token up to the point, in chunks, through the holders
        # selector; an investor is one stakeholder across every token and wallet.
        holders = (
            Lot.objects.filter(pk__in=movements.values("lot_id"))
            .values_list("investor_id", "wallet")
            .order_by("investor_id", "wallet")
            .distinct()
        )
        stakeholder_of_investor: dict[int, str] = {}
        seen_wallets: set[str] = set()
        batch: list[tuple[int | None, str]] = []

        def flush() -> Iterator[tuple[str, BaseModel]]:
            details = holder_details(investor_ids={i for i, _ in batch if i is not None}, at=params.as_of_moment)
            for investor_id, wallet in batch:
                if investor_id is not None:
                    if investor_id in stakeholder_of_investor:
                        continue
                    d = details.get(investor_id)
                    holder = _stakeholder(d, wallet)
                    stakeholder_of_investor[investor_id] = holder.id
                else:
                    if wallet in seen_wallets:
                        continue
                    seen_wallets.add(wallet)
                    holder = _stakeholder(None, wallet)
                yield STAKEHOLDERS, holder
            batch.clear()

        for row in holders.iterator(chunk_size=self.chunk_size):
            batch.append(row)
            if len(batch) >= self.chunk_size:
                yield from flush()
        yield from flush()

        for o in offerings:
            yield from self._transactions(o, class_ids[o.pk], params, stakeholder_of_investor)

    def _transactions(
        self, offering: Offering, class_id: str, params: ExportParams, stakeholder_of_investor: dict[int, str]
    ) -> Iterator[tuple[str, BaseModel]]:
        """One token's postings replayed in chain order. A mint is a TX_STOCK_ISSUANCE. A transfer is a
        TX_STOCK_TRANSFER of each source security, naming the transferees' securities (`resulting_security_ids`)
        and the remainder's (`balance_security_id`); each of those is then issued on the transfer's date, as OCF
        requires, carrying the units' own exemption and legend, and the price and cost basis the holder paid
        where the register knows them. A burn is a TX_STOCK_CANCELLATION with its balance security likewise."""
        symbol = offering.token_symbol
        issue_price = _money(offering.price_minor, offering.currency)
        lots: dict[int, _LotState] = {}

        def stakeholder(investor_id: int | None, wallet: str) -> str:
            if investor_id is not None and investor_id in stakeholder_of_investor:
                return stakeholder_of_investor[investor_id]
            return _stakeholder_id(None, wallet)

        def issuance(
            security: str, holder: str, lot: _NewLot | _LotState, quantity: int, day: dt.date, tx: str, note: str
        ) -> StockIssuance:
            exemption = lot.exemption or offering.exemption
            legend = legend_for(exemption)
            cost = lot.cost_basis_minor
            currency = lot.currency or offering.currency
            if cost is not None and quantity:
                price = _money(cost // quantity, currency)
                cost_basis = _money(cost, currency)
                comments = []
            else:
                price, cost_basis = issue_price, None
                comments = ["The register does not know what this holder paid: share_price is the issue price."]
            return StockIssuance(
                id=f"tx-issue-{security}",
                security_id=security,
                custom_id=security,
                stakeholder_id=holder,
                stock_class_id=class_id,
                date=day,
                quantity=Decimal(quantity),
                share_price=price,
                cost_basis=cost_basis,
                stock_legend_ids=[legend.identifier] if legend else [],
                security_law_exemptions=[SecurityExemption(description=Exemption(exemption).label, jurisdiction="US")]
                if exemption in Exemption.values
                else [],
                consideration_text=note,
                comments=[*comments, f"Transaction {tx}"] if tx else comments or None,
            )

        rows = (
            self._movements([offering], params)
            .order_by("block_number", "posting__log_index", "delta", "lot_id")
            .values_list(
                "posting_id",
                "posting__kind",
                "chain_time",
                "posting__reason",
                "posting__transaction_hash",
                "lot_id",
                "delta",
                "lot__investor_id",
                "lot__wallet",
                "lot__source_id",
                "lot__exemption",
                "lot__cost_basis_minor",
                "lot__currency",
            )
        )
        current: list[tuple[Any, ...]] = []

        def posting_done() -> Iterator[tuple[str, BaseModel]]:
            if not current:
                return
            _, kind, when, reason, tx, *_ = current[0]
            day = when.astimezone(dt.UTC).date()
            opened = [_NewLot(r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12]) for r in current if r[6] > 0]
            by_source: dict[int, list[_NewLot]] = defaultdict(list)
            for new in opened:
                if new.source_id is not None:
                    by_source[new.source_id].append(new)
            if kind == PostingKind.MINT:
                for new in opened:
                    holder = stakeholder(new.investor_id, new.wallet)
                    security = _security_id(symbol, new.lot_id, 0)
                    lots[new.lot_id] = _LotState(
                        security=security,
                        remaining=new.quantity,
                        stakeholder=holder,
                        exemption=new.exemption,
                        cost_basis_minor=new.cost_basis_minor,
                        currency=new.currency,
                    )
                    yield TRANSACTIONS, issuance(security, holder, new, new.quantity, day, tx, "Issued on-chain (mint)")
                current.clear()
                return
            for r in (r for r in current if r[6] < 0):
                state = lots[r[5]]
                part = -r[6]
                source_security = state.security
                before = state.remaining
                state.remaining -= part
                balance = None
                if state.remaining > 0:
                    state.version += 1
                    state.security = balance = _security_id(symbol, r[5], state.version)
                    if state.cost_basis_minor is not None:
                        # The remainder keeps its share of what the holder paid.
                        state.cost_basis_minor = state.cost_basis_minor * state.remaining // before
                resulting = []
                for new in by_source.get(r[5], []):
                    holder = stakeholder(new.investor_id, new.wallet)
                    security = _security_id(symbol, new.lot_id, 0)
                    lots[new.lot_id] = _LotState(
                        security=security,
                        remaining=new.quantity,
                        stakeholder=holder,
                        exemption=new.exemption,
                        cost_basis_minor=new.cost_basis_minor,
                        currency=new.currency,
                    )
                    resulting.append((security, holder, new))
                if kind == PostingKind.BURN:
                    yield (
                        TRANSACTIONS,
                        StockCancellation(
                            id=f"tx-cancel-{source_security}",
                            security_id=source_security,
                            date=day,
                            quantity=Decimal(part),
                            balance_security_id=balance,
                            reason_text=reason or "Units burned on-chain",
                            comments=[f"Transaction {tx}"],
                        ),
                    )
                else:
                    transfer_id = f"tx-transfer-{source_security}"
                    yield (
                        TRANSACTIONS,
                        StockTransfer(
                            id=transfer_id,
                            security_id=source_security,
                            date=day,
                            quantity=Decimal(part),
                            resulting_security_ids=[s for s, _, _ in resulting],
                            balance_security_id=balance,
                            consideration_text=REASONS.get(kind, "Transfer") + (f": {reason}" if reason else ""),
                            comments=[f"Transaction {tx}"],
                        ),
                    )
                    for security, holder, new in resulting:
                        yield (
                            TRANSACTIONS,
                            issuance(
                                security,
                                holder,
                                new,
                                new.quantity,
                                day,
                                tx,
                                f"Resulting security of {transfer_id} ({source_security} transferred)",
                            ),
                        )
                if balance is not None:
                    yield (
                        TRANSACTIONS,
                        issuance(
                            balance,
                            state.stakeholder,
                            state,
                            state.remaining,
                            day,
                            tx,
                            f"Balance security of {source_security} after a partial "
                            + ("cancellation" if kind == PostingKind.BURN else "transfer"),
                        ),
                    )
            current.clear()

        for row in rows.iterator(chunk_size=self.chunk_size):
            if current and current[0][0] != row[0]:
                yield from posting_done()
            current.append(row)
        yield from posting_done()

    def write(
        self, *, offering: Offering, params: ExportParams, fmt: str, out: IO[bytes], progress: Progress | None = None
    ) -> int:
        if fmt != OCF:
            raise ExportError(f"{self.verbose_name} is written only as an .ocf.zip package.", code="format_unsupported")
        written = 0
        files = {
            LEGENDS: _Json(LEGENDS, "OCF_STOCK_LEGEND_TEMPLATES_FILE"),
            STOCK_CLASSES: _Json(STOCK_CLASSES, "OCF_STOCK_CLASSES_FILE"),
            STAKEHOLDERS: _Json(STAKEHOLDERS, "OCF_STAKEHOLDERS_FILE"),
            TRANSACTIONS: _Json(TRANSACTIONS, "OCF_TRANSACTIONS_FILE"),
        }
        for path, obj in self.objects(offering, params):
            files[path].add(obj)
            written += 1
            if progress is not None and written % 1000 == 0:
                progress(written)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as package:
            closed = {path: f.into(package) for path, f in files.items()}
            manifest = OCFManifestFile(
                issuer=self._issuer(offering, params),
                as_of=params.as_of_date or timezone.now().date(),
                generated_at=timezone.now().isoformat(),
                comments=[f"Exported by Tessera: {params.describe()}."],
                stock_plans_files=[],
                stock_legend_templates_files=[closed[LEGENDS]],
                stock_classes_files=[closed[STOCK_CLASSES]],
                vesting_terms_files=[],
                valuations_files=[],
                transactions_files=[closed[TRANSACTIONS]],
                stakeholders_files=[closed[STAKEHOLDERS]],
            )
            package.writestr(MANIFEST, manifest.model_dump_json(exclude_none=True))
        if progress is not None:
            progress(written)
        return written


@dataclass
class OcfCapTable:
    """What an OCF package says, read back: the issuer, classes, stakeholders and what each holds."""

    issuer_name: str
    as_of: dt.date
    stock_classes: dict[str, str]  # id → name
    legends: dict[str, str]  # id → name
    stakeholders: dict[str, Stakeholder]
    securities: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # id → (holder, class, quantity)
    transactions: int = 0

    def holdings(self) -> dict[str, int]:
        """stakeholder id → units outstanding, over all their securities."""
        totals: dict[str, int] = defaultdict(int)
        for holder, _, quantity in self.securities.values():
            totals[holder] += quantity
        return {holder: n for holder, n in totals.items() if n}

    def holdings_by_class(self) -> dict[tuple[str, str], int]:
        """(stakeholder id, stock class id) → units outstanding."""
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for holder, stock_class, quantity in self.securities.values():
            totals[holder, stock_class] += quantity
        return {key: n for key, n in totals.items() if n}


FILE_MODELS: dict[str, Any] = {
    "stakeholders_files": StakeholdersFile,
    "stock_classes_files": StockClassesFile,
    "stock_legend_templates_files": StockLegendTemplatesFile,
    "transactions_files": TransactionsFile,
}


def _whole(value: Any, what: str) -> int:
    number = Decimal(str(getattr(value, "root", value)))
    if number != number.to_integral_value() or number < 0:
        raise OcfImportError(f"{what} is {number}: the register holds whole, non-negative units.", code="ocf_fraction")
    return int(number)


def _validation_message(where: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    location = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where} does not follow Open Cap Format 1.2.0: {location}: {first.get('msg', 'invalid')}."


@dataclass(frozen=True)
class OcfLimits:
    """What a package may expand to when read: each file is read whole, so a small zip that unpacks to
    gigabytes (a zip bomb) is refused before it is read."""

    max_entries: int = 64
    max_total_bytes: int = 4 << 30
    max_ratio: int = 1000  # uncompressed ÷ compressed, for files over a megabyte

    def check(self, package: zipfile.ZipFile) -> None:
        entries = package.infolist()
        if len(entries) > self.max_entries:
            raise OcfImportError(
                f"The package holds {len(entries)} files; an OCF package holds a handful.", code="ocf_too_big"
            )
        total = sum(e.file_size for e in entries)
        if total > self.max_total_bytes:
            raise OcfImportError(
                f"The package unpacks to {total >> 20:,} MB, more than the {self.max_total_bytes >> 20:,} MB read.",
                code="ocf_too_big",
            )
        for e in entries:
            if e.file_size > 1 << 20 and e.file_size > self.max_ratio * max(e.compress_size, 1):
                raise OcfImportError(
                    f"{e.filename} unpacks to {e.file_size // max(e.compress_size, 1):,} times its packed size: "
                    "refused as a likely zip bomb.",
                    code="ocf_too_big",
                )


def _entry(package: zipfile.ZipFile, name: str) -> bytes:
    """A file's bytes, never more than the size its header declared (a header that lies is refused)."""
    info = package.getinfo(name)
    with package.open(info) as handle:
        data = handle.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise OcfImportError(f"{name} is larger than its zip header says.", code="ocf_too_big")
    return data


def ocf_package_read(source: IO[bytes] | str, *, limits: OcfLimits | None = None) -> OcfCapTable:
    """Read an `.ocf.zip`: check every file against the manifest's MD5 and the OCF 1.2.0 schemas, then replay
    the stock transactions to what each stakeholder holds. Raises OcfImportError with the first problem."""
    try:
        package = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError):
        raise OcfImportError("This is not a zip file: an OCF package is an .ocf.zip.", code="ocf_not_zip") from None
    with package:
        (limits or OcfLimits()).check(package)
        names = set(package.namelist())
        if MANIFEST not in names:
            raise OcfImportError(f"The package has no {MANIFEST}.", code="ocf_no_manifest")
        try:
            manifest = OCFManifestFile(**json.loads(_entry(package, MANIFEST)))
        except (zipfile.BadZipFile, zlib.error):
            raise OcfImportError(f"{MANIFEST} is damaged in the zip.", code="ocf_not_zip") from None
        except (ValueError, TypeError) as exc:
            if isinstance(exc, ValidationError):
                raise OcfImportError(_validation_message(MANIFEST, exc), code="ocf_schema") from None
            raise OcfImportError(f"{MANIFEST} is not valid JSON.", code="ocf_json") from None
        items: dict[str, list[Any]] = {key: [] for key in FILE_MODELS}
        for key, model in FILE_MODELS.items():
            for entry in getattr(manifest, key) or []:
                if entry.filepath not in names:
                    raise OcfImportError(f"The manifest lists {entry.filepath}, which is not in the package.")
                try:
                    data = _entry(package, entry.filepath)
                except (zipfile.BadZipFile, zlib.error):
                    raise OcfImportError(f"{entry.filepath} is damaged in the zip.", code="ocf_not_zip") from None
                if hashlib.md5(data, usedforsecurity=False).hexdigest() != str(entry.md5.root):
                    raise OcfImportError(f"{entry.filepath} does not match its MD5 in the manifest.", code="ocf_md5")
                try:
                    items[key].extend(model(**json.loads(data)).items)
                except ValidationError as exc:
                    raise OcfImportError(_validation_message(entry.filepath, exc), code="ocf_schema") from None
                except (ValueError, TypeError):
                    raise OcfImportError(f"{entry.filepath} is not valid JSON.", code="ocf_json") from None
    table = OcfCapTable(
        issuer_name=manifest.issuer.legal_name,
        as_of=manifest.as_of.root,
        stock_classes={c.id: c.name for c in items["stock_classes_files"]},
        legends={t.id: t.name for t in items["stock_legend_templates_files"]},
        stakeholders={s.id: s for s in items["stakeholders_files"]},
    )
    _replay(table, items["transactions_files"])
    return table


def _replay(table: OcfCapTable, transactions: Iterable[Any]) -> None:
    """Securities outstanding after the stock transactions, in date order (file order within a day)."""
    promised: dict[str, str] = {}  # security id → the transaction that said it would be issued
    ordered = sorted(enumerate(transactions), key=lambda pair: (pair[1].date.root, pair[0]))
    for _, tx in ordered:
        table.transactions += 1
        kind = tx.object_type
        if kind == "TX_STOCK_ISSUANCE":
            if tx.stakeholder_id not in table.stakeholders:
                raise OcfImportError(f"Issuance {tx.id} names stakeholder {tx.stakeholder_id}, who is not listed.")
            if tx.stock_class_id not in table.stock_classes:
                raise OcfImportError(f"Issuance {tx.id} names stock class {tx.stock_class_id}, which is not listed.")
            if tx.security_id in table.securities:
                raise OcfImportError(f"Security {tx.security_id} is issued twice.", code="ocf_duplicate")
            promised.pop(tx.security_id, None)
            table.securities[tx.security_id] = (
                tx.stakeholder_id,
                tx.stock_class_id,
                _whole(tx.quantity, f"Issuance {tx.id}'s quantity"),
            )
        elif kind in ("TX_STOCK_TRANSFER", "TX_STOCK_CANCELLATION"):
            held = table.securities.pop(tx.security_id, None)
            if held is None:
                raise OcfImportError(f"{tx.id} moves security {tx.security_id}, which is not outstanding then.")
            quantity = _whole(tx.quantity, f"{tx.id}'s quantity")
            if quantity > held[2]:
                raise OcfImportError(f"{tx.id} moves {quantity} units of {tx.security_id}, which holds {held[2]}.")
            later = list(getattr(tx, "resulting_security_ids", None) or [])
            if tx.balance_security_id:
                later.append(tx.balance_security_id)
            for security in later:
                promised[security] = tx.id
        # Other transaction types (options, warrants, vesting) do not move stock the register holds.
    if promised:
        security, tx_id = next(iter(promised.items()))
        raise OcfImportError(f"{tx_id} names security {security}, but no issuance of it follows.")
