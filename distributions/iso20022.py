"""ISO 20022 payment messages: the pain.001.001.09 credit transfer the portal writes, and the bank's answers it reads
(pain.002 status reports and camt.054 debit notifications, any version, read by element name).

pain.001.001.09 is the version SEPA's 2019 rulebook and most banks now take (the .03 is being retired); .10 and
.11 add nothing a distribution needs. EUR files to IBANs are written by sepaxml as SEPA credit transfers; any other
currency, or a US account known by its ABA routing number, is written here as a generic (non-SEPA) pain.001.001.09
with the same element order, since sepaxml writes only IBAN creditors and the SEPA service level. Both are checked
against the pain.001.001.09 schema sepaxml ships, before anything is stored.
"""

from __future__ import annotations

import datetime as dt
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sepaxml
import xmlschema
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml import ElementTree as defused_et
from sepaxml import SepaTransfer

from core.money import CURRENCY_EXPONENTS

SCHEMA = "pain.001.001.09"
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{SCHEMA}"
SCHEMA_PATH = os.path.join(os.path.dirname(sepaxml.__file__), "schemas", f"{SCHEMA}.xsd")
# Names and remittance text as the schema's Max140Text allows; SEPA banks cut names at 70.
MAX_NAME = 70
MAX_REMITTANCE = 140
MAX_ADDRESS_LINE = 70


class MessageInvalid(ValueError):
    """A message that does not follow its schema, or is not the message it says it is."""


@dataclass(frozen=True)
class PostalAddress:
    """A party's address as the messages carry it (PostalAddress24, "hybrid": town and country structured, the
    street in address lines), the form SEPA's rulebook takes from November 2026 and other banks accept."""

    town: str
    country: str  # ISO 3166-1 alpha-2
    lines: tuple[str, ...] = ()
    postal_code: str = ""
    region: str = ""

    @classmethod
    def known(
        cls, *, lines: Sequence[str], town: str, country: str, postal_code: str = "", region: str = ""
    ) -> PostalAddress | None:
        """The address, or None unless at least the town and the country are known."""
        town, country = " ".join(town.split()), country.strip().upper()
        if not town or len(country) != 2 or not country.isalpha():
            return None
        return cls(
            town=town[:35],
            country=country,
            lines=tuple(" ".join(line.split())[:MAX_ADDRESS_LINE] for line in lines if line and line.strip())[:2],
            postal_code=" ".join(postal_code.split())[:16],
            region=" ".join(region.split())[:35],
        )


@dataclass(frozen=True)
class Account:
    name: str
    iban: str = ""
    bic: str = ""
    routing_number: str = ""
    account_number: str = ""
    address: PostalAddress | None = None


@dataclass(frozen=True)
class Transfer:
    end_to_end_id: str
    amount_minor: int
    creditor: Account
    remittance: str


def amount_text(amount_minor: int, currency: str) -> str:
    """Minor units as the decimal the messages carry (never through a float)."""
    exponent = CURRENCY_EXPONENTS[currency]
    if exponent == 0:
        return str(amount_minor)
    whole, fraction = divmod(amount_minor, 10**exponent)
    return f"{whole}.{fraction:0{exponent}d}"


def amount_minor_of(text: str, currency: str) -> int:
    exponent = CURRENCY_EXPONENTS.get(currency)
    if exponent is None:
        raise MessageInvalid(f"{currency} is not a currency the portal pays in.")
    whole, _, fraction = text.strip().partition(".")
    if not whole.isdigit() or (fraction and not fraction.isdigit()) or len(fraction.rstrip("0")) > exponent:
        raise MessageInvalid(f"{text!r} is not an amount in {currency}.")
    return int(whole) * 10**exponent + int((fraction + "0" * exponent)[:exponent] or 0)


@lru_cache(maxsize=1)
def _schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(SCHEMA_PATH)


def pain001_validate(content: bytes) -> None:
    """Raise MessageInvalid unless `content` is a pain.001.001.09 document the schema accepts."""
    errors = list(_schema().iter_errors(content.decode("utf-8")))
    if errors:
        raise MessageInvalid(f"The payment file breaks the {SCHEMA} schema: {errors[0].reason} at {errors[0].path}.")


def _sepa_writable(debtor: Account, currency: str, transfers: Sequence[Transfer]) -> bool:
    return currency == "EUR" and bool(debtor.iban) and all(t.creditor.iban for t in transfers)


def pain001_write(
    *,
    message_id: str,
    debtor: Account,
    currency: str,
    execution_date: dt.date,
    transfers: Sequence[Transfer],
    created_at: dt.datetime,
) -> bytes:
    """The credit-transfer file for `transfers` (one batch), checked against the schema."""
    if _sepa_writable(debtor, currency, transfers):
        content = _sepa_write(message_id, debtor, execution_date, transfers)
    else:
        content = _generic_write(message_id, debtor, currency, execution_date, transfers, created_at)
    pain001_validate(content)
    return content


def _sepa_address(address: PostalAddress) -> dict[str, Any]:
    """The address as sepaxml takes it (its structured keys, then the address lines)."""
    found: dict[str, Any] = {"town": address.town, "country": address.country, "lines": list(address.lines)}
    if address.postal_code:
        found["postcode"] = address.postal_code
    if address.region:
        found["country_subdivision"] = address.region
    return found


def _sepa_write(message_id: str, debtor: Account, execution_date: dt.date, transfers: Sequence[Transfer]) -> bytes:
    config: dict[str, Any] = {"name": debtor.name, "IBAN": debtor.iban, "batch": True, "currency": "EUR"}
    if debtor.bic:
        config["BIC"] = debtor.bic
    if debtor.address is not None:
        config["address"] = _sepa_address(debtor.address)
    sepa = SepaTransfer(config, schema=SCHEMA, clean=True)
    # sepaxml draws a random message id; the run's own id makes the file traceable and a resend recognisable.
    sepa._xml.find("CstmrCdtTrfInitn/GrpHdr/MsgId").text = message_id
    for t in transfers:
        payment = {
            "name": t.creditor.name,
            "IBAN": t.creditor.iban,
            "amount": t.amount_minor,
            "execution_date": execution_date,
            "description": t.remittance[:MAX_REMITTANCE],
            "endtoend_id": t.end_to_end_id,
        }
        if t.creditor.bic:
            payment["BIC"] = t.creditor.bic
        if t.creditor.address is not None:
            payment["address"] = _sepa_address(t.creditor.address)
        sepa.add_payment(payment)
    return bytes(sepa.export(validate=False))


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, tag, attrs)
    if text is not None:
        node.text = text
    return node


def _party(parent: ET.Element, account: Account) -> None:
    """Nm, then PstlAdr when the address is known (PartyIdentification135's order)."""
    _sub(parent, "Nm", account.name[:MAX_NAME])
    address = account.address
    if address is None:
        return
    node = _sub(parent, "PstlAdr")
    # PostalAddress24's order: PstCd, TwnNm, CtrySubDvsn, Ctry, then AdrLine.
    if address.postal_code:
        _sub(node, "PstCd", address.postal_code)
    _sub(node, "TwnNm", address.town)
    if address.region:
        _sub(node, "CtrySubDvsn", address.region)
    _sub(node, "Ctry", address.country)
    for line in address.lines:
        _sub(node, "AdrLine", line)


def _account(parent: ET.Element, account: Account) -> None:
    identification = _sub(parent, "Id")
    if account.iban:
        _sub(identification, "IBAN", account.iban)
    else:
        _sub(_sub(identification, "Othr"), "Id", account.account_number)


def _agent(parent: ET.Element, account: Account) -> None:
    institution = _sub(parent, "FinInstnId")
    if account.bic:
        _sub(institution, "BICFI", account.bic)
    elif account.routing_number:
        member = _sub(institution, "ClrSysMmbId")
        _sub(_sub(member, "ClrSysId"), "Cd", "USABA")
        _sub(member, "MmbId", account.routing_number)
    else:
        _sub(_sub(institution, "Othr"), "Id", "NOTPROVIDED")


def _generic_write(
    message_id: str,
    debtor: Account,
    currency: str,
    execution_date: dt.date,
    transfers: Sequence[Transfer],
    created_at: dt.datetime,
) -> bytes:
    total = sum(t.amount_minor for t in transfers)
    count = str(len(transfers))
    document = ET.Element("Document", {"xmlns": NAMESPACE})
    initiation = _sub(document, "CstmrCdtTrfInitn")
    header = _sub(initiation, "GrpHdr")
    _sub(header, "MsgId", message_id)
    _sub(header, "CreDtTm", created_at.strftime("%Y-%m-%dT%H:%M:%S"))
    _sub(header, "NbOfTxs", count)
    _sub(header, "CtrlSum", amount_text(total, currency))
    _sub(_sub(header, "InitgPty"), "Nm", debtor.name[:MAX_NAME])
    info = _sub(initiation, "PmtInf")
    _sub(info, "PmtInfId", f"{message_id[:31]}-P1")
    _sub(info, "PmtMtd", "TRF")
    _sub(info, "BtchBookg", "true")
    _sub(info, "NbOfTxs", count)
    _sub(info, "CtrlSum", amount_text(total, currency))
    _sub(_sub(info, "ReqdExctnDt"), "Dt", execution_date.isoformat())
    _party(_sub(info, "Dbtr"), debtor)
    _account(_sub(info, "DbtrAcct"), debtor)
    _agent(_sub(info, "DbtrAgt"), debtor)
    # Each side pays its own bank's charges: the holder receives the amount less only their bank's fee.
    _sub(info, "ChrgBr", "SHAR")
    for t in transfers:
        tx = _sub(info, "CdtTrfTxInf")
        _sub(_sub(tx, "PmtId"), "EndToEndId", t.end_to_end_id)
        _sub(_sub(tx, "Amt"), "InstdAmt", amount_text(t.amount_minor, currency), Ccy=currency)
        _agent(_sub(tx, "CdtrAgt"), t.creditor)
        _party(_sub(tx, "Cdtr"), t.creditor)
        _account(_sub(tx, "CdtrAcct"), t.creditor)
        _sub(_sub(tx, "RmtInf"), "Ustrd", t.remittance[:MAX_REMITTANCE])
    return b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(document, encoding="utf-8")


# --------------------------------------------------------------------------- reading


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(node: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in node if _local(child.tag) == name)


def _child(node: ET.Element | None, *path: str) -> ET.Element | None:
    for name in path:
        if node is None:
            return None
        node = next(_children(node, name), None)
    return node


def _text(node: ET.Element | None, *path: str) -> str:
    found = _child(node, *path)
    return (found.text or "").strip() if found is not None else ""


def _descendants(node: ET.Element, name: str) -> Iterator[ET.Element]:
    return (n for n in node.iter() if _local(n.tag) == name)


def xml_parse(content: bytes) -> ET.Element:
    """The document's root, parsed by defusedxml with DTDs forbidden: a bank message never declares one, and a DTD
    is how a file expands entities without end (billion laughs) or makes the parser read other files or URLs."""
    try:
        return defused_et.fromstring(content, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden as exc:
        raise MessageInvalid(
            "The file declares a document type (DTD); bank messages never do, and a DTD can make a file expand without "
            "end or read other files, so it was not read. Upload the message as the bank sent it."
        ) from exc
    except EntitiesForbidden as exc:
        raise MessageInvalid(
            f"The file declares the entity “{exc.name}”; bank messages do not, so it was not read."
        ) from exc
    except ExternalReferenceForbidden as exc:
        raise MessageInvalid(
            "The file refers to an external resource; bank messages do not, so it was not read."
        ) from exc
    except ET.ParseError as exc:
        raise MessageInvalid(f"The file is not well-formed XML ({exc}).") from exc


def message_kind(root: ET.Element) -> str:
    """'pain001', 'pain002', 'camt054' or '' from the document's namespace and first element."""
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    first = _local(root[0].tag) if len(root) else ""
    if ":pain.002." in namespace or first == "CstmrPmtStsRpt":
        return "pain002"
    if ":camt.054." in namespace or first == "BkToCstmrDbtCdtNtfctn":
        return "camt054"
    if ":pain.001." in namespace or first == "CstmrCdtTrfInitn":
        return "pain001"
    return ""


@dataclass(frozen=True)
class WrittenTransfer:
    end_to_end_id: str
    amount_minor: int
    currency: str
    creditor_name: str
    creditor_town: str
    creditor_country: str
    creditor_address_lines: tuple[str, ...]
    iban: str
    bic: str
    routing_number: str
    account_number: str


@dataclass(frozen=True)
class WrittenFile:
    message_id: str
    count: int
    control_sum: str
    transfers: list[WrittenTransfer]


def pain001_read(content: bytes) -> WrittenFile:
    """A pain.001 file read back: its header and each transfer (what the bank will do with it)."""
    root = xml_parse(content)
    initiation = _child(root, "CstmrCdtTrfInitn")
    if initiation is None:
        raise MessageInvalid("This is not a pain.001 credit transfer.")
    transfers = []
    for tx in _descendants(initiation, "CdtTrfTxInf"):
        amount = _child(tx, "Amt", "InstdAmt")
        currency = amount.get("Ccy", "") if amount is not None else ""
        address = _child(tx, "Cdtr", "PstlAdr")
        transfers.append(
            WrittenTransfer(
                end_to_end_id=_text(tx, "PmtId", "EndToEndId"),
                amount_minor=amount_minor_of(_text(tx, "Amt", "InstdAmt"), currency),
                currency=currency,
                creditor_name=_text(tx, "Cdtr", "Nm"),
                creditor_town=_text(tx, "Cdtr", "PstlAdr", "TwnNm"),
                creditor_country=_text(tx, "Cdtr", "PstlAdr", "Ctry"),
                creditor_address_lines=tuple(
                    (n.text or "").strip() for n in (_children(address, "AdrLine") if address is not None else ())
                ),
                iban=_text(tx, "CdtrAcct", "Id", "IBAN"),
                bic=_text(tx, "CdtrAgt", "FinInstnId", "BICFI"),
                routing_number=_text(tx, "CdtrAgt", "FinInstnId", "ClrSysMmbId", "MmbId"),
                account_number=_text(tx, "CdtrAcct", "Id", "Othr", "Id"),
            )
        )
    return WrittenFile(
        message_id=_text(initiation, "GrpHdr", "MsgId"),
        count=int(_text(initiation, "GrpHdr", "NbOfTxs") or 0),
        control_sum=_text(initiation, "GrpHdr", "CtrlSum"),
        transfers=transfers,
    )


@dataclass(frozen=True)
class BankOutcome:
    """What the bank says of one transfer: paid, returned (rejected or sent back), or still on its way."""

    end_to_end_id: str
    outcome: str  # "paid", "returned", "pending"
    bank_reference: str
    reason_code: str
    reason_text: str
    amount_minor: int | None = None
    currency: str = ""


# pain.002 transaction statuses (ISO external code set ExternalPaymentTransactionStatus1Code).
PAID_STATUSES = frozenset({"ACSC", "ACCC"})
REJECTED_STATUSES = frozenset({"RJCT", "CANC"})


def pain002_read(root: ET.Element) -> list[BankOutcome]:
    report = _child(root, "CstmrPmtStsRpt")
    if report is None:
        raise MessageInvalid("This is not a pain.002 payment status report.")
    message_id = _text(report, "GrpHdr", "MsgId")
    found = []
    for tx in _descendants(report, "TxInfAndSts"):
        status = _text(tx, "TxSts")
        reason = _child(tx, "StsRsnInf")
        outcome = "paid" if status in PAID_STATUSES else "returned" if status in REJECTED_STATUSES else "pending"
        found.append(
            BankOutcome(
                end_to_end_id=_text(tx, "OrgnlEndToEndId"),
                outcome=outcome,
                bank_reference=_text(tx, "AcctSvcrRef") or _text(tx, "StsId") or message_id,
                reason_code=_text(reason, "Rsn", "Cd") or (status if outcome == "returned" else ""),
                reason_text=" ".join(n.text or "" for n in _children(reason, "AddtlInf")).strip() if reason else "",
            )
        )
    return found


def camt054_read(root: ET.Element) -> list[BankOutcome]:
    """Booked debits are paid; an entry carrying return information (RtrInf) is a payment sent back."""
    notification = _child(root, "BkToCstmrDbtCdtNtfctn")
    if notification is None:
        raise MessageInvalid("This is not a camt.054 notification.")
    found = []
    for entry in _descendants(notification, "Ntry"):
        status = _text(entry, "Sts", "Cd") or _text(entry, "Sts")
        if status and status != "BOOK":
            continue  # pending or information-only entries settle nothing
        direction = _text(entry, "CdtDbtInd")
        for tx in _descendants(entry, "TxDtls"):
            amount = _child(tx, "Amt")
            currency = amount.get("Ccy", "") if amount is not None else ""
            returned = _child(tx, "RtrInf")
            outcome = "returned" if returned is not None else "paid" if direction == "DBIT" else "pending"
            found.append(
                BankOutcome(
                    end_to_end_id=_text(tx, "Refs", "EndToEndId"),
                    outcome=outcome,
                    bank_reference=_text(tx, "Refs", "AcctSvcrRef") or _text(entry, "AcctSvcrRef"),
                    reason_code=_text(returned, "Rsn", "Cd"),
                    reason_text=" ".join(n.text or "" for n in _children(returned, "AddtlInf")).strip()
                    if returned is not None
                    else "",
                    amount_minor=amount_minor_of(amount.text or "", currency) if amount is not None else None,
                    currency=currency,
                )
            )
    return found
