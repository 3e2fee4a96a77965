"""Whatever order holders add bank details, runs are written and the bank answers: each file's total is the sum
of the lines in it, and a line is in at most one run that the bank did not return."""

from __future__ import annotations

import itertools

import pytest
from django.db import transaction
from django.db.models import Count
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.fields import decrypt_bytes
from distributions.iso20022 import amount_minor_of, pain001_read
from distributions.models import BankEntryState, BankPaymentEntry, BankPaymentRun, DistributionLine, LinePaymentState
from distributions.services.bank_file import bank_payment_run_create
from distributions.services.bank_reconciliation import bank_confirmation_import
from distributions.tests.bank_support import (
    PAYMENT_DATE,
    approved_bank_distribution,
    bank_details,
    confirmation_csv,
    holders,
    paying_account,
)

pytestmark = pytest.mark.django_db

HOLDERS = 4
step = st.one_of(
    st.tuples(st.just("details"), st.integers(0, HOLDERS - 1)),
    st.tuples(st.just("run"), st.just(0)),
    st.tuples(st.just("paid"), st.integers(0, 50)),
    st.tuples(st.just("returned"), st.integers(0, 50)),
)
_accounts = itertools.count()


def _check_invariants(distribution) -> None:
    for run in BankPaymentRun.objects.filter(distribution=distribution):
        amounts = list(BankPaymentEntry.objects.filter(run=run).values_list("amount_minor", flat=True))
        with run.xml_file.open("rb") as handle:
            written = pain001_read(decrypt_bytes(handle.read()))
        assert run.total_minor == sum(amounts) == sum(t.amount_minor for t in written.transfers)
        assert amount_minor_of(written.control_sum, run.currency) == run.total_minor
        assert run.line_count == len(amounts) == written.count
    live = (
        BankPaymentEntry.objects.filter(run__distribution=distribution)
        .exclude(state=BankEntryState.RETURNED)
        .values("line")
        .annotate(n=Count("pk"))
    )
    assert all(row["n"] == 1 for row in live)
    for line in DistributionLine.objects.filter(distribution=distribution):
        entries = BankPaymentEntry.objects.filter(line=line)
        if line.payment_state == LinePaymentState.PAID:
            assert entries.filter(state=BankEntryState.PAID).count() == 1
        if line.payment_state == LinePaymentState.SENDING:
            assert entries.filter(state=BankEntryState.SENT).count() == 1
        if line.payment_state in (LinePaymentState.PENDING, LinePaymentState.HELD):
            assert not entries.exists()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    amounts=st.lists(st.integers(min_value=1, max_value=10**12), min_size=HOLDERS, max_size=HOLDERS),
    steps=st.lists(step, min_size=1, max_size=14),
)
def test_file_totals_are_the_sum_of_their_lines_and_no_line_is_in_two_live_runs(cast, amounts, steps) -> None:
    with transaction.atomic():
        people = holders(HOLDERS)
        paying_account(cast.issuer, cast.admin)
        distribution = approved_bank_distribution(cast.issuer, cast.admin, cash=list(zip(people, amounts, strict=True)))
        for kind, n in steps:
            if kind == "details":
                bank_details(people[n], n=next(_accounts))
            elif kind == "run":
                bank_payment_run_create(distribution=distribution, actor=cast.admin, today=PAYMENT_DATE)
            else:
                sent = list(
                    BankPaymentEntry.objects.filter(run__distribution=distribution, state=BankEntryState.SENT).order_by(
                        "pk"
                    )
                )
                if not sent:
                    continue
                entry = sent[n % len(sent)]
                row = (entry.end_to_end_id, kind, "AC04" if kind == "returned" else "", "")
                bank_confirmation_import(
                    distribution=distribution, actor=cast.admin, filename="c.csv", content=confirmation_csv([row])
                )
            _check_invariants(distribution)
        transaction.set_rollback(True)
