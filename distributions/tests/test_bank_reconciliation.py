"""The bank's answer to a payment run: lines paid with the bank's reference, returned payments listed with their
reason and paid again to new details, and bad uploads refused whole."""

from __future__ import annotations

import pytest

from core.errors import ApplicationError
from core.fields import decrypt_bytes
from core.models import AuditEvent
from distributions.models import (
    BankConfirmation,
    BankEntryState,
    BankPaymentEntry,
    Distribution,
    DistributionLine,
    DistributionState,
    LinePaymentState,
)
from distributions.selectors import bank_entries_returned
from distributions.services.bank_file import bank_payment_run_create
from distributions.services.bank_reconciliation import bank_confirmation_import, bank_entries_mark_paid
from distributions.tests.bank_support import (
    PAYMENT_DATE,
    approved_bank_distribution,
    bank_details,
    camt054,
    confirmation_csv,
    holders,
    pain002,
    paying_account,
)
from investors.models import BankAccount

pytestmark = pytest.mark.django_db


def _paying(cast, count: int = 3, *, amounts: list[int] | None = None) -> tuple[Distribution, list[BankPaymentEntry]]:
    people = holders(count)
    for n, person in enumerate(people):
        bank_details(person, n=n)
    paying_account(cast.issuer, cast.admin)
    amounts = amounts or [10_00 * (n + 1) for n in range(count)]
    distribution = approved_bank_distribution(cast.issuer, cast.admin, cash=list(zip(people, amounts, strict=True)))
    bank_payment_run_create(distribution=distribution, actor=cast.admin, today=PAYMENT_DATE)
    entries = list(BankPaymentEntry.objects.filter(run__distribution=distribution).order_by("line__line_index"))
    return distribution, entries


def _states(distribution: Distribution) -> list[str]:
    return list(
        DistributionLine.objects.filter(distribution=distribution)
        .order_by("line_index")
        .values_list("payment_state", flat=True)
    )


def test_a_camt054_marks_lines_paid_with_the_bank_reference_and_lists_the_returned_one(cast) -> None:
    distribution, (a, b, c) = _paying(cast)

    report = bank_confirmation_import(
        distribution=distribution,
        actor=cast.admin,
        filename="camt054.xml",
        content=camt054([(a, "paid"), (b, "paid"), (c, "AC04")]),
    )

    assert (report.format, report.paid, report.returned) == ("camt054", 2, 1)
    assert _states(distribution) == [LinePaymentState.PAID, LinePaymentState.PAID, LinePaymentState.RETURNED]
    paid = DistributionLine.objects.get(pk=a.line_id)
    assert paid.payment_reference == "BANKREF0000" and paid.paid_at is not None
    returned = DistributionLine.objects.get(pk=c.line_id)
    assert returned.failure_reason == "AC04: Account closed"
    assert [(e.pk, e.reason_code) for e in bank_entries_returned(distribution=distribution)] == [(c.pk, "AC04")]
    assert BankAccount.objects.get(pk=a.bank_account_id).verified_at is not None
    distribution.refresh_from_db()
    assert distribution.state == DistributionState.PAYING  # one line is still to pay
    event = AuditEvent.objects.get(action="distribution.bank_confirmation_imported")
    assert event.after is not None and set(event.after["paid"]) == {a.end_to_end_id, b.end_to_end_id}


def test_a_pain002_report_settles_accepted_lines_rejects_with_the_reason_and_leaves_pending_ones(cast) -> None:
    distribution, (a, b, c) = _paying(cast)

    report = bank_confirmation_import(
        distribution=distribution,
        actor=cast.admin,
        filename="status.xml",
        content=pain002([(a, "ACSC"), (b, "RJCT"), (c, "ACSP")]),
    )

    assert (report.paid, report.returned, report.pending) == (1, 1, 1)
    assert _states(distribution) == [LinePaymentState.PAID, LinePaymentState.RETURNED, LinePaymentState.SENDING]
    assert DistributionLine.objects.get(pk=a.line_id).payment_reference == f"SR-{a.pk}"
    assert DistributionLine.objects.get(pk=b.line_id).failure_reason == "AC01: Incorrect account number"


def test_once_every_line_is_paid_the_distribution_is_paid(cast) -> None:
    distribution, (a, b) = _paying(cast, 2)

    bank_confirmation_import(
        distribution=distribution,
        actor=cast.admin,
        filename="c.csv",
        content=confirmation_csv([(a.end_to_end_id, "paid", "", ""), (b.end_to_end_id, "paid", "", "")]),
    )

    distribution.refresh_from_db()
    assert distribution.state == DistributionState.PAID
    assert DistributionLine.objects.get(pk=b.line_id).payment_reference == "REF-1"


def test_a_returned_payment_goes_out_again_only_after_the_holder_gives_new_bank_details(cast) -> None:
    distribution, (a, b) = _paying(cast, 2)
    bank_confirmation_import(
        distribution=distribution,
        actor=cast.admin,
        filename="c.csv",
        content=confirmation_csv([(a.end_to_end_id, "paid", "", ""), (b.end_to_end_id, "returned", "AC04", "Closed")]),
    )

    again = bank_payment_run_create(distribution=distribution, actor=cast.admin, today=PAYMENT_DATE)
    assert again.run is None and again.waiting == 1

    bank_details(b.line.investor, n=4)
    retry = bank_payment_run_create(distribution=distribution, actor=cast.admin, today=PAYMENT_DATE)

    assert retry.run is not None and retry.run.line_count == 1 and retry.run.total_minor == b.amount_minor
    second = BankPaymentEntry.objects.get(run=retry.run)
    assert (second.line_id, second.attempt) == (b.line_id, 2)
    assert second.end_to_end_id != b.end_to_end_id
    assert not bank_entries_returned(distribution=distribution).exists()
    assert DistributionLine.objects.get(pk=b.line_id).payment_state == LinePaymentState.SENDING


def test_an_admin_marks_the_chosen_lines_paid_by_hand_and_it_is_audited(cast) -> None:
    distribution, (a, _b, c) = _paying(cast)

    report = bank_entries_mark_paid(
        distribution=distribution,
        actor=cast.admin,
        end_to_end_ids=[a.end_to_end_id, c.end_to_end_id],
        bank_reference="STMT-2026-11-21",
    )

    assert report.paid == 2
    assert _states(distribution) == [LinePaymentState.PAID, LinePaymentState.SENDING, LinePaymentState.PAID]
    assert DistributionLine.objects.get(pk=c.line_id).payment_reference == "STMT-2026-11-21"
    event = AuditEvent.objects.get(action="distribution.bank_lines_marked_paid")
    assert event.after is not None and sorted(event.after["paid"]) == sorted([a.end_to_end_id, c.end_to_end_id])
    with pytest.raises(ApplicationError) as twice:
        bank_entries_mark_paid(distribution=distribution, actor=cast.admin, end_to_end_ids=[a.end_to_end_id])
    assert twice.value.code == "already_settled"


BAD_UPLOADS = {
    "not_a_confirmation": (lambda d, e, o: b"just some text\nwith lines\n", "bad_format"),
    "empty": (lambda d, e, o: b"   ", "empty_file"),
    "broken_xml": (lambda d, e, o: b"<Document><unclosed>", "bad_format"),
    "dtd": (lambda d, e, o: b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><Document/>", "bad_format"),
    "bad_status": (lambda d, e, o: confirmation_csv([(e[0].end_to_end_id, "maybe", "", "")]), "bad_status"),
    "unknown_ids": (
        lambda d, e, o: confirmation_csv([(e[0].end_to_end_id, "paid", "", ""), ("NOSUCHID-01", "paid", "", "")]),
        "unknown_ids",
    ),
    "duplicates": (
        lambda d, e, o: confirmation_csv([(e[0].end_to_end_id, "paid", "", ""), (e[0].end_to_end_id, "paid", "", "")]),
        "duplicate_ids",
    ),
    "another_distribution": (
        lambda d, e, o: camt054([(e[0], "paid"), (o, "paid")]),
        "other_distribution",
    ),
    "amount_differs": (
        lambda d, e, o: camt054([(e[0], "paid")]).replace(b">10.00<", b">10.01<"),
        "amount_differs",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_a_bad_upload_is_refused_with_a_clear_error_and_nothing_is_applied(cast, case: str) -> None:
    distribution, entries = _paying(cast, 2)
    other_distribution, other_entries = _paying(cast, 1)
    build, code = BAD_UPLOADS[case]
    content = build(distribution, entries, other_entries[0])

    with pytest.raises(ApplicationError) as refused:
        bank_confirmation_import(distribution=distribution, actor=cast.admin, filename="bad", content=content)

    assert refused.value.code == code and refused.value.message
    assert set(_states(distribution)) == {LinePaymentState.SENDING}
    assert set(_states(other_distribution)) == {LinePaymentState.SENDING}
    assert BankEntryState.PAID not in BankPaymentEntry.objects.values_list("state", flat=True)
    assert not BankConfirmation.objects.exists()


def test_the_same_file_twice_is_refused_and_changes_nothing_the_second_time(cast) -> None:
    distribution, (a, b) = _paying(cast, 2)
    content = camt054([(a, "paid"), (b, "AC04")])
    bank_confirmation_import(distribution=distribution, actor=cast.admin, filename="one.xml", content=content)
    before = _states(distribution)

    with pytest.raises(ApplicationError) as refused:
        bank_confirmation_import(distribution=distribution, actor=cast.admin, filename="again.xml", content=content)

    assert refused.value.code == "already_imported"
    assert _states(distribution) == before
    assert BankConfirmation.objects.count() == 1


def test_the_payment_file_itself_is_not_taken_for_the_banks_answer(cast) -> None:
    distribution, _entries = _paying(cast, 1)
    run = distribution.bank_runs.get()
    with run.xml_file.open("rb") as handle:
        content = decrypt_bytes(handle.read())

    with pytest.raises(ApplicationError) as refused:
        bank_confirmation_import(distribution=distribution, actor=cast.admin, filename="pain.xml", content=content)

    assert "not the bank's answer" in refused.value.message


def test_a_paid_line_reported_returned_later_is_returned_but_a_returned_one_is_never_paid_after(cast) -> None:
    distribution, (a,) = _paying(cast, 1)
    bank_confirmation_import(
        distribution=distribution,
        actor=cast.admin,
        filename="1",
        content=confirmation_csv([(a.end_to_end_id, "paid", "", "")]),
    )
    bank_confirmation_import(
        distribution=distribution,
        actor=cast.admin,
        filename="2",
        content=confirmation_csv([(a.end_to_end_id, "returned", "MD07", "Holder deceased")]),
    )
    assert _states(distribution) == [LinePaymentState.RETURNED]
    distribution.refresh_from_db()
    assert distribution.state == DistributionState.PAYING

    with pytest.raises(ApplicationError) as refused:
        bank_confirmation_import(
            distribution=distribution,
            actor=cast.admin,
            filename="3",
            content=confirmation_csv([(a.end_to_end_id, "accepted", "", "")]),
        )
    assert refused.value.code == "paid_after_return"
