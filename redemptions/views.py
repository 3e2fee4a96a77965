"""Redemption pages: the issuer admins' terms and dealing days (NAV, pricing, approval, settlement), and the
holder's requests from the portfolio, each step with its figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backing.selectors import nav_of_day
from core.access import Perm, access_required, signed_in_user
from core.actions import action_perform
from core.approvals import approval_approve, approval_reject
from core.audit import audit_record
from core.errors import ApplicationError
from core.fields import decrypt_bytes
from core.models import ApprovalState, Issuer
from distributions.models import PaymentMethod
from investors.models import InvestorProfile
from offerings.models import Offering
from redemptions.dealing_days import next_dealing_day
from redemptions.forms import NavForm, RequestForm, TermsForm
from redemptions.models import DealingDay, DealingState, RedemptionBankRun, RedemptionRequest, RequestState
from redemptions.pricing import nav_text
from redemptions.selectors import (
    dealing_day_requests,
    dealing_days_of,
    dealing_progress,
    redeemable_holdings,
    requests_of_investor,
    terms_of,
)
from redemptions.services.approval import dealing_day_propose
from redemptions.services.bank import redemption_bank_confirmation_import, redemption_bank_run_create
from redemptions.services.dealing import dealing_day_nav_enter, dealing_day_price
from redemptions.services.requesting import redemption_cancel, redemption_cancel_by_issuer, redemption_request
from redemptions.services.settling import dealing_day_failed_retry
from redemptions.services.terms import redemption_terms_set

LINES_PER_PAGE = 50
# Requests whose next step comes within seconds (the chain answering), not on a later day or a person's decision.
MOVING_STATES = (RequestState.FREEZING, RequestState.CANCELLING, RequestState.APPROVED, RequestState.BURNED)


def _offering(issuer: Issuer, public_id: Any) -> Offering:
    return get_object_or_404(Offering.objects.select_related("issuer"), issuer=issuer, public_id=public_id)


def _day(issuer: Issuer, day_id: Any) -> DealingDay:
    return get_object_or_404(
        DealingDay.objects.select_related("offering__issuer", "proposed_by", "approved_by", "approval_request"),
        offering__issuer=issuer,
        public_id=day_id,
    )


def _back(issuer: Issuer, day: DealingDay) -> HttpResponse:
    return redirect("dealing_day_detail", slug=issuer.slug, day_id=day.public_id)


# --------------------------------------------------------------------------- issuer admins


@require_http_methods(["GET", "POST"])
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def redemption_terms_page(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _offering(issuer, public_id)
    terms = terms_of(offering=offering)
    form = TermsForm(request.POST or None, initial=TermsForm.initial_of(terms))
    if request.method == "POST" and form.is_valid():
        try:
            redemption_terms_set(offering=offering, actor=signed_in_user(request), data=form.to_input())
        except ApplicationError as exc:
            field = exc.extra.get("field")
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(request, "Redemption terms saved. They apply from the next dealing day not yet cut off.")
            return redirect("redemption_terms", slug=issuer.slug, public_id=offering.public_id)
    page = Paginator(dealing_days_of(offering=offering), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "redemptions/terms.html",
        {"issuer": issuer, "offering": offering, "terms": terms, "form": form, "page": page, "tab": "redemptions"},
    )


@require_GET
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def dealing_day_detail(request: HttpRequest, issuer: Issuer, day_id: Any) -> HttpResponse:
    day = _day(issuer, day_id)
    user = signed_in_user(request)
    approval = day.approval_request
    page = Paginator(dealing_day_requests(day=day), LINES_PER_PAGE).get_page(request.GET.get("page"))
    open_day = day.state in (DealingState.OPEN, DealingState.CUT_OFF)
    nav_point = nav_of_day(offering=day.offering, day=day.dealing_date) if open_day else None
    if nav_point is not None and nav_point.currency != day.currency:
        nav_point = None
    return render(
        request,
        "redemptions/dealing_day.html",
        {
            "issuer": issuer,
            "offering": day.offering,
            "day": day,
            "page": page,
            "progress": dealing_progress(day=day),
            "nav": nav_text(nav_per_unit=day.nav_per_unit, nav_scale=day.nav_scale) if day.nav_per_unit else "",
            "nav_form": NavForm() if open_day and nav_point is None else None,
            "nav_point": nav_point,
            "nav_point_text": nav_text(nav_per_unit=nav_point.nav_per_unit, nav_scale=nav_point.scale)
            if nav_point is not None
            else "",
            "approval": approval,
            "may_approve": approval is not None
            and approval.state == ApprovalState.PENDING
            and user.pk != approval.proposed_by_id,
            "live": day.state == DealingState.SETTLING and day.payout_method == PaymentMethod.STABLECOIN,
            "bank_runs": list(day.bank_runs.order_by("-number")),
            "tab": "redemptions",
        },
    )


@require_POST
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def dealing_day_nav(request: HttpRequest, issuer: Issuer, day_id: Any) -> HttpResponse:
    day = _day(issuer, day_id)
    form = NavForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the NAV per unit and where it comes from.")
        return _back(issuer, day)
    try:
        dealing_day_nav_enter(
            day=day, actor=signed_in_user(request), nav=form.cleaned_data["nav"], source=form.cleaned_data["source"]
        )
        priced = dealing_day_price(day_id=day.pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back(issuer, day)
    if priced.state == DealingState.PRICED:
        messages.success(request, "NAV entered and the dealing day priced: check the register, then ask for approval.")
    elif priced.state == DealingState.OPEN:
        messages.success(request, "NAV entered. The day is priced at its cut-off.")
    else:
        messages.success(request, f"NAV entered. {priced.get_state_display()}.")
    return _back(issuer, day)


@require_POST
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def dealing_day_propose_page(request: HttpRequest, issuer: Issuer, day_id: Any) -> HttpResponse:
    day = _day(issuer, day_id)
    action_perform(
        request,
        lambda: dealing_day_propose(day=day, actor=signed_in_user(request)),
        success="Sent for approval: another admin of the issuer approves it.",
    )
    return _back(issuer, day)


@require_POST
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def dealing_day_decide(request: HttpRequest, issuer: Issuer, day_id: Any) -> HttpResponse:
    day = _day(issuer, day_id)
    approval = day.approval_request
    if approval is None or approval.state != ApprovalState.PENDING:
        messages.error(request, "Nothing of this dealing day waits for approval.")
        return _back(issuer, day)
    actor = signed_in_user(request)
    if request.POST.get("decision") == "approve":
        action_perform(
            request,
            lambda: approval_approve(request=approval, actor=actor),
            success="Approved. The units are burned and the holders paid, each once; follow it below.",
        )
    else:
        own = approval.proposed_by_id == actor.pk
        action_perform(
            request,
            lambda: approval_reject(request=approval, actor=actor, note=request.POST.get("note", "")),
            success="Withdrawn; the register waits to be proposed again." if own else "Rejected; it is priced again.",
        )
    return _back(issuer, day)


@require_POST
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def dealing_day_retry_page(request: HttpRequest, issuer: Issuer, day_id: Any) -> HttpResponse:
    day = _day(issuer, day_id)
    action_perform(
        request,
        lambda: dealing_day_failed_retry(day=day, actor=signed_in_user(request)),
        success="The failed lines are being sent again; each is still burned and paid only once.",
    )
    return _back(issuer, day)


@require_POST
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def dealing_day_request_cancel(request: HttpRequest, issuer: Issuer, day_id: Any, request_id: Any) -> HttpResponse:
    """An issuer admin cancels a holder's pending request, with the reason the holder reads."""
    day = _day(issuer, day_id)
    found = get_object_or_404(RedemptionRequest, dealing_day=day, public_id=request_id)
    action_perform(
        request,
        lambda: redemption_cancel_by_issuer(
            request=found, actor=signed_in_user(request), reason=request.POST.get("reason", "")
        ),
        success="Cancelled: the request's units are being unfrozen, and the holder is told why.",
    )
    return _back(issuer, day)


@require_GET
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def dealing_day_progress(request: HttpRequest, issuer: Issuer, day_id: Any) -> HttpResponse:
    """The settlement fragment alone, which the dealing day's page fetches while it settles."""
    day = _day(issuer, day_id)
    context = {"issuer": issuer, "day": day, "progress": dealing_progress(day=day), "live": day.state == "settling"}
    return render(request, "redemptions/_progress.html", context)


# --------------------------------------------------------------------------- the holder


def _next_day(terms: Any) -> tuple[dt.date, dt.datetime] | None:
    try:
        return next_dealing_day(
            now=timezone.now(),
            frequency=terms.frequency,
            cutoff_time=terms.cutoff_time,
            timezone_name=terms.cutoff_timezone,
            notice_days=terms.notice_days,
        )
    except ValueError:
        return None


@require_http_methods(["GET", "POST"])
@access_required(Perm.INVESTOR_SELF)
def investor_redemptions(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    investor = InvestorProfile.objects.filter(user=user).first()
    holdings = redeemable_holdings(investor=investor) if investor else []
    forms = {}
    next_days = {holding.offering.pk: _next_day(holding.terms) for holding in holdings}
    for holding in holdings:
        bound = request.method == "POST" and request.POST.get("offering") == str(holding.offering.public_id)
        shown = next_days[holding.offering.pk]
        forms[holding.offering.pk] = RequestForm(
            request.POST if bound else None,
            wallets=holding.wallets,
            initial={
                "offering": holding.offering.public_id,
                "wallet": holding.wallets[0][0],
                "dealing_date": shown[0] if shown else None,
            },
        )
        if bound and investor is not None:
            form = forms[holding.offering.pk]
            if form.is_valid():
                try:
                    made = redemption_request(
                        offering=holding.offering,
                        investor=investor,
                        actor=user,
                        wallet=form.cleaned_data["wallet"],
                        quantity=form.cleaned_data["quantity"],
                        idempotency_key=str(form.cleaned_data["form_token"]),
                        dealing_date=form.cleaned_data.get("dealing_date"),
                    )
                except ApplicationError as exc:
                    field = exc.extra.get("field")
                    form.add_error(field if field in form.fields else None, exc.message)
                else:
                    messages.success(
                        request,
                        f"Requested: {made.quantity:,} {holding.offering.token_symbol} are being frozen in your wallet "
                        f"for the dealing day of {made.dealing_day.dealing_date:%d %B %Y}. You can cancel until its "
                        "cut-off.",
                    )
                    return redirect("investor_redemptions")
    if request.method == "POST" and not any(f.is_bound for f in forms.values()):
        messages.error(request, "That token takes no redemption requests from you.")
    rows = [
        {"holding": holding, "form": forms[holding.offering.pk], "next_day": next_days[holding.offering.pk]}
        for holding in holdings
    ]
    requests = list(requests_of_investor(investor=investor)[:100]) if investor else []
    moving = [r for r in requests if r.state in MOVING_STATES]
    return render(
        request,
        "redemptions/investor.html",
        {
            "rows": rows,
            "requests": requests,
            # While a request moves, the list follows it (and the page reloads when a state changes).
            "live": bool(moving),
            "live_state": ",".join(f"{r.pk}:{r.state}:{r.payment_state}" for r in moving),
        },
    )


@require_POST
@access_required(Perm.INVESTOR_SELF)
def investor_redemption_cancel(request: HttpRequest, request_id: Any) -> HttpResponse:
    user = signed_in_user(request)
    found = get_object_or_404(RedemptionRequest, public_id=request_id, investor__user=user)
    try:
        cancelled = redemption_cancel(request=found, actor=user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            "Cancelled: your units are being unfrozen."
            if cancelled.state == RequestState.CANCELLING
            else "Cancelled before anything was frozen: your units are free.",
        )
    return redirect("investor_redemptions")


# --------------------------------------------------------------------------- payout by bank file

BANK_CONTENT_TYPES = {"xml": "application/xml", "csv": "text/csv"}


@require_POST
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def dealing_day_bank_run(request: HttpRequest, issuer: Issuer, day_id: Any) -> HttpResponse:
    day = _day(issuer, day_id)
    try:
        outcome = redemption_bank_run_create(day=day, actor=signed_in_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back(issuer, day)
    held = (
        f" {outcome.held} line{'s' if outcome.held != 1 else ''} held: no bank details on file." if outcome.held else ""
    )
    if outcome.run is None:
        messages.warning(request, f"No line to pay now.{held}")
    else:
        messages.success(
            request,
            f"Payment file {outcome.run.number} written: {outcome.run.line_count} lines. Download it for the bank, "
            f"then upload the bank's confirmation.{held}",
        )
    return _back(issuer, day)


@require_GET
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def dealing_day_bank_file(request: HttpRequest, issuer: Issuer, day_id: Any, run_id: Any, kind: str) -> HttpResponse:
    day = _day(issuer, day_id)
    run = RedemptionBankRun.objects.filter(dealing_day=day, public_id=run_id).first()
    if run is None or kind not in BANK_CONTENT_TYPES:
        raise Http404("No such payment file.")
    stored = run.xml_file if kind == "xml" else run.csv_file
    with stored.open("rb") as handle:
        content = decrypt_bytes(handle.read())
    # Who took a file with the holders' full account numbers is recorded.
    audit_record(
        actor=signed_in_user(request),
        action="redemption.bank_file_downloaded",
        obj=run,
        issuer=issuer,
        after={"run": run.number, "kind": kind},
    )
    filename = f"{run.message_id}-pain.001.xml" if kind == "xml" else f"{run.message_id}.csv"
    response = HttpResponse(content, content_type=BANK_CONTENT_TYPES[kind])
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@access_required(Perm.ISSUER_MANAGE_DISTRIBUTIONS, issuer_kwarg="slug")
def dealing_day_bank_confirmation(request: HttpRequest, issuer: Issuer, day_id: Any) -> HttpResponse:
    day = _day(issuer, day_id)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose the bank's confirmation file (camt.054, pain.002 or CSV) to upload.")
        return _back(issuer, day)
    try:
        paid, returned = redemption_bank_confirmation_import(day=day, upload=upload, actor=signed_in_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Applied: {paid} paid, {returned} returned.")
    return _back(issuer, day)
