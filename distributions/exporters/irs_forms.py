"""The data of the IRS information returns for an issuer's distributions paid in a tax year, one row per
form, with the forms' box numbers in the column titles (REGULATORY.md, "Tax on distributions (US)").

- Form 1099-DIV, US recipients of dividends and returns of capital: box 1a total ordinary dividends,
  box 1b qualified dividends, box 3 nondividend distributions (a return of capital, which reduces the
  holder's cost basis), box 4 federal income tax withheld (backup withholding, 26 USC 3406).
- Form 1099-INT, US recipients of interest: box 1 interest income, box 4 federal income tax withheld.
- Form 1042-S, non-US recipients of dividends (income code 06) and interest (income code 01): one form
  per income code and rate, box 2 gross income, box 3 chapter indicator, boxes 3a/3b the chapter 3
  exemption code and tax rate, boxes 4a/4b the chapter 4 ones, box 7a federal tax withheld, box 13b
  country, boxes 13f/13g the recipient's chapter 3 and 4 status codes, box 13i foreign TIN, box 13j LOB
  code; the withholding agent (the issuer) in boxes 12a-12i. A return of capital withholds nothing
  (REGULATORY.md) and is not listed.

The payer's (the withholding agent's) EIN and address are the issuer's (`Issuer.tax_id`, address fields).

Every issuer's tokens are one payer: a recipient's payments on all of them add up on one form. Recipient
TINs are masked to their last four digits, as a truncated TIN on a payee statement is
(Treas. Reg. 301.6109-4); the full number is not written to a file that leaves the portal.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings

from core.countries import UNITED_STATES
from core.csv import Cell
from distributions.exporters.register import rate_percent
from distributions.models import DistributionKind, WithholdingReason
from distributions.services.payer import ein_format
from distributions.tax_reporting import TAX_FORM_LABELS, RecipientPart, major_units, recipient_parts
from investors.models import Chapter4Status, InvestorProfile, TaxForm, TaxIdKind
from registry.exporters.base import EXTENSIONS, Column, Exporter, ExportParams

if TYPE_CHECKING:
    from offerings.models import Offering

DIVIDEND, INTEREST, RETURN_OF_CAPITAL = (
    DistributionKind.DIVIDEND,
    DistributionKind.INTEREST,
    DistributionKind.RETURN_OF_CAPITAL,
)
BACKUP_REASONS = frozenset({WithholdingReason.US_BACKUP, WithholdingReason.US_BACKUP_NOTICE})
# Form 1042-S income codes (Instructions for Form 1042-S, "Income Codes").
INCOME_CODES: dict[str, str] = {DIVIDEND: "06", INTEREST: "01"}
# Box 3a: "00" when tax is withheld at the rate in 3b; "04" when a treaty exempts the payment entirely.
NOT_EXEMPT, EXEMPT_UNDER_TREATY = "00", "04"


# Withholding agent and recipient status codes (Instructions for Form 1042-S, "Recipient Codes"). Chapter 3:
# 02 U.S. withholding agent - other, 15 corporation, 16 individual, 08 partnership other than a withholding
# foreign partnership, 10 trust other than a withholding foreign trust, 21 unknown recipient (no valid W-8:
# the presumption rules applied). Chapter 4: 02 U.S. withholding agent - other, 23 individual; an entity's
# code follows the status its W-8BEN-E certifies (CHAPTER_4_ENTITY_STATUS).
US_WITHHOLDING_AGENT_OTHER = "02"
CHAPTER_3_ENTITY_STATUS = {"corporation": "15", "partnership": "08", "trust": "10"}
CHAPTER_3_INDIVIDUAL, CHAPTER_3_UNKNOWN = "16", "21"
CHAPTER_4_INDIVIDUAL = "23"
# Box 13g for an entity, from its W-8BEN-E (Part I, line 5), by the chapter 4 status codes of the Instructions.
CHAPTER_4_ENTITY_STATUS: dict[str, str] = {
    Chapter4Status.PARTICIPATING_FFI: "05",  # participating FFI - other
    Chapter4Status.REPORTING_MODEL_2_FFI: "06",  # participating FFI - reporting Model 2 FFI
    Chapter4Status.REPORTING_MODEL_1_FFI: "07",  # registered deemed-compliant FFI - reporting Model 1 FFI
    Chapter4Status.REGISTERED_DEEMED_COMPLIANT_FFI: "09",  # registered deemed-compliant FFI - other
    Chapter4Status.CERTIFIED_DEEMED_COMPLIANT_FFI: "10",  # certified deemed-compliant FFI - other
    Chapter4Status.NONPARTICIPATING_FFI: "15",
    Chapter4Status.OWNER_DOCUMENTED_FFI: "16",
    Chapter4Status.PASSIVE_NFFE_US_OWNERS: "19",  # passive NFFE identifying substantial U.S. owners
    Chapter4Status.PASSIVE_NFFE: "20",  # passive NFFE with no substantial U.S. owners
    Chapter4Status.PUBLICLY_TRADED_NFFE: "21",
    Chapter4Status.ACTIVE_NFFE: "22",
    Chapter4Status.SECTION_501C_ORGANIZATION: "24",
    Chapter4Status.EXCEPTED_TERRITORY_NFFE: "25",
}
# Statuses the code list above (codes 01 to 33) has no line for: their box 13g is left for the issuer's adviser,
# with boxes 4a and 4b, rather than given a code that may be another status's.
CHAPTER_4_LEFT_FOR_ADVISER = frozenset(
    {
        Chapter4Status.EXEMPT_BENEFICIAL_OWNER,
        Chapter4Status.NONREPORTING_IGA_FFI,
        Chapter4Status.DIRECT_REPORTING_NFFE,
    }
)
# Box 4a exemption code 15: a withholdable payment not subject to chapter 4 withholding because of the payee's
# status; chapter 4 (FATCA) withholding never reaches an individual, nor an entity of a status it exempts.
CHAPTER_4_PAYEE_NOT_SUBJECT = "15"
# A nonparticipating FFI is the one status chapter 4 withholds from (30 %, 26 USC 1471(a)); the portal withholds
# under chapter 3 only, so the form cannot claim an exemption for it.
CHAPTER_4_WITHHELD_FROM = frozenset({Chapter4Status.NONPARTICIPATING_FFI})


@dataclass(frozen=True)
class Chapter4Boxes:
    exemption_code: str  # box 4a
    rate: str  # box 4b
    status_code: str  # box 13g


def chapter_3_status(recipient: Recipient | None, *, documented: bool) -> str:
    """Box 13f. An entity's type the portal does not map (an LLC, "other") is left for the W-8BEN-E to say."""
    if recipient is None:
        return ""
    if not documented:
        return CHAPTER_3_UNKNOWN
    if recipient.kind == "entity":
        return CHAPTER_3_ENTITY_STATUS.get(recipient.entity_type, "")
    return CHAPTER_3_INDIVIDUAL


def chapter_4_boxes(recipient: Recipient | None, w8: TaxForm | None = None) -> Chapter4Boxes:
    """Boxes 4a, 4b and 13g. An individual is not subject to chapter 4 withholding: code 15 at 0.00 %, status 23.
    An entity's status is the one its W-8BEN-E certifies (Part I, line 5): code 15 at 0.00 % and the status's code,
    except a nonparticipating FFI, whose status code alone is given (chapter 4 withholds from it; the portal does
    not). An entity with no W-8BEN-E, one signed before the portal asked for the status, or one of a status the
    code list has no line for (CHAPTER_4_LEFT_FOR_ADVISER), is left blank for the issuer's adviser."""
    if recipient is None:
        return Chapter4Boxes("", "", "")
    if recipient.kind != "entity":
        return Chapter4Boxes(CHAPTER_4_PAYEE_NOT_SUBJECT, rate_percent(0), CHAPTER_4_INDIVIDUAL)
    status = w8.chapter_4_status if w8 is not None else ""
    code = CHAPTER_4_ENTITY_STATUS.get(status, "")
    if not code:
        return Chapter4Boxes("", "", "")
    if status in CHAPTER_4_WITHHELD_FROM:
        return Chapter4Boxes("", "", code)
    return Chapter4Boxes(CHAPTER_4_PAYEE_NOT_SUBJECT, rate_percent(0), code)


def tin_masked(value: str, kind: str) -> str:
    """The last four digits of a TIN, the rest masked in the number's own layout (XXX-XX-1234, XX-XXX1234)."""
    digits = "".join(ch for ch in value if ch.isalnum())
    if not digits:
        return ""
    last = digits[-4:]
    if kind in (TaxIdKind.SSN, TaxIdKind.ITIN):
        return f"XXX-XX-{last}"
    if kind == TaxIdKind.EIN:
        return f"XX-XXX{last}"
    return "X" * max(len(digits) - 4, 0) + last


@dataclass(frozen=True)
class Payer:
    """The issuer as the forms name it: the payer of a 1099, the withholding agent of a 1042-S."""

    name: str
    country: str
    tin: str = ""  # the issuer's EIN, XX-XXXXXXX; blank until an issuer admin gives it
    address: str = ""
    place: str = ""  # city or town, state, ZIP or postal code

    @classmethod
    def of(cls, offering: Offering) -> Payer:
        issuer = offering.issuer
        address = ", ".join(a for a in (issuer.address_line1, issuer.address_line2) if a)
        region_zip = " ".join(a for a in (issuer.region, issuer.postal_code) if a)
        return cls(
            name=issuer.legal_name or issuer.name,
            country=str(issuer.country),
            tin=ein_format(issuer.tax_id),
            address=address,
            place=", ".join(a for a in (issuer.city, region_zip) if a),
        )

    @property
    def domestic(self) -> bool:
        return self.country == UNITED_STATES


@dataclass(frozen=True)
class Recipient:
    reference: str
    name: str
    tin_kind: str
    tin: str  # masked
    address_line1: str
    address_line2: str
    city: str
    region: str
    postal_code: str
    country: str
    kind: str = ""  # individual or entity
    entity_type: str = ""


def recipients(investor_ids: set[int]) -> dict[int, Recipient]:
    """investor id → name, address and masked TIN (profiles read as instances: the TIN is encrypted)."""
    kinds = dict(TaxIdKind.choices)
    found = {}
    for p in InvestorProfile.objects.filter(pk__in=investor_ids).only(
        "public_id",
        "legal_name",
        "tax_id",
        "tax_id_kind",
        "address_line1",
        "address_line2",
        "city",
        "region",
        "postal_code",
        "country",
        "kind",
        "entity_type",
    ):
        found[p.pk] = Recipient(
            reference=p.reference,
            name=p.legal_name,
            tin_kind=kinds.get(p.tax_id_kind, p.tax_id_kind),
            tin=tin_masked(p.tax_id or "", p.tax_id_kind),
            address_line1=p.address_line1,
            address_line2=p.address_line2,
            city=p.city,
            region=p.region,
            postal_code=p.postal_code,
            country=str(p.country),
            kind=p.kind,
            entity_type=p.entity_type,
        )
    return found


RECIPIENT_COLUMNS = (
    Column("holder_id", "Recipient holder id", 0),
    Column("name", "Recipient name", 1.4),
    Column("tin_kind", "Recipient TIN type", 0),
    Column("tin", "Recipient TIN (masked)", 0.8),
    Column("address_line1", "Address", 1.2),
    Column("address_line2", "Address line 2", 0),
    Column("city", "City", 0.7),
    Column("region", "State or region", 0.4),
    Column("postal_code", "Postal code", 0.5),
    Column("country", "Country", 0.4),
)


def _recipient_cells(r: Recipient | None) -> list[Cell]:
    if r is None:
        return [""] * len(RECIPIENT_COLUMNS)
    return [
        r.reference,
        r.name,
        r.tin_kind,
        r.tin,
        r.address_line1,
        r.address_line2,
        r.city,
        r.region,
        r.postal_code,
        r.country,
    ]


def _yes(value: bool) -> str:
    return "yes" if value else "no"


class IrsFormExporter(Exporter):
    """What the three forms share: a tax year, one payer (the issuer), recipients in investor order."""

    holder_data = True
    takes = frozenset({"tax_year"})
    form_slug: ClassVar[str] = ""
    us_recipients: ClassVar[bool] = True

    def filename(self, offering: Offering, params: ExportParams, fmt: str) -> str:
        return f"{offering.issuer.slug}-{self.form_slug}-{params.tax_year}.{EXTENSIONS[fmt]}"

    def scope(self, offering: Offering) -> str:
        return f"Every token of {offering.issuer.name}"

    def _groups(self, offering: Offering, params: ExportParams) -> Iterator[list[RecipientPart]]:
        assert params.tax_year is not None  # params_check refuses an export without one
        return recipient_parts(issuer=offering.issuer, year=params.tax_year, us=self.us_recipients)

    def row_count(self, offering: Offering, params: ExportParams) -> int:
        payer = Payer.of(offering)
        return sum(len(list(self.forms_of(parts, payer))) for parts in self._groups(offering, params))

    def forms_of(self, parts: list[RecipientPart], payer: Payer) -> Iterator[dict[str, Any]]:
        """The forms one recipient gets from their parts: box name → amount in minor units, and more."""
        raise NotImplementedError

    def form_cells(self, form: dict[str, Any], recipient: Recipient | None, forms: dict[int, TaxForm]) -> list[Cell]:
        raise NotImplementedError

    def payer_cells(self, payer: Payer) -> list[Cell]:
        return [payer.name, payer.tin, payer.address, payer.place, payer.country]

    def rows(self, offering: Offering, params: ExportParams) -> Iterator[Sequence[Cell]]:
        payer = Payer.of(offering)
        head: list[Cell] = [params.tax_year, *self.payer_cells(payer)]
        batch: list[list[RecipientPart]] = []

        def flush() -> Iterator[Sequence[Cell]]:
            people = recipients({parts[0].investor_id for parts in batch})
            form_ids = {p.tax_form_id for parts in batch for p in parts if p.tax_form_id is not None}
            forms = {f.pk: f for f in TaxForm.objects.filter(pk__in=form_ids)}
            for parts in batch:
                person = people.get(parts[0].investor_id)
                for form in self.forms_of(parts, payer):
                    yield [*head, *_recipient_cells(person), *self.form_cells(form, person, forms)]
            batch.clear()

        for parts in self._groups(offering, params):
            batch.append(parts)
            if len(batch) >= self.chunk_size:
                yield from flush()
        if batch:
            yield from flush()


PAYER_COLUMNS = (
    Column("tax_year", "Tax year", 0.4),
    Column("payer", "Payer", 0),
    Column("payer_tin", "Payer's TIN", 0),
    Column("payer_address", "Payer's address", 0),
    Column("payer_place", "Payer's city, state and ZIP", 0),
    Column("payer_country", "Payer country", 0),
)
# Form 1042-S names the payer the withholding agent, in boxes 12a-12i.
WITHHOLDING_AGENT_COLUMNS = (
    Column("tax_year", "Tax year", 0.4),
    Column("box_12d", "Box 12d Withholding agent's name", 0),
    Column("box_12a", "Box 12a Withholding agent's EIN", 0),
    Column("box_12b", "Box 12b Ch. 3 status code", 0),
    Column("box_12c", "Box 12c Ch. 4 status code", 0),
    Column("box_12h", "Box 12h Address", 0),
    Column("box_12i", "Box 12i City, state, ZIP", 0),
    Column("box_12f", "Box 12f Country code", 0),
)


def _tokens(parts: list[RecipientPart]) -> str:
    return " ".join(sorted({p.token_symbol for p in parts}))


class Form1099DivExporter(IrsFormExporter):
    identifier = "form_1099_div"
    verbose_name = "Form 1099-DIV data (US holders)"
    description = (
        "Per US recipient and tax year, all the issuer's tokens: box 1a ordinary dividends, 1b qualified "
        "dividends, 3 nondividend distributions (return of capital), 4 federal income tax withheld."
    )
    form_slug = "1099-div"
    columns = (
        *PAYER_COLUMNS,
        *RECIPIENT_COLUMNS,
        Column("tokens", "Tokens", 0.5),
        Column("currency", "Currency", 0.35),
        Column("box_1a", "Box 1a Total ordinary dividends", 0.8),
        Column("box_1b", "Box 1b Qualified dividends", 0.8),
        Column("box_3", "Box 3 Nondividend distributions", 0.8),
        Column("box_4", "Box 4 Federal income tax withheld", 0.8),
        Column("backup", "Backup withholding", 0.45),
        Column("form_on_file", "Form on file", 0.4),
        Column("filing_required", "Filing required", 0.45),
    )

    def forms_of(self, parts: list[RecipientPart], payer: Payer) -> Iterator[dict[str, Any]]:
        by_currency: dict[str, list[RecipientPart]] = {}
        for p in parts:
            if p.kind in (DIVIDEND, RETURN_OF_CAPITAL):
                by_currency.setdefault(p.currency, []).append(p)
        # Box 1b: the instructions let the payer include dividends for which it is impractical to determine
        # whether the recipient met the 61-of-121-days holding period (IRC 1(h)(11)(B)(iii)), which the portal
        # cannot see for holders who also hold elsewhere. Only a domestic issuer's dividends are treated as
        # qualified: whether a foreign issuer is a "qualified foreign corporation" (IRC 1(h)(11)(C)) the
        # portal does not know, so its dividends are left out of 1b for the issuer's adviser to add.
        for currency, own in by_currency.items():
            dividends = sum(p.gross_minor for p in own if p.kind == DIVIDEND)
            capital = sum(p.gross_minor for p in own if p.kind == RETURN_OF_CAPITAL)
            withheld = sum(p.withheld_minor for p in own)
            yield {
                "currency": currency,
                "parts": own,
                "box_1a": dividends,
                "box_1b": dividends if payer.domestic else 0,
                "box_3": capital,
                "box_4": withheld,
                "backup": any(p.reason in BACKUP_REASONS for p in own),
                "w9": any(p.reason in (WithholdingReason.US_W9, WithholdingReason.US_BACKUP_NOTICE) for p in own),
                # Instructions for Form 1099-DIV: file for $10 or more of dividends or distributions, or
                # whenever federal income tax was withheld.
                "filing_required": dividends + capital >= settings.FORM_1099_DIV_MIN_MINOR or withheld > 0,
            }

    def form_cells(self, form: dict[str, Any], recipient: Recipient | None, forms: dict[int, TaxForm]) -> list[Cell]:
        currency = form["currency"]
        return [
            _tokens(form["parts"]),
            currency,
            major_units(form["box_1a"], currency),
            major_units(form["box_1b"], currency),
            major_units(form["box_3"], currency),
            major_units(form["box_4"], currency),
            _yes(form["backup"]),
            "W-9" if form["w9"] else "none",
            _yes(form["filing_required"]),
        ]


class Form1099IntExporter(IrsFormExporter):
    identifier = "form_1099_int"
    verbose_name = "Form 1099-INT data (US holders)"
    description = "Per US recipient and tax year: box 1 interest income, box 4 federal income tax withheld."
    form_slug = "1099-int"
    columns = (
        *PAYER_COLUMNS,
        *RECIPIENT_COLUMNS,
        Column("tokens", "Tokens", 0.5),
        Column("currency", "Currency", 0.35),
        Column("box_1", "Box 1 Interest income", 0.8),
        Column("box_4", "Box 4 Federal income tax withheld", 0.8),
        Column("backup", "Backup withholding", 0.45),
        Column("form_on_file", "Form on file", 0.4),
        Column("filing_required", "Filing required", 0.45),
    )

    def forms_of(self, parts: list[RecipientPart], payer: Payer) -> Iterator[dict[str, Any]]:
        by_currency: dict[str, list[RecipientPart]] = {}
        for p in parts:
            if p.kind == INTEREST:
                by_currency.setdefault(p.currency, []).append(p)
        for currency, own in by_currency.items():
            interest = sum(p.gross_minor for p in own)
            withheld = sum(p.withheld_minor for p in own)
            yield {
                "currency": currency,
                "parts": own,
                "box_1": interest,
                "box_4": withheld,
                "backup": any(p.reason in BACKUP_REASONS for p in own),
                "w9": any(p.reason in (WithholdingReason.US_W9, WithholdingReason.US_BACKUP_NOTICE) for p in own),
                # Instructions for Form 1099-INT: $10 or more of interest, or any backup withholding.
                "filing_required": interest >= settings.FORM_1099_INT_MIN_MINOR or withheld > 0,
            }

    def form_cells(self, form: dict[str, Any], recipient: Recipient | None, forms: dict[int, TaxForm]) -> list[Cell]:
        currency = form["currency"]
        return [
            _tokens(form["parts"]),
            currency,
            major_units(form["box_1"], currency),
            major_units(form["box_4"], currency),
            _yes(form["backup"]),
            "W-9" if form["w9"] else "none",
            _yes(form["filing_required"]),
        ]


class Form1042SExporter(IrsFormExporter):
    identifier = "form_1042s"
    verbose_name = "Form 1042-S data (non-US holders)"
    description = (
        "Per non-US recipient, income code and rate in a tax year: income code 06 dividends or 01 interest, gross "
        "income, chapter 3 exemption code and tax rate, federal tax withheld, country, treaty claim and the W-8."
    )
    form_slug = "1042-s"
    us_recipients = False
    columns = (
        *WITHHOLDING_AGENT_COLUMNS,
        *RECIPIENT_COLUMNS,
        Column("tokens", "Tokens", 0.5),
        Column("currency", "Currency", 0.35),
        Column("box_1", "Box 1 Income code", 0.4),
        Column("box_2", "Box 2 Gross income", 0.8),
        Column("box_3", "Box 3 Chapter indicator", 0),
        Column("box_3a", "Box 3a Exemption code", 0.4),
        Column("box_3b", "Box 3b Tax rate (%)", 0.4),
        Column("box_4a", "Box 4a Ch. 4 exemption code", 0.4),
        Column("box_4b", "Box 4b Ch. 4 tax rate (%)", 0.4),
        Column("box_7a", "Box 7a Federal tax withheld", 0.8),
        Column("box_13b", "Box 13b Recipient country code", 0),
        Column("box_13f", "Box 13f Ch. 3 status code", 0),
        Column("box_13g", "Box 13g Ch. 4 status code", 0),
        Column("box_13i", "Box 13i Foreign TIN (masked)", 0),
        Column("box_13j", "Box 13j LOB code", 0),
        Column("why", "Why this rate", 1.2),
        Column("w8", "W-8 on file", 0.5),
        Column("w8_signed", "W-8 signed", 0),
        Column("w8_valid_to", "W-8 valid to", 0),
        Column("treaty_country", "Treaty country", 0.4),
        Column("treaty_article", "Treaty article", 0),
    )

    def payer_cells(self, payer: Payer) -> list[Cell]:
        # Boxes 12b and 12c, both required whatever the payment: a US issuer that is not a financial institution is
        # "U.S. withholding agent - other" under both chapters; a foreign issuer's status is its adviser's to give.
        status = US_WITHHOLDING_AGENT_OTHER if payer.domestic else ""
        return [payer.name, payer.tin, status, status, payer.address, payer.place, payer.country]

    def forms_of(self, parts: list[RecipientPart], payer: Payer) -> Iterator[dict[str, Any]]:
        # One form per income code and rate (Instructions for Form 1042-S: a separate form for each).
        grouped: dict[tuple[str, str, int, str, int | None], list[RecipientPart]] = {}
        for p in parts:
            if p.kind in INCOME_CODES:
                grouped.setdefault((p.currency, p.kind, p.rate_bps, p.reason, p.tax_form_id), []).append(p)
        for (currency, kind, rate, reason, form_id), own in grouped.items():
            yield {
                "currency": currency,
                "parts": own,
                "income_code": INCOME_CODES[kind],
                "gross": sum(p.gross_minor for p in own),
                "withheld": sum(p.withheld_minor for p in own),
                "rate": rate,
                "reason": reason,
                "form_id": form_id,
            }

    def form_cells(self, form: dict[str, Any], recipient: Recipient | None, forms: dict[int, TaxForm]) -> list[Cell]:
        currency = form["currency"]
        w8 = forms.get(form["form_id"]) if form["form_id"] is not None else None
        rate = form["rate"]
        treaty = form["reason"] == WithholdingReason.TREATY
        exemption = EXEMPT_UNDER_TREATY if treaty and rate == 0 else NOT_EXEMPT
        foreign_tin = tin_masked(w8.foreign_tin or "", TaxIdKind.FOREIGN_TIN) if w8 else ""
        chapter_4 = chapter_4_boxes(recipient, w8)
        return [
            _tokens(form["parts"]),
            currency,
            form["income_code"],
            major_units(form["gross"], currency),
            # Box 3: the tax was withheld under chapter 3 (the portal withholds no FATCA tax).
            "3",
            exemption,
            rate_percent(rate),
            chapter_4.exemption_code,
            chapter_4.rate,
            major_units(form["withheld"], currency),
            recipient.country if recipient else "",
            chapter_3_status(recipient, documented=form["reason"] != WithholdingReason.NO_VALID_W8),
            chapter_4.status_code,
            foreign_tin,
            # Limitation on benefits: an entity's W-8BEN-E treaty claim names it; the portal does not collect it.
            "",
            WithholdingReason(form["reason"]).label,
            TAX_FORM_LABELS.get(w8.kind, w8.kind) if w8 else "none",
            w8.signed_on.isoformat() if w8 else "",
            w8.expires_on.isoformat() if w8 and w8.expires_on else "",
            str(w8.treaty_country) if w8 and treaty else "",
            w8.treaty_article if w8 and treaty else "",
        ]
