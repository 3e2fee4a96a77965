"""The issuer's NAV pages for one token: the NAV terms (decimal places, cut-off, pricing at NAV), the oracle that
publishes it (if any) with the rounds it reported that were not used, the history of NAV points with the chart, a
new point with its document, a point's page with its approval and document, or its oracle and round.

Read by whoever reads the issuer's pages; changed by its admins only (core.access: ISSUER_MANAGE_BACKING)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backing.forms import DecideForm, NavOracleForm, NavPointForm, NavTermsForm
from backing.models import NavPoint, StatementState
from backing.selectors import nav_history, nav_oracle_of, nav_points_of, nav_rounds_refused_of, nav_terms_of
from backing.services.nav import nav_point_propose, nav_terms_save
from backing.services.nav_oracle import nav_oracle_change_pending, nav_oracle_propose, oracle_text
from backing.views.issuer import _base, _offering
from core.access import Perm, access_required, can, signed_in_user
from core.approvals import approval_approve, approval_reject
from core.errors import ApplicationError
from core.models import ApprovalState, Issuer


def nav_chart(points: list[NavPoint]) -> dict[str, Any]:
    """What the NAV chart draws: exact integer counts of 10^-scale per unit (the page shows them as a table)."""
    return {
        "scale": points[-1].scale if points else 0,
        "currency": points[-1].currency if points else "",
        "labels": [p.dealing_day.isoformat() for p in points],
        "nav": [p.nav_per_unit for p in points],
    }


@require_GET
@access_required(Perm.ISSUER_VIEW, issuer_kwarg="slug")
def nav_overview(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _offering(issuer, public_id)
    history = nav_history(offering=offering)
    return render(
        request,
        "backing/nav.html",
        _base(
            request,
            issuer,
            offering,
            terms=nav_terms_of(offering=offering),
            oracle=nav_oracle_of(offering=offering),
            oracle_pending=nav_oracle_change_pending(offering=offering),
            refused=nav_rounds_refused_of(offering=offering),
            points=list(nav_points_of(offering=offering)[:200]),
            history=history,
            chart=nav_chart(history),
        ),
    )


@require_http_methods(["GET", "POST"])
@access_required(Perm.ISSUER_MANAGE_BACKING, issuer_kwarg="slug")
def nav_oracle_edit(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    """Propose the oracle that publishes the token's NAV (or none); a second admin approves it."""
    offering = _offering(issuer, public_id)
    terms = nav_terms_of(offering=offering)
    if terms is None:
        messages.warning(request, "Declare the NAV's terms first: the decimal places it is published to.")
        return redirect("nav_terms_edit", slug=issuer.slug, public_id=offering.public_id)
    oracle = nav_oracle_of(offering=offering)
    form = NavOracleForm(request.POST or None, initial={"address": oracle.address if oracle else ""})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                proposal = nav_oracle_propose(
                    offering=offering, address=form.cleaned_data["address"], actor=signed_in_user(request)
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.info(
                    request,
                    f"Proposed: {oracle_text(proposal.payload['proposed'])}. It applies once another admin of "
                    f"{issuer.name} approves it on the approvals page.",
                )
                return redirect("nav_overview", slug=issuer.slug, public_id=offering.public_id)
        status = 400
    return render(
        request,
        "backing/nav_oracle_form.html",
        _base(
            request,
            issuer,
            offering,
            form=form,
            terms=terms,
            oracle=oracle,
            pending=nav_oracle_change_pending(offering=offering),
        ),
        status=status,
    )


@require_http_methods(["GET", "POST"])
@access_required(Perm.ISSUER_MANAGE_BACKING, issuer_kwarg="slug")
def nav_terms_edit(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _offering(issuer, public_id)
    terms = nav_terms_of(offering=offering)
    initial = (
        {"scale": terms.scale, "cutoff": terms.cutoff, "priced_at_nav": "yes" if terms.priced_at_nav else "no"}
        if terms
        else {"scale": 8, "cutoff": dt.time(16, 0), "priced_at_nav": "no"}
    )
    form = NavTermsForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                nav_terms_save(
                    offering=offering,
                    scale=d["scale"],
                    priced_at_nav=d["priced_at_nav"],
                    cutoff=d["cutoff"],
                    actor=signed_in_user(request),
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "The NAV terms are saved.")
                return redirect("nav_overview", slug=issuer.slug, public_id=offering.public_id)
        status = 400
    return render(
        request, "backing/nav_terms_form.html", _base(request, issuer, offering, form=form, terms=terms), status=status
    )


@require_http_methods(["GET", "POST"])
@access_required(Perm.ISSUER_MANAGE_BACKING, issuer_kwarg="slug")
def nav_point_new(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _offering(issuer, public_id)
    terms = nav_terms_of(offering=offering)
    if terms is None:
        messages.warning(request, "Declare the NAV's terms first: the decimal places it is published to.")
        return redirect("nav_terms_edit", slug=issuer.slug, public_id=offering.public_id)
    form = NavPointForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                point = nav_point_propose(
                    offering=offering,
                    dealing_day=d["dealing_day"],
                    nav=d["nav"],
                    source=d["source"],
                    document=d["document"],
                    actor=signed_in_user(request),
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.info(
                    request,
                    f"The NAV is recorded with its document. It counts once a second admin of {issuer.name} approves "
                    "it, here or on the approvals page.",
                )
                return redirect("nav_point_detail", slug=issuer.slug, point_id=point.public_id)
        status = 400
    return render(
        request, "backing/nav_point_form.html", _base(request, issuer, offering, form=form, terms=terms), status=status
    )


def _point(issuer: Issuer, point_id: Any) -> NavPoint:
    return get_object_or_404(
        NavPoint.objects.select_related("offering__issuer", "entered_by", "approved_by", "approval_request"),
        offering__issuer=issuer,
        public_id=point_id,
    )


@require_GET
@access_required(Perm.ISSUER_VIEW, issuer_kwarg="slug")
def nav_point_detail(request: HttpRequest, issuer: Issuer, point_id: Any) -> HttpResponse:
    point = _point(issuer, point_id)
    user = signed_in_user(request)
    pending = point.state == StatementState.PENDING and point.approval_request is not None
    return render(
        request,
        "backing/nav_point_detail.html",
        _base(
            request,
            issuer,
            point.offering,
            point=point,
            superseded_by=NavPoint.objects.filter(supersedes=point).first(),
            may_decide=pending and can(user, Perm.ISSUER_MANAGE_BACKING, issuer) and point.entered_by_id != user.pk,
            own_pending=pending and point.entered_by_id == user.pk,
        ),
    )


@require_POST
@access_required(Perm.ISSUER_MANAGE_BACKING, issuer_kwarg="slug")
def nav_point_decide(request: HttpRequest, issuer: Issuer, point_id: Any) -> HttpResponse:
    point = _point(issuer, point_id)
    form = DecideForm(request.POST)
    back = redirect("nav_point_detail", slug=issuer.slug, point_id=point.public_id)
    if not form.is_valid() or point.approval_request is None:
        messages.error(request, "Choose to approve or to decline the NAV.")
        return back
    if point.approval_request.state != ApprovalState.PENDING:
        messages.info(request, "This NAV was already decided.")
        return back
    try:
        if form.cleaned_data["decision"] == "approve":
            approval_approve(request=point.approval_request, actor=signed_in_user(request))
            messages.success(
                request,
                f"Approved: this is the NAV of {point.offering.token_symbol} on {point.dealing_day:%d %B %Y}.",
            )
        else:
            approval_reject(
                request=point.approval_request, actor=signed_in_user(request), note=form.cleaned_data["note"]
            )
            messages.info(request, "Declined: the NAV stays on record and never counts.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return back


@require_GET
@access_required(Perm.ISSUER_VIEW, issuer_kwarg="slug")
def nav_point_document(request: HttpRequest, issuer: Issuer, point_id: Any) -> FileResponse:
    point = _point(issuer, point_id)
    if point.from_oracle:
        raise Http404("This NAV was published by an oracle; it has no document.")
    response = FileResponse(point.document.open("rb"), content_type="application/pdf")
    name = f"{point.offering.token_symbol}-nav-{point.dealing_day:%Y-%m-%d}-{point.pk}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
