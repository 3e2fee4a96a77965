"""Kernel pages: landing, dashboard, issuer console (overview, team, audit log), staff console."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from core.access import Perm, access_required, can, require, signed_in_user
from core.actions import action_perform
from core.approvals import approval_approve, approval_reject, four_eyes_threshold_propose
from core.audit import audit_chain_verify
from core.errors import ApplicationError
from core.forms import FourEyesThresholdForm, IssuerCreateForm, MemberAddForm
from core.models import ApprovalRequest, Issuer, IssuerMembership, User
from core.selectors import (
    approvals_decided,
    approvals_pending,
    audit_events_for_issuer,
    audit_events_recent,
    issuer_list_visible_to,
    issuer_team,
)
from core.services import issuer_onboard, membership_grant, membership_revoke


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "core/landing.html")


@access_required(Perm.INVESTOR_SELF)
def home(request: HttpRequest) -> HttpResponse:
    memberships = IssuerMembership.objects.filter(user=signed_in_user(request)).select_related("issuer")
    return render(request, "core/home.html", {"memberships": memberships})


@access_required(Perm.ISSUER_VIEW, issuer_kwarg="slug")
def issuer_overview(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    context = {
        "issuer": issuer,
        "team": issuer_team(issuer=issuer),
        "can_manage_team": can(request.user, Perm.ISSUER_MANAGE_TEAM, issuer),
        "can_view_audit": can(request.user, Perm.ISSUER_VIEW_AUDIT, issuer),
        "can_approve": can(request.user, Perm.ISSUER_APPROVE_MONEY, issuer),
        "pending_approvals": approvals_pending(issuer=issuer).count()
        if can(request.user, Perm.ISSUER_APPROVE_MONEY, issuer)
        else 0,
        "recent_events": audit_events_for_issuer(issuer=issuer)[:10]
        if can(request.user, Perm.ISSUER_VIEW_AUDIT, issuer)
        else [],
    }
    return render(request, "core/issuer_overview.html", context)


@require_http_methods(["GET", "POST"])
@access_required(Perm.ISSUER_MANAGE_TEAM, issuer_kwarg="slug")
def issuer_team_page(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = User.objects.filter(email__iexact=form.cleaned_data["email"]).first()
        if user is None:
            form.add_error("email", "No registered user has this e-mail address. Ask them to sign up first.")
        else:
            try:
                membership_grant(
                    actor=signed_in_user(request), issuer=issuer, user=user, role=form.cleaned_data["role"]
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"{user.email} is now {form.cleaned_data['role'].replace('_', ' ')}.")
                return redirect("issuer_team", slug=issuer.slug)
    return render(
        request, "core/issuer_team.html", {"issuer": issuer, "team": issuer_team(issuer=issuer), "form": form}
    )


@require_POST
@access_required(Perm.ISSUER_MANAGE_TEAM, issuer_kwarg="slug")
def issuer_team_remove(request: HttpRequest, issuer: Issuer, membership_id: int) -> HttpResponse:
    membership = get_object_or_404(IssuerMembership, pk=membership_id, issuer=issuer)
    action_perform(
        request,
        lambda: membership_revoke(actor=signed_in_user(request), membership=membership),
        success=f"{membership.user.email} no longer has a role at {issuer.name}.",
    )
    return redirect("issuer_team", slug=issuer.slug)


@access_required(Perm.ISSUER_VIEW_AUDIT, issuer_kwarg="slug")
def issuer_audit_log(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    page = Paginator(audit_events_for_issuer(issuer=issuer), 50).get_page(request.GET.get("page"))
    return render(request, "core/audit_log.html", {"issuer": issuer, "page": page})


@require_http_methods(["GET", "POST"])
def staff_console(request: HttpRequest) -> HttpResponse:
    refusal = require(request, Perm.PLATFORM_ADMIN)
    if refusal is not None:
        return refusal
    form = IssuerCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            membership = issuer_onboard(
                actor=signed_in_user(request),
                name=data["name"],
                legal_name=data["legal_name"],
                jurisdiction=data["jurisdiction"],
                country=data["country"],
                admin_email=data["admin_email"],
            )
        except ApplicationError as exc:
            form.add_error(exc.extra.get("field"), exc.message)
        else:
            messages.success(
                request, f"{membership.issuer.name} was created with {membership.user.email} as its admin."
            )
            return redirect("staff_console")
    context = {
        "issuers": issuer_list_visible_to(user=request.user),
        "form": form,
        "events": audit_events_recent(limit=20),
        "chain": audit_chain_verify() if request.GET.get("verify") else None,
    }
    return render(request, "core/staff_console.html", context)


@access_required(Perm.ISSUER_APPROVE_MONEY, issuer_kwarg="slug")
def issuer_approvals(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    """Money moved by hand that waits for a second admin, and what was decided lately."""
    context = {
        "issuer": issuer,
        "pending": approvals_pending(issuer=issuer),
        "decided": approvals_decided(issuer=issuer)[:20],
        "threshold_form": FourEyesThresholdForm(initial={"threshold_minor": issuer.four_eyes_threshold_minor}),
        "section": "approvals",
    }
    return render(request, "core/approvals.html", context)


@require_POST
@access_required(Perm.ISSUER_APPROVE_MONEY, issuer_kwarg="slug")
def issuer_four_eyes_threshold(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    form = FourEyesThresholdForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the threshold as a whole number of cents (0: always).")
        return redirect("issuer_approvals", slug=issuer.slug)
    try:
        outcome = four_eyes_threshold_propose(
            issuer=issuer, actor=signed_in_user(request), threshold_minor=form.cleaned_data["threshold_minor"]
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if outcome.pending:
            messages.info(request, "A looser threshold needs a second admin: it waits for approval below.")
        else:
            messages.success(request, "The threshold is changed.")
    return redirect("issuer_approvals", slug=issuer.slug)


@require_POST
@access_required(Perm.ISSUER_APPROVE_MONEY, issuer_kwarg="slug")
def issuer_approval_decide(request: HttpRequest, issuer: Issuer, approval_id: int) -> HttpResponse:
    approval = get_object_or_404(ApprovalRequest, pk=approval_id, issuer=issuer)
    actor = signed_in_user(request)
    if request.POST.get("decision") == "approve":
        action_perform(
            request,
            lambda: approval_approve(request=approval, actor=actor),
            success=f"Approved and done: {approval.summary}.",
        )
    else:
        own = approval.proposed_by_id == actor.pk
        action_perform(
            request,
            lambda: approval_reject(request=approval, actor=actor, note=request.POST.get("note", "")),
            success="Withdrawn; nothing was recorded." if own else "Rejected; nothing was recorded.",
        )
    return redirect("issuer_approvals", slug=issuer.slug)


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", {"reason": str(exception) if exception else ""}, status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    # No context processors here: whatever failed must not fail again while rendering the apology.
    from django.template import loader

    return HttpResponse(loader.get_template("500.html").render({}), status=500)
