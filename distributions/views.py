"""The issuer admins' distribution pages: the list per offering, declaring, the preview register with its
totals and the tax to remit, computing the register, asking for approval and deciding it; and the
investor's page electing or withdrawing reinvestment of a token's distributions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.access import Perm, access_required, signed_in_user
from core.actions import action_perform
from core.approvals import approval_approve, approval_reject
from core.errors import ApplicationError
from core.models import ApprovalState, Issuer
from distributions.bank_pages import bank_payment_context
from distributions.forms import DistributionDeclareForm
from distributions.models import Distribution, DistributionState, LinePaymentState, PaymentMethod
from distributions.selectors import (
    active_bank_accounts,
    destination_missing,
    distribution_lines,
    distributions_of,
    lines_in_payment_state,
    payment_progress,
    reinvestment_election_open,
    reinvestment_next,
    reinvestment_offered,
    reinvestment_totals,
    treasury_check,
    withholding_totals,
)
from distributions.services.approval import distribution_propose
from distributions.services.declaring import distribution_cancel, distribution_declare
from distributions.services.electing import reinvestment_elect, reinvestment_withdraw
from distributions.services.paying import distribution_failed_lines_retry
from distributions.services.register import distribution_register_compute
from investors.models import InvestorProfile
from offerings.models import Offering
from tokens.selectors import chain_transaction_by_key
from tokens.services import CHAIN_TRANSIENT_ERRORS

LINES_PER_PAGE = 50


def _offering(issuer: Issuer, public_id: Any) -> Offering:
    return get_object_or_404(Offering.objects.select_related("issuer"), issuer=issuer, public_id=public_id)


def _distribution(issuer: Issuer, distribution_id: Any) -> Distribution:
    return get_object_or_404(
        Distribution.objects.select_related(
            "offering__issuer", "declared_by", "approved_by", "record_transaction", "record_difference"
        ),
        offering__issuer=issuer,
        public_id=distribution_id,
    )


@require_GET
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def distribution_list(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _offering(issuer, public_id)
    page = Paginator(distributions_of(offering=offering), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "distributions/list.html",
        {"issuer": issuer, "offering": offering, "page": page, "tab": "distributions"},
    )


@require_http_methods(["GET", "POST"])
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def distribution_declare_page(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _offering(issuer, public_id)
    form = DistributionDeclareForm(
        request.POST or None, initial={"currency": offering.currency, "amount_basis": "total", "kind": "dividend"}
    )
    if request.method == "POST" and form.is_valid():
        try:
            distribution = distribution_declare(
                issuer=issuer, offering=offering, actor=signed_in_user(request), data=form.to_input()
            )
        except ApplicationError as exc:
            field = exc.extra.get("field")
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                f"Declared. The record date {distribution.record_date:%d %B %Y} is being scheduled on the token; "
                "the register is computed once it has passed.",
            )
            return redirect("distribution_detail", slug=issuer.slug, distribution_id=distribution.public_id)
    return render(
        request,
        "distributions/declare.html",
        {"issuer": issuer, "offering": offering, "form": form, "tab": "distributions"},
    )


@require_GET
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def distribution_detail(request: HttpRequest, issuer: Issuer, distribution_id: Any) -> HttpResponse:
    distribution = _distribution(issuer, distribution_id)
    page = Paginator(distribution_lines(distribution=distribution), LINES_PER_PAGE).get_page(request.GET.get("page"))
    treasury, treasury_error = None, ""
    if distribution.register_ready and distribution.state in (DistributionState.DRAFT, DistributionState.PROPOSED):
        try:
            treasury = treasury_check(distribution=distribution)
        except CHAIN_TRANSIENT_ERRORS:
            treasury_error = "The treasury's balance cannot be read just now: the chain cannot be reached."
    record_tx = distribution.record_transaction
    if record_tx is not None:
        record_tx = chain_transaction_by_key(idempotency_key=record_tx.idempotency_key)
    user = signed_in_user(request)
    approval = distribution.approval_request
    accounts = (
        active_bank_accounts(investor_ids=[line.investor_id for line in page.object_list])
        if distribution.payment_method == PaymentMethod.BANK_FILE
        else {}
    )
    context = {
        **_payment_context(distribution),
        "issuer": issuer,
        "offering": distribution.offering,
        "distribution": distribution,
        "page": page,
        # Each line of the page with the bank account its holder has on file now (bank-file payment only).
        "rows": [(line, accounts.get(line.investor_id)) for line in page.object_list],
        "totals": withholding_totals(distribution=distribution) if distribution.register_ready else [],
        "missing_destinations": destination_missing(distribution=distribution) if distribution.register_ready else 0,
        "reinvestment": reinvestment_totals(distribution=distribution)
        if distribution.register_ready and distribution.reinvestment_price_minor
        else None,
        "treasury": treasury,
        "treasury_error": treasury_error,
        "record_tx": record_tx,
        "approval": approval,
        "approval_pending": approval is not None and approval.state == ApprovalState.PENDING,
        "may_approve": approval is not None
        and approval.state == ApprovalState.PENDING
        and user.pk not in (approval.proposed_by_id, distribution.declared_by_id),
        "is_declarer": user.pk == distribution.declared_by_id,
        "tab": "distributions",
        **bank_payment_context(distribution),
    }
    return render(request, "distributions/detail.html", context)


PAYMENT_STATES = (DistributionState.APPROVED, DistributionState.PAYING, DistributionState.PAID)
LISTED_LINES = 50


def _payment_context(distribution: Distribution) -> dict[str, Any]:
    if distribution.state not in PAYMENT_STATES or distribution.payment_method != PaymentMethod.STABLECOIN:
        return {"progress": None}  # a bank file's payment shows in its own panel
    progress = payment_progress(distribution=distribution)
    return {
        "progress": progress,
        "failed_lines": lines_in_payment_state(
            distribution=distribution, state=LinePaymentState.FAILED, limit=LISTED_LINES
        ),
        "held_lines": lines_in_payment_state(
            distribution=distribution, state=LinePaymentState.HELD, limit=LISTED_LINES
        ),
        "listed_lines": LISTED_LINES,
        "on_chain": distribution.payment_method == PaymentMethod.STABLECOIN,
        # Due and approved, a payment run may start any moment: the panel follows it from here.
        "live": distribution.state == DistributionState.PAYING
        or (distribution.state == DistributionState.APPROVED and distribution.payment_date <= timezone.localdate()),
    }


@require_GET
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def distribution_payment_progress(request: HttpRequest, issuer: Issuer, distribution_id: Any) -> HttpResponse:
    """The payment progress fragment alone, which the distribution page fetches while it is paying."""
    distribution = _distribution(issuer, distribution_id)
    context = {"issuer": issuer, "distribution": distribution, **_payment_context(distribution)}
    return render(request, "distributions/_payment_progress.html", context)


def _back(issuer: Issuer, distribution: Distribution) -> HttpResponse:
    return redirect("distribution_detail", slug=issuer.slug, distribution_id=distribution.public_id)


@require_POST
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def distribution_compute(request: HttpRequest, issuer: Issuer, distribution_id: Any) -> HttpResponse:
    distribution = _distribution(issuer, distribution_id)
    try:
        result = distribution_register_compute(distribution=distribution, actor=signed_in_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if result.state == DistributionState.STOPPED:
            messages.error(request, "Stopped: the ledger and the token's checkpoint differ at the record date.")
        else:
            messages.success(request, f"The register is computed: {result.holders:,} holders.")
    return _back(issuer, distribution)


@require_POST
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def distribution_propose_page(request: HttpRequest, issuer: Issuer, distribution_id: Any) -> HttpResponse:
    distribution = _distribution(issuer, distribution_id)
    action_perform(
        request,
        lambda: distribution_propose(distribution=distribution, actor=signed_in_user(request)),
        success="Sent for approval: another admin of the issuer approves it.",
    )
    return _back(issuer, distribution)


@require_POST
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def distribution_decide(request: HttpRequest, issuer: Issuer, distribution_id: Any) -> HttpResponse:
    distribution = _distribution(issuer, distribution_id)
    approval = distribution.approval_request
    if approval is None or approval.state != ApprovalState.PENDING:
        messages.error(request, "Nothing of this distribution waits for approval.")
        return _back(issuer, distribution)
    actor = signed_in_user(request)
    if request.POST.get("decision") == "approve":
        action_perform(
            request,
            lambda: approval_approve(request=approval, actor=actor),
            success="Approved. The register is fixed; payment follows on the payment date.",
        )
    else:
        own = approval.proposed_by_id == actor.pk
        action_perform(
            request,
            lambda: approval_reject(request=approval, actor=actor, note=request.POST.get("note", "")),
            success="Withdrawn; the distribution is a draft again." if own else "Rejected; it is a draft again.",
        )
    return _back(issuer, distribution)


@require_POST
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def distribution_cancel_page(request: HttpRequest, issuer: Issuer, distribution_id: Any) -> HttpResponse:
    distribution = _distribution(issuer, distribution_id)
    action_perform(
        request,
        lambda: distribution_cancel(distribution=distribution, actor=signed_in_user(request)),
        success="Cancelled; nothing of it will be paid.",
    )
    return _back(issuer, distribution)


@require_POST
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def distribution_retry_page(request: HttpRequest, issuer: Issuer, distribution_id: Any) -> HttpResponse:
    distribution = _distribution(issuer, distribution_id)
    action_perform(
        request,
        lambda: distribution_failed_lines_retry(distribution=distribution, actor=signed_in_user(request)),
        success="The failed lines are being sent again; each is still paid only once.",
    )
    return _back(issuer, distribution)


# --------------------------------------------------------------------------- the investor's election


@require_http_methods(["GET", "POST"])
@access_required(Perm.INVESTOR_SELF)
def reinvestment_election(request: HttpRequest, public_id: Any) -> HttpResponse:
    user = signed_in_user(request)
    investor = get_object_or_404(InvestorProfile, user=user)
    offering = get_object_or_404(Offering.objects.select_related("issuer"), public_id=public_id)
    election = reinvestment_election_open(investor=investor, offering=offering)
    offered = reinvestment_offered(offering=offering)
    if not offered and election is None:
        raise Http404("This token offers no reinvestment.")
    if request.method == "POST":
        choice = request.POST.get("choice")
        if choice == "elect":
            action_perform(
                request,
                lambda: reinvestment_elect(investor=investor, offering=offering, actor=user),
                success=(
                    f"Reinvestment elected for {offering.token_symbol}: distributions whose record date comes after "
                    "now are paid in new tokens at their declared price, the part below one token in cash."
                ),
            )
        elif choice == "withdraw":
            action_perform(
                request,
                lambda: reinvestment_withdraw(investor=investor, offering=offering, actor=user),
                success=(
                    f"Reinvestment withdrawn for {offering.token_symbol}: distributions whose record date comes after "
                    "now are paid in cash."
                ),
            )
        else:
            messages.error(request, "Choose to elect or to withdraw reinvestment.")
        return redirect("reinvestment_election", public_id=offering.public_id)
    return render(
        request,
        "distributions/reinvestment_election.html",
        {
            "offering": offering,
            "election": election,
            "offered": offered,
            "next_distribution": reinvestment_next(offering=offering, after=timezone.now()),
        },
    )
