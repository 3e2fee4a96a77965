"""The bank payment section of a distribution's page: the admin writes a run, downloads its pain.001 and CSV,
uploads the bank's confirmation and sees returned and held lines; nobody else may do any of it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEvent
from core.money import Money
from distributions.iso20022 import pain001_read, pain001_validate
from distributions.models import BankPaymentEntry, BankPaymentRun, DistributionLine, LinePaymentState, PayingAccount
from distributions.tests.bank_support import (
    approved_bank_distribution,
    bank_details,
    camt054,
    holders,
    paying_account,
)

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(cast, distribution, name: str, *args) -> str:
    return reverse(name, args=[cast.issuer.slug, distribution.public_id, *args])


@pytest.fixture
def world(cast):
    alice, bob, carol = holders(3)
    bank_details(alice, n=0)
    bank_details(bob, n=1)
    distribution = approved_bank_distribution(
        cast.issuer,
        cast.admin,
        cash=[(alice, 10_00), (bob, 20_00), (carol, 5_00)],
        payment_date=timezone.localdate(),
    )
    return distribution, alice, bob, carol


def test_an_admin_sets_the_paying_account_writes_a_run_downloads_it_and_applies_the_banks_answer(cast, world) -> None:
    distribution, _alice, _bob, carol = world
    admin = _client(cast.admin)
    detail = reverse("distribution_detail", args=[cast.issuer.slug, distribution.public_id])
    assert "No USD account to pay from is set" in admin.get(detail).content.decode()

    admin.post(
        _url(cast, distribution, "distribution_paying_account"),
        {
            "holder_name": "Harbor Street Capital",
            "scheme": "aba",
            "routing_number": "021000021",
            "account_number": "7700123",
        },
    )
    response = admin.post(_url(cast, distribution, "distribution_bank_run_create"), follow=True)

    page = response.content.decode()
    assert f"Payment run 1 is written: 2 line(s), {Money(30_00, 'USD')}." in page
    assert "1 line(s) are held until their holders add bank details" in page
    assert carol.legal_name in page.split('id="bank-held"')[1]
    run = BankPaymentRun.objects.get(distribution=distribution)
    xml = admin.get(_url(cast, distribution, "distribution_bank_run_file", run.public_id, "xml"))
    assert xml.status_code == 200 and xml["Content-Disposition"].startswith("attachment")
    content = xml.content
    pain001_validate(content)
    assert pain001_read(content).count == 2
    table = admin.get(_url(cast, distribution, "distribution_bank_run_file", run.public_id, "csv")).content
    assert table.startswith(b"end_to_end_id,line,investor")
    assert AuditEvent.objects.filter(action="distribution.bank_file_downloaded").count() == 2

    a, b = BankPaymentEntry.objects.filter(run=run).order_by("line__line_index")
    upload = SimpleUploadedFile("camt054.xml", camt054([(a, "paid"), (b, "AC04")]), content_type="application/xml")
    response = admin.post(_url(cast, distribution, "distribution_bank_confirmation"), {"file": upload}, follow=True)

    page = response.content.decode()
    assert "Confirmation applied: 1 paid, 1 returned." in page
    returned = page.split('id="bank-returned"')[1]
    assert "AC04" in returned and "Account closed" in returned
    assert DistributionLine.objects.get(pk=a.line_id).payment_state == LinePaymentState.PAID


def test_a_bad_upload_on_the_page_says_what_is_wrong_and_changes_nothing(cast, world) -> None:
    distribution, *_ = world
    paying_account(cast.issuer, cast.admin)
    admin = _client(cast.admin)
    admin.post(_url(cast, distribution, "distribution_bank_run_create"))
    upload = SimpleUploadedFile("notes.txt", b"hello bank", content_type="text/plain")

    page = admin.post(_url(cast, distribution, "distribution_bank_confirmation"), {"file": upload}, follow=True)

    assert "not a confirmation this page reads" in page.content.decode()
    assert not DistributionLine.objects.filter(payment_state=LinePaymentState.PAID).exists()


def test_a_transfer_agent_can_neither_write_download_nor_upload(cast, world) -> None:
    distribution, *_ = world
    paying_account(cast.issuer, cast.admin)
    _client(cast.admin).post(_url(cast, distribution, "distribution_bank_run_create"))
    run = BankPaymentRun.objects.get()
    agent = _client(cast.agent)
    upload = SimpleUploadedFile("c.csv", b"end_to_end_id,status\n", content_type="text/csv")

    assert agent.post(_url(cast, distribution, "distribution_bank_run_create")).status_code == 403
    assert agent.get(_url(cast, distribution, "distribution_bank_run_file", run.public_id, "xml")).status_code == 403
    assert agent.post(_url(cast, distribution, "distribution_bank_confirmation"), {"file": upload}).status_code == 403
    assert agent.post(_url(cast, distribution, "distribution_bank_mark_paid"), {"entry": ["x"]}).status_code == 403
    assert agent.get(reverse("distribution_detail", args=[cast.issuer.slug, distribution.public_id])).status_code == 403
    assert BankPaymentRun.objects.count() == 1


def test_another_issuers_admin_sees_nothing_of_the_runs(cast, world) -> None:
    distribution, *_ = world
    paying_account(cast.issuer, cast.admin)
    _client(cast.admin).post(_url(cast, distribution, "distribution_bank_run_create"))
    run = BankPaymentRun.objects.get()
    other = _client(cast.other_admin)

    own_slug = reverse(
        "distribution_bank_run_file", args=[cast.other_issuer.slug, distribution.public_id, run.public_id, "xml"]
    )
    assert other.get(_url(cast, distribution, "distribution_bank_run_file", run.public_id, "xml")).status_code == 403
    assert other.get(own_slug).status_code == 404
    assert other.post(_url(cast, distribution, "distribution_bank_run_create")).status_code == 403
    assert (
        other.post(
            reverse("distribution_paying_account", args=[cast.other_issuer.slug, distribution.public_id]),
            {"holder_name": "x", "scheme": "aba", "routing_number": "021000021", "account_number": "7700123"},
        ).status_code
        == 404
    )
    assert not PayingAccount.objects.filter(issuer=cast.other_issuer).exists()


def test_an_admin_marks_lines_paid_from_the_page(cast, world) -> None:
    distribution, *_ = world
    paying_account(cast.issuer, cast.admin)
    admin = _client(cast.admin)
    admin.post(_url(cast, distribution, "distribution_bank_run_create"))
    first = BankPaymentEntry.objects.order_by("line__line_index").first()
    assert first is not None

    page = admin.post(
        _url(cast, distribution, "distribution_bank_mark_paid"),
        {"entry": [first.end_to_end_id], "bank_reference": "STMT-7"},
        follow=True,
    ).content.decode()

    assert "Marked 1 line(s) paid." in page
    line = DistributionLine.objects.get(pk=first.line_id)
    assert (line.payment_state, line.payment_reference) == (LinePaymentState.PAID, "STMT-7")


def test_before_the_payment_date_the_page_says_when_the_file_is_written_and_offers_no_button(cast) -> None:
    (alice,) = holders(1)
    distribution = approved_bank_distribution(
        cast.issuer, cast.admin, cash=[(alice, 10_00)], payment_date=timezone.localdate() + dt.timedelta(days=3)
    )

    page = _client(cast.admin).get(reverse("distribution_detail", args=[cast.issuer.slug, distribution.public_id]))

    text = page.content.decode()
    assert "The first file is written on the payment date" in text
    assert "Write the payment run" not in text
