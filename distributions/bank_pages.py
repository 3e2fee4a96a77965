"""The bank payment section of a distribution's page: the account payments leave from, payment runs and their
files, the bank's confirmations, returned payments and held lines (issuer admins only)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from core.access import Perm, access_required, signed_in_user
from core.audit import audit_record
from core.errors import ApplicationError
from core.fields import decrypt_bytes
from core.models import Issuer
from core.money import Money
from distributions.forms import BankConfirmationForm, PayingAccountForm
from distributions.models import Distribution, PaymentMethod
from distributions.selectors import (
    bank_entries_returned,
    bank_entries_waiting,
    bank_lines_held,
    bank_payment_progress,
    bank_run_get,
    bank_runs_of,
    paying_account_current,
)
from distributions.services.bank_file import PayingAccountInput, bank_payment_run_create, paying_account_set
from distributions.services.bank_reconciliation import bank_confirmation_import, bank_entries_mark_paid

LISTED_LINES = 200


def bank_payment_context(distribution: Distribution) -> dict[str, Any]:
    """What `distributions/_bank_payment.html` shows; nothing for an on-chain distribution."""
    if distribution.payment_method != PaymentMethod.BANK_FILE:
        return {}
    return {
        "bank": {
            "paying_account": paying_account_current(issuer=distribution.issuer, currency=distribution.currency),
            "paying_form": PayingAccountForm(),
            "runs": list(bank_runs_of(distribution=distribution)[:50]),
            "waiting": list(bank_entries_waiting(distribution=distribution)[:LISTED_LINES]),
            "returned": list(bank_entries_returned(distribution=distribution)[:LISTED_LINES]),
            "held": list(bank_lines_held(distribution=distribution)[:LISTED_LINES]),
            "progress": bank_payment_progress(distribution=distribution),
            "upload_form": BankConfirmationForm(),
            "due": timezone.localdate() >= distribution.payment_date,
        }
    }


def _distribution(issuer: Issuer, distribution_id: Any) -> Distribution:
    return get_object_or_404(
        Distribution.objects.select_related("offering__issuer"), offering__issuer=issuer, public_id=distribution_id
    )


def _back(issuer: Issuer, distribution: Distribution) -> HttpResponse:
    return redirect(reverse("distribution_detail", args=[issuer.slug, distribution.public_id]) + "#bank-payment")


@require_POST
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def paying_account_page(request: HttpRequest, issuer: Issuer, distribution_id: Any) -> HttpResponse:
    distribution = _distribution(issuer, distribution_id)
    form = PayingAccountForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Fill in the account holder and the account's numbers.")
        return _back(issuer, distribution)
    try:
        account = paying_account_set(
            issuer=issuer,
            actor=signed_in_user(request),
            data=PayingAccountInput(currency=distribution.currency, **form.cleaned_data),
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Payment runs in {account.currency} are now paid from {account}.")
    return _back(issuer, distribution)


@require_POST
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def bank_run_create_page(request: HttpRequest, issuer: Issuer, distribution_id: Any) -> HttpResponse:
    distribution = _distribution(issuer, distribution_id)
    try:
        outcome = bank_payment_run_create(distribution=distribution, actor=signed_in_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back(issuer, distribution)
    held = f" {outcome.held} line(s) are held until their holders add bank details." if outcome.held else ""
    waiting = f" {outcome.waiting} returned payment(s) wait for new bank details." if outcome.waiting else ""
    if outcome.run is None:
        messages.warning(request, "No line can be paid just now." + held + waiting)
    else:
        run = outcome.run
        messages.success(
            request,
            f"Payment run {run.number} is written: {run.line_count} line(s), "
            f"{Money(run.total_minor, run.currency)}. Download the pain.001 file and hand it to the bank, then "
            "upload the bank's confirmation here." + held + waiting,
        )
    return _back(issuer, distribution)


CONTENT_TYPES = {"xml": "application/xml", "csv": "text/csv"}


@require_GET
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def bank_run_file(request: HttpRequest, issuer: Issuer, distribution_id: Any, run_id: Any, kind: str) -> HttpResponse:
    distribution = _distribution(issuer, distribution_id)
    run = bank_run_get(distribution=distribution, public_id=run_id)
    if run is None or kind not in CONTENT_TYPES:
        raise Http404("No such payment file.")
    stored = run.xml_file if kind == "xml" else run.csv_file
    with stored.open("rb") as handle:
        content = decrypt_bytes(handle.read())
    # Who took a file with the holders' full account numbers is recorded.
    audit_record(
        actor=signed_in_user(request),
        action="distribution.bank_file_downloaded",
        obj=run,
        issuer=issuer,
        after={"run": run.number, "kind": kind},
    )
    filename = f"{run.message_id}-pain.001.xml" if kind == "xml" else f"{run.message_id}.csv"
    response = HttpResponse(content, content_type=CONTENT_TYPES[kind])
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def bank_confirmation_upload(request: HttpRequest, issuer: Issuer, distribution_id: Any) -> HttpResponse:
    distribution = _distribution(issuer, distribution_id)
    form = BankConfirmationForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose the bank's confirmation file to upload.")
        return _back(issuer, distribution)
    upload = form.cleaned_data["file"]
    try:
        report = bank_confirmation_import(
            distribution=distribution, actor=signed_in_user(request), filename=upload.name, content=upload.read()
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        parts = [f"{report.paid} paid", f"{report.returned} returned"]
        if report.pending:
            parts.append(f"{report.pending} still pending at the bank")
        if report.already:
            parts.append(f"{report.already} recorded before")
        messages.success(request, "Confirmation applied: " + ", ".join(parts) + ".")
    return _back(issuer, distribution)


@require_POST
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def bank_mark_paid(request: HttpRequest, issuer: Issuer, distribution_id: Any) -> HttpResponse:
    distribution = _distribution(issuer, distribution_id)
    try:
        report = bank_entries_mark_paid(
            distribution=distribution,
            actor=signed_in_user(request),
            end_to_end_ids=request.POST.getlist("entry"),
            bank_reference=request.POST.get("bank_reference", "")[:140],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Marked {report.paid} line(s) paid.")
    return _back(issuer, distribution)
