"""Files that reach storage from a bank payment: a hostile XML upload is refused before anything expands or is
fetched, with an error that says why; a file stored by a transaction that then fails is removed with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.errors import ApplicationError
from distributions.models import BankConfirmation, BankPaymentEntry, BankPaymentRun, DistributionLine, LinePaymentState
from distributions.services import bank_file, bank_reconciliation
from distributions.services.bank_file import bank_payment_run_create
from distributions.services.bank_reconciliation import bank_confirmation_import
from distributions.tests.bank_support import (
    PAYMENT_DATE,
    approved_bank_distribution,
    bank_details,
    camt054,
    holders,
    paying_account,
)

pytestmark = pytest.mark.django_db

CAMT = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
LAUGHS = (
    "<?xml version='1.0'?>\n<!DOCTYPE Document [\n<!ENTITY lol 'lol'>\n"
    + "".join(f"<!ENTITY lol{n} '{('&lol' + (str(n - 1) if n > 1 else '') + ';') * 10}'>\n" for n in range(1, 10))
    + f"]>\n<Document xmlns='{CAMT}'><BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>&lol9;</MsgId></GrpHdr>"
    "</BkToCstmrDbtCdtNtfctn></Document>"
)
EXTERNAL = (
    "<?xml version='1.0'?>\n<!DOCTYPE Document [<!ENTITY secret SYSTEM 'file:///etc/passwd'>]>\n"
    f"<Document xmlns='{CAMT}'><BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>&secret;</MsgId></GrpHdr>"
    "</BkToCstmrDbtCdtNtfctn></Document>"
)
HOSTILE = {
    "billion_laughs": LAUGHS.encode(),
    "external_entity": EXTERNAL.encode(),
    # The same bomb in UTF-16: no "<!DOCTYPE" appears in the bytes, which a search of them would miss.
    "billion_laughs_utf16": LAUGHS.replace("<?xml version='1.0'?>", "<?xml version='1.0' encoding='UTF-16'?>").encode(
        "utf-16-le"
    ),
}


def _paying(cast, count: int = 2):
    people = holders(count)
    for n, person in enumerate(people):
        bank_details(person, n=n)
    paying_account(cast.issuer, cast.admin)
    distribution = approved_bank_distribution(
        cast.issuer, cast.admin, cash=[(p, 10_00 * (n + 1)) for n, p in enumerate(people)]
    )
    bank_payment_run_create(distribution=distribution, actor=cast.admin, today=PAYMENT_DATE)
    entries = list(BankPaymentEntry.objects.filter(run__distribution=distribution).order_by("line__line_index"))
    return distribution, entries


def _stored_files(folder: str) -> set[Path]:
    root = Path(settings.PRIVATE_MEDIA_ROOT) / folder
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_xml_confirmation_is_refused_with_a_clear_error_and_nothing_is_applied(cast, case: str) -> None:
    distribution, _entries = _paying(cast)
    before = _stored_files("bank-confirmations")

    with pytest.raises(ApplicationError) as refused:
        bank_confirmation_import(distribution=distribution, actor=cast.admin, filename="x.xml", content=HOSTILE[case])

    assert refused.value.code == "bad_format"
    assert "document type (DTD)" in refused.value.message and "not read" in refused.value.message
    assert "lol" not in refused.value.message and "root:" not in refused.value.message
    assert set(DistributionLine.objects.values_list("payment_state", flat=True)) == {LinePaymentState.SENDING}
    assert not BankConfirmation.objects.exists()
    assert _stored_files("bank-confirmations") == before


def test_the_page_says_why_a_hostile_xml_was_refused(cast) -> None:
    distribution, _entries = _paying(cast)
    client = Client()
    client.force_login(cast.admin)
    upload = SimpleUploadedFile("camt054.xml", HOSTILE["billion_laughs"], content_type="application/xml")

    page = client.post(
        reverse("distribution_bank_confirmation", args=[cast.issuer.slug, distribution.public_id]),
        {"file": upload},
        follow=True,
    )

    assert page.status_code == 200
    assert "declares a document type (DTD)" in page.content.decode()
    assert not BankConfirmation.objects.exists()


def test_a_confirmation_whose_transaction_fails_leaves_no_file_behind(cast, monkeypatch) -> None:
    distribution, (a, b) = _paying(cast)
    before = _stored_files("bank-confirmations")
    real_audit = bank_reconciliation.audit_record

    def refused(**kwargs):  # the database refuses the audit event, after the file is stored
        from django.db import DatabaseError

        raise DatabaseError("could not extend the audit chain")

    monkeypatch.setattr(bank_reconciliation, "audit_record", refused)
    content = camt054([(a, "paid"), (b, "paid")])
    with pytest.raises(Exception, match="audit chain"):
        bank_confirmation_import(distribution=distribution, actor=cast.admin, filename="c.xml", content=content)

    assert not BankConfirmation.objects.exists()
    assert _stored_files("bank-confirmations") == before
    assert set(DistributionLine.objects.values_list("payment_state", flat=True)) == {LinePaymentState.SENDING}

    monkeypatch.setattr(bank_reconciliation, "audit_record", real_audit)
    report = bank_confirmation_import(distribution=distribution, actor=cast.admin, filename="c.xml", content=content)
    assert report.paid == 2
    (confirmation,) = BankConfirmation.objects.all()
    assert _stored_files("bank-confirmations") - before == {
        Path(settings.PRIVATE_MEDIA_ROOT) / str(confirmation.file.name)
    }


def test_a_payment_run_whose_transaction_fails_leaves_no_file_behind(cast, monkeypatch) -> None:
    people = holders(2)
    for n, person in enumerate(people):
        bank_details(person, n=n)
    paying_account(cast.issuer, cast.admin)
    distribution = approved_bank_distribution(
        cast.issuer, cast.admin, cash=[(p, 10_00) for p in people], payment_date=timezone.localdate()
    )
    before = _stored_files("bank-runs")

    def refused(objs, *args, **kwargs):
        from django.db import DatabaseError

        raise DatabaseError("the entries could not be written")

    monkeypatch.setattr(bank_file.BankPaymentEntry.objects, "bulk_create", refused)
    with pytest.raises(Exception, match="could not be written"):
        bank_payment_run_create(distribution=distribution, actor=cast.admin)

    assert not BankPaymentRun.objects.exists()
    assert _stored_files("bank-runs") == before
