"""Bank-file distributions in tests: an approved register written as the register service leaves it (the
register itself is tested against anvil in test_entitlements), holders' bank details, the issuer's paying
account, and the bank's answers (camt.054, pain.002, CSV) built as a bank would send them."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

from django.conf import settings
from django.utils import timezone

from core.models import Issuer, User
from distributions.models import (
    AmountBasis,
    BankPaymentEntry,
    DestinationStatus,
    Distribution,
    DistributionKind,
    DistributionLine,
    DistributionState,
    PaymentMethod,
    WithholdingReason,
)
from distributions.services.bank_file import PayingAccountInput, paying_account_set
from distributions.tests.support import second_admin
from investors.models import BankAccount, InvestorProfile
from investors.services.bank_accounts import BankAccountInput, bank_account_add
from investors.tests.support import verified_investor
from offerings.models import Offering
from offerings.tests.support import offering_draft

PAYMENT_DATE = dt.date(2026, 11, 20)
# Valid test accounts (checksums hold): IBANs with BICs of their country, ABA routing numbers.
IBANS = [
    ("DE89370400440532013000", "COBADEFFXXX"),
    ("FR1420041010050500013M02606", "PSSTFRPPXXX"),
    ("NL91ABNA0417164300", "ABNANL2AXXX"),
    ("GB82WEST12345698765432", "WESTGB2LXXX"),
    ("BE68539007547034", "GKCCBEBBXXX"),
    ("ES9121000418450200051332", "CAIXESBBXXX"),
]
ROUTING = ["011000015", "021000021", "026009593", "121000358"]
_names = itertools.count(1)


def bank_details(investor: InvestorProfile, *, n: int = 0, aba: bool = False, currency: str = "USD") -> BankAccount:
    if aba:
        data = BankAccountInput(
            holder_name=investor.legal_name or "Holder",
            scheme="aba",
            currency="USD",
            routing_number=ROUTING[n % len(ROUTING)],
            account_number=f"{4000123400 + n}",
        )
    else:
        iban, bic = IBANS[n % len(IBANS)]
        data = BankAccountInput(
            holder_name=investor.legal_name or "Holder", scheme="iban", currency=currency, iban=iban, bic=bic
        )
    return bank_account_add(investor=investor, actor=investor.user, data=data)


def paying_account(issuer: Issuer, actor: User, *, currency: str = "USD") -> None:
    if currency == "USD":
        data = PayingAccountInput(
            currency="USD", holder_name=issuer.name, scheme="aba", routing_number="021000021", account_number="77001234"
        )
    else:
        data = PayingAccountInput(
            currency=currency, holder_name=issuer.name, scheme="iban", iban="DE02120300000000202051", bic="BYLADEM1001"
        )
    paying_account_set(issuer=issuer, actor=actor, data=data)


def holders(count: int) -> list[InvestorProfile]:
    return [verified_investor(name=f"Holder {next(_names)}", wallet=None) for _ in range(count)]


def approved_bank_distribution(
    issuer: Issuer,
    admin: User,
    *,
    cash: Sequence[tuple[InvestorProfile, int]],
    currency: str = "USD",
    offering: Offering | None = None,
    payment_date: dt.date = PAYMENT_DATE,
) -> Distribution:
    """An approved bank-file distribution whose register pays `cash` (minor units) to each investor."""
    offering = offering or offering_draft(issuer, admin)
    approver = second_admin(issuer, email=f"approver{next(_names)}@harbor.example")
    record = payment_date - dt.timedelta(days=14)
    total = sum(amount for _, amount in cash)
    distribution = Distribution.objects.create(
        offering=offering,
        kind=DistributionKind.DIVIDEND,
        state=DistributionState.APPROVED,
        currency=currency,
        amount_basis=AmountBasis.TOTAL,
        amount_minor=max(total, 1),
        record_date=record,
        record_at=timezone.make_aware(dt.datetime.combine(record, dt.time(23, 59, 59))),
        payment_date=payment_date,
        payment_method=PaymentMethod.BANK_FILE,
        register_computed_at=timezone.now(),
        holders=len(cash),
        eligible_units=len(cash) * 100,
        total_gross_minor=total,
        total_net_minor=total,
        declared_by=admin,
        approved_by=approver,
        approved_at=timezone.now(),
    )
    key = f"distribution:{settings.CHAIN_ID}:{distribution.public_id}:line"
    DistributionLine.objects.bulk_create(
        DistributionLine(
            distribution=distribution,
            line_index=n,
            investor=investor,
            balance_at_record=100,
            gross_minor=amount,
            withholding_rate_bps=0,
            withholding_reason=WithholdingReason.US_W9,
            withheld_minor=0,
            net_minor=amount,
            cash_minor=amount,
            destination_status=DestinationStatus.BANK_MISSING,
            idempotency_key=f"{key}:{investor.pk}",
        )
        for n, (investor, amount) in enumerate(sorted(cash, key=lambda pair: pair[0].pk))
    )
    return distribution


def camt054(entries: Sequence[tuple[BankPaymentEntry, str]], *, currency: str = "USD") -> bytes:
    """A camt.054.001.08 debit notification: each entry booked ("paid") or sent back ("AC04" etc.)."""
    from distributions.iso20022 import amount_text

    parts = []
    for n, (entry, outcome) in enumerate(entries):
        amount = amount_text(entry.amount_minor, currency)
        returned = (
            f"<RtrInf><Rsn><Cd>{outcome}</Cd></Rsn><AddtlInf>Account closed</AddtlInf></RtrInf>"
            if outcome != "paid"
            else ""
        )
        direction = "DBIT" if outcome == "paid" else "CRDT"
        parts.append(
            f"<Ntry><Amt Ccy='{currency}'>{amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
            f"<BookgDt><Dt>2026-11-21</Dt></BookgDt><NtryDtls><TxDtls><Refs><AcctSvcrRef>BANKREF{n:04d}</AcctSvcrRef>"
            f"<EndToEndId>{entry.end_to_end_id}</EndToEndId></Refs><Amt Ccy='{currency}'>{amount}</Amt>"
            f"{returned}</TxDtls></NtryDtls></Ntry>"
        )
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        "<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.054.001.08'><BkToCstmrDbtCdtNtfctn>"
        "<GrpHdr><MsgId>CAMT-1</MsgId><CreDtTm>2026-11-21T08:00:00</CreDtTm></GrpHdr>"
        "<Ntfctn><Id>N1</Id>" + "".join(parts) + "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"
    ).encode()


def pain002(entries: Sequence[tuple[BankPaymentEntry, str]]) -> bytes:
    """A pain.002.001.10 status report: ACSC (settled), RJCT with a reason, or ACSP (still in progress)."""
    parts = []
    for entry, status in entries:
        reason = (
            "<StsRsnInf><Rsn><Cd>AC01</Cd></Rsn><AddtlInf>Incorrect account number</AddtlInf></StsRsnInf>"
            if status == "RJCT"
            else ""
        )
        parts.append(
            f"<TxInfAndSts><OrgnlEndToEndId>{entry.end_to_end_id}</OrgnlEndToEndId><TxSts>{status}</TxSts>{reason}"
            f"<AcctSvcrRef>SR-{entry.pk}</AcctSvcrRef></TxInfAndSts>"
        )
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        "<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.002.001.10'><CstmrPmtStsRpt>"
        "<GrpHdr><MsgId>STS-1</MsgId><CreDtTm>2026-11-21T08:00:00</CreDtTm></GrpHdr>"
        "<OrgnlGrpInfAndSts><OrgnlMsgId>X</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId></OrgnlGrpInfAndSts>"
        "<OrgnlPmtInfAndSts><OrgnlPmtInfId>P1</OrgnlPmtInfId>" + "".join(parts) + "</OrgnlPmtInfAndSts>"
        "</CstmrPmtStsRpt></Document>"
    ).encode()


def confirmation_csv(rows: Sequence[tuple[str, str, str, str]]) -> bytes:
    lines = ["end_to_end_id,status,reason_code,reason,bank_reference"]
    lines += [",".join(row) + f",REF-{n}" for n, row in enumerate(rows)]
    return ("\n".join(lines) + "\n").encode()
