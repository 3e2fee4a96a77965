"""Payment by bank file: the pain.001 and CSV of a payment run, held lines, and no line paid twice."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from core.fields import FILE_PREFIX, decrypt_bytes
from core.models import AuditEvent
from distributions.iso20022 import pain001_read, pain001_validate
from distributions.models import (
    BankPaymentEntry,
    BankPaymentRun,
    Distribution,
    DistributionLine,
    DistributionState,
    LinePaymentState,
)
from distributions.selectors import bank_file_distributions_due
from distributions.services.bank_file import (
    bank_payment_run_create,
    distribution_pay_by_bank_file,
    end_to_end_id_for,
)
from distributions.tasks import bank_payment_run_task
from distributions.tests.bank_support import (
    PAYMENT_DATE,
    approved_bank_distribution,
    bank_details,
    holders,
    paying_account,
)

pytestmark = pytest.mark.django_db


def _files(run: BankPaymentRun) -> tuple[bytes, bytes]:
    with run.xml_file.open("rb") as xml, run.csv_file.open("rb") as table:
        return decrypt_bytes(xml.read()), decrypt_bytes(table.read())


def _line(distribution: Distribution, investor) -> DistributionLine:
    return DistributionLine.objects.get(distribution=distribution, investor=investor)


def test_the_pain001_validates_against_the_schema_and_reads_back_with_each_lines_amount_account_and_id(cast) -> None:
    alice, bob, carol = holders(3)
    bank_details(alice, n=0)
    bank_details(bob, n=1, aba=True)
    bank_details(carol, n=3)
    paying_account(cast.issuer, cast.admin)
    distribution = approved_bank_distribution(
        cast.issuer, cast.admin, cash=[(alice, 1_000_000_01), (bob, 1), (carol, 333_33)]
    )

    outcome = bank_payment_run_create(distribution=distribution, actor=cast.admin, today=PAYMENT_DATE)

    run = outcome.run
    assert run is not None and run.schema == "pain.001.001.09"
    xml, table = _files(run)
    pain001_validate(xml)  # raises if the schema refuses it
    written = pain001_read(xml)
    assert (written.count, written.control_sum) == (3, "1000333.35")
    by_id = {t.end_to_end_id: t for t in written.transfers}
    lines = {line.investor_id: line for line in DistributionLine.objects.filter(distribution=distribution)}
    alice_id = end_to_end_id_for(idempotency_key=lines[alice.pk].idempotency_key, attempt=1)
    bob_id = end_to_end_id_for(idempotency_key=lines[bob.pk].idempotency_key, attempt=1)
    carol_id = end_to_end_id_for(idempotency_key=lines[carol.pk].idempotency_key, attempt=1)
    assert by_id[alice_id].amount_minor == 1_000_000_01 and by_id[alice_id].iban == "DE89370400440532013000"
    assert by_id[alice_id].bic == "COBADEFFXXX" and by_id[alice_id].currency == "USD"
    assert (by_id[bob_id].amount_minor, by_id[bob_id].routing_number) == (1, "021000021")
    assert by_id[bob_id].account_number == "4000123401"
    assert (by_id[carol_id].amount_minor, by_id[carol_id].iban) == (333_33, "GB82WEST12345698765432")
    rows = list(csv.DictReader(io.StringIO(table.decode())))
    assert {(r["end_to_end_id"], r["amount"]) for r in rows} == {
        (alice_id, "1000000.01"),
        (bob_id, "0.01"),
        (carol_id, "333.33"),
    }
    assert (run.line_count, run.total_minor) == (3, 1_000_333_35)
    assert run.xml_sha256 == hashlib.sha256(xml).hexdigest() and run.csv_sha256 == hashlib.sha256(table).hexdigest()
    assert set(DistributionLine.objects.filter(distribution=distribution).values_list("payment_state", flat=True)) == {
        LinePaymentState.SENDING
    }
    distribution.refresh_from_db()
    assert distribution.state == DistributionState.PAYING
    assert AuditEvent.objects.filter(action="distribution.bank_run_created", object_id=str(run.pk)).exists()


def test_a_euro_distribution_goes_out_as_a_sepa_credit_transfer(cast) -> None:
    alice, bob = holders(2)
    bank_details(alice, n=0, currency="EUR")
    bank_details(bob, n=1, currency="EUR")
    paying_account(cast.issuer, cast.admin, currency="EUR")
    distribution = approved_bank_distribution(
        cast.issuer, cast.admin, cash=[(alice, 50_00), (bob, 25_50)], currency="EUR"
    )

    run = bank_payment_run_create(distribution=distribution, actor=cast.admin, today=PAYMENT_DATE).run

    assert run is not None
    xml, _ = _files(run)
    pain001_validate(xml)
    assert b"<SvcLvl><Cd>SEPA</Cd></SvcLvl>" in xml
    written = pain001_read(xml)
    assert written.message_id == run.message_id
    assert sorted((t.iban, t.amount_minor, t.currency) for t in written.transfers) == [
        ("DE89370400440532013000", 50_00, "EUR"),
        ("FR1420041010050500013M02606", 25_50, "EUR"),
    ]


def test_the_files_are_stored_encrypted_because_they_hold_full_account_numbers(cast) -> None:
    (alice,) = holders(1)
    bank_details(alice, n=0)
    paying_account(cast.issuer, cast.admin)
    distribution = approved_bank_distribution(cast.issuer, cast.admin, cash=[(alice, 10_00)])

    run = bank_payment_run_create(distribution=distribution, actor=cast.admin, today=PAYMENT_DATE).run

    assert run is not None
    with run.xml_file.open("rb") as handle:
        stored = handle.read()
    assert stored.startswith(FILE_PREFIX) and b"DE89370400440532013000" not in stored


def test_a_second_run_pays_no_line_twice(cast) -> None:
    alice, bob = holders(2)
    bank_details(alice, n=0)
    bank_details(bob, n=1)
    paying_account(cast.issuer, cast.admin)
    distribution = approved_bank_distribution(cast.issuer, cast.admin, cash=[(alice, 10_00), (bob, 20_00)])

    first = bank_payment_run_create(distribution=distribution, actor=cast.admin, today=PAYMENT_DATE)
    second = bank_payment_run_create(distribution=distribution, actor=cast.admin, today=PAYMENT_DATE)

    assert first.run is not None and first.run.line_count == 2
    assert second.run is None and (second.held, second.waiting) == (0, 0)
    assert BankPaymentRun.objects.filter(distribution=distribution).count() == 1
    assert BankPaymentEntry.objects.filter(run__distribution=distribution).count() == 2


def test_holders_without_bank_details_are_held_and_paid_in_the_next_run_once_they_add_them(cast) -> None:
    alice, bob = holders(2)
    bank_details(alice, n=0)
    paying_account(cast.issuer, cast.admin)
    distribution = approved_bank_distribution(cast.issuer, cast.admin, cash=[(alice, 10_00), (bob, 20_00)])

    first = bank_payment_run_create(distribution=distribution, actor=cast.admin, today=PAYMENT_DATE)

    assert first.run is not None and first.run.line_count == 1 and first.held == 1
    held = _line(distribution, bob)
    assert held.payment_state == LinePaymentState.HELD and "No bank details" in held.failure_reason
    nothing = bank_payment_run_create(distribution=distribution, actor=cast.admin, today=PAYMENT_DATE)
    assert nothing.run is None and nothing.held == 1

    bank_details(bob, n=2)
    second = bank_payment_run_create(distribution=distribution, actor=cast.admin, today=PAYMENT_DATE)

    assert second.run is not None and second.run.number == 2
    assert (second.run.line_count, second.run.total_minor, second.held) == (1, 20_00, 0)
    xml, _ = _files(second.run)
    assert [t.iban for t in pain001_read(xml).transfers] == ["NL91ABNA0417164300"]
    assert _line(distribution, bob).payment_state == LinePaymentState.SENDING


@pytest.mark.parametrize(
    ("setup", "code"),
    [("early", "before_payment_date"), ("no_paying_account", "no_paying_account"), ("draft", "state")],
)
def test_no_file_is_written_before_the_payment_date_without_a_paying_account_or_before_approval(
    cast, setup: str, code: str
) -> None:
    (alice,) = holders(1)
    bank_details(alice, n=0)
    if setup != "no_paying_account":
        paying_account(cast.issuer, cast.admin)
    distribution = approved_bank_distribution(cast.issuer, cast.admin, cash=[(alice, 10_00)])
    if setup == "draft":
        Distribution.objects.filter(pk=distribution.pk).update(state=DistributionState.PROPOSED)
    today = PAYMENT_DATE - dt.timedelta(days=1) if setup == "early" else PAYMENT_DATE

    with pytest.raises(ApplicationError) as refused:
        bank_payment_run_create(distribution=distribution, actor=cast.admin, today=today)

    assert refused.value.code == code
    assert not BankPaymentRun.objects.exists()
    assert _line(distribution, alice).payment_state == LinePaymentState.PENDING


def test_the_end_to_end_id_is_the_same_for_the_same_line_and_attempt_and_fits_35_characters() -> None:
    key = "distribution:31337:5b0e0c1e-7f55-4a1e-9d63-1d1f0c8a9b2e:line:123456789"
    first = end_to_end_id_for(idempotency_key=key, attempt=1)
    assert first == end_to_end_id_for(idempotency_key=key, attempt=1)
    assert first != end_to_end_id_for(idempotency_key=key, attempt=2)
    assert first != end_to_end_id_for(idempotency_key=key + "0", attempt=1)
    assert len(end_to_end_id_for(idempotency_key=key, attempt=999)) <= 35


def test_the_scheduled_payer_writes_one_run_a_day_from_the_payment_date(cast) -> None:
    alice, bob = holders(2)
    bank_details(alice, n=0)
    paying_account(cast.issuer, cast.admin)
    distribution = approved_bank_distribution(cast.issuer, cast.admin, cash=[(alice, 10_00), (bob, 20_00)])
    today = timezone.localdate()
    Distribution.objects.filter(pk=distribution.pk).update(payment_date=today)

    early = distribution_pay_by_bank_file(distribution_id=distribution.pk, today=today - dt.timedelta(days=1))
    first = distribution_pay_by_bank_file(distribution_id=distribution.pk, today=today)
    bank_details(bob, n=1)
    again = distribution_pay_by_bank_file(distribution_id=distribution.pk, today=today)

    assert (early, first, again) == ("not due", "run 1: 1 lines", "written today")
    run = BankPaymentRun.objects.get(distribution=distribution)
    assert run.created_by is None and run.line_count == 1


def test_the_beat_queues_a_run_for_each_bank_file_distribution_due_and_the_task_writes_it(cast) -> None:
    (alice,) = holders(1)
    bank_details(alice, n=0)
    paying_account(cast.issuer, cast.admin)
    due = approved_bank_distribution(cast.issuer, cast.admin, cash=[(alice, 10_00)], payment_date=timezone.localdate())
    later = approved_bank_distribution(
        cast.issuer, cast.admin, cash=[(alice, 10_00)], payment_date=timezone.localdate() + dt.timedelta(days=2)
    )

    assert bank_file_distributions_due() == [due.pk]
    assert bank_payment_run_task.run(due.pk) == "run 1: 1 lines"
    assert bank_payment_run_task.run(later.pk) == "not due"
    assert BankPaymentRun.objects.filter(distribution=due).count() == 1


def test_a_reinvesting_holders_cash_goes_out_only_once_their_tokens_are_minted_or_fall_back_to_cash(cast) -> None:
    alice, bob = holders(2)
    bank_details(alice, n=0)
    bank_details(bob, n=1)
    paying_account(cast.issuer, cast.admin)
    distribution = approved_bank_distribution(cast.issuer, cast.admin, cash=[(alice, 10_00), (bob, 20_00)])
    # Bob reinvests: 19 tokens at 1.00 and 1.00 in cash, not minted yet.
    DistributionLine.objects.filter(distribution=distribution, investor=bob).update(
        reinvest=True, reinvest_units=19, cash_minor=1_00
    )
    first = bank_payment_run_create(distribution=distribution, actor=cast.admin, today=PAYMENT_DATE)
    assert first.run is not None and first.run.line_count == 1  # Alice only
    assert _line(distribution, bob).payment_state == LinePaymentState.PENDING

    # The token refused Bob's units: the whole net is now cash, and goes out in the next run.
    DistributionLine.objects.filter(distribution=distribution, investor=bob).update(reinvest_units=0, cash_minor=20_00)
    second = bank_payment_run_create(distribution=distribution, actor=cast.admin, today=PAYMENT_DATE)
    assert second.run is not None and second.run.line_count == 1
    assert BankPaymentEntry.objects.get(line=_line(distribution, bob)).amount_minor == 20_00


def _addressed(investor, line1: str, town: str, country: str, postal_code: str = "", region: str = "") -> None:
    investor.address_line1, investor.address_line2, investor.city = line1, "", town
    investor.country, investor.postal_code, investor.region = country, postal_code, region
    investor.save()


@pytest.mark.parametrize("currency", ["USD", "EUR"])
def test_the_pain001_carries_the_creditors_and_the_debtors_postal_address_where_known(cast, currency: str) -> None:
    from distributions.services.payer import PayerInput, issuer_payer_set

    alice, bob, carol = holders(3)
    _addressed(alice, "Hauptstrasse 5", "Berlin", "DE", "10115")
    _addressed(bob, "12 Rue de Rivoli", "Paris", "FR", "75001", "Ile-de-France")
    _addressed(carol, "", "", "NL")  # no town on the record: no address is made up
    for n, person in enumerate((alice, bob, carol)):
        bank_details(person, n=n, currency=currency)
    paying_account(cast.issuer, cast.admin, currency=currency)
    issuer_payer_set(
        issuer=cast.issuer,
        actor=cast.admin,
        data=PayerInput("12-3456789", "100 Harbor Street", "", "Boston", "MA", "02110"),
    )
    distribution = approved_bank_distribution(
        cast.issuer, cast.admin, cash=[(alice, 10_00), (bob, 20_00), (carol, 30_00)], currency=currency
    )

    run = bank_payment_run_create(distribution=distribution, actor=cast.admin, today=PAYMENT_DATE).run

    assert run is not None
    xml, _ = _files(run)
    pain001_validate(xml)  # the addresses sit where pain.001.001.09's schema wants them
    by_amount = {t.amount_minor: t for t in pain001_read(xml).transfers}
    alice_tx, bob_tx, carol_tx = by_amount[10_00], by_amount[20_00], by_amount[30_00]
    assert (alice_tx.creditor_town, alice_tx.creditor_country, alice_tx.creditor_address_lines) == (
        "Berlin",
        "DE",
        ("Hauptstrasse 5",),
    )
    assert (bob_tx.creditor_town, bob_tx.creditor_country) == ("Paris", "FR")
    assert b"<PstCd>75001</PstCd>" in xml and b"<CtrySubDvsn>Ile-de-France</CtrySubDvsn>" in xml
    assert (carol_tx.creditor_town, carol_tx.creditor_country, carol_tx.creditor_address_lines) == ("", "", ())
    # The debtor, the issuer, with the address it gave for its forms.
    assert b"<TwnNm>Boston</TwnNm>" in xml and b"<AdrLine>100 Harbor Street</AdrLine>" in xml
