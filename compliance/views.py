"""Compliance pages: platform compliance's identity queue and decisions, each issuer's applicants
and its admission decisions, and the KYC webhook."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from csp.decorators import csp_replace
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from compliance.forms import ApplicationDecisionForm, DecisionForm, HitDecisionForm, OwnerDecisionForm, SubmitForm
from compliance.kyc.base import WebhookRejected, kyc_provider
from compliance.models import ScreeningHit
from compliance.selectors import (
    ISSUER_QUEUE_FILTERS,
    QUEUE_FILTERS,
    applicant_of,
    application_of,
    identity_queue,
    investor_review,
    review_queue,
    sanctions_list_current,
    submitted_investor_of,
)
from compliance.services.kyc import kyc_approve, kyc_reject, kyc_request_information, kyc_vendor_result_apply
from compliance.services.onboarding import onboarding_submit
from compliance.services.reviews import (
    accreditation_approve,
    accreditation_reject,
    accreditation_request_information,
    owner_review,
)
from compliance.services.sanctions import screening_hit_clear, screening_hit_confirm
from core.access import Perm, access_required, signed_in_user
from core.actions import action_perform
from core.errors import ApplicationError
from core.models import Issuer
from investors.forms import CustodialWalletForm
from investors.models import AccreditationClaim, InvestorDocument, InvestorProfile
from investors.selectors import submission_missing
from investors.services.applications import issuer_application_decide
from investors.services.profiles import investor_profile_ensure
from investors.services.wallets import wallet_custodial_record
from investors.views import document_response, onboarding_context

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- investor: submit


@require_http_methods(["GET", "POST"])
@access_required(Perm.INVESTOR_SELF, writes_on_get=True)  # opening it starts the visitor's investor profile
def onboarding_submit_page(request: HttpRequest) -> HttpResponse:
    investor = investor_profile_ensure(user=signed_in_user(request))
    form = SubmitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            onboarding_submit(
                investor=investor, actor=signed_in_user(request), issuers=list(form.cleaned_data["issuers"])
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Thank you. Your application is with the compliance team.")
            return redirect("investor_status")
    return render(
        request,
        "compliance/submit.html",
        {
            **onboarding_context(investor, "submit"),
            "form": form,
            "missing": submission_missing(investor=investor),
            "applied": list(investor.applications.select_related("issuer")),
        },
    )


# --------------------------------------------------------------------------- issuer: its applicants


@access_required(Perm.COMPLIANCE_REVIEW, issuer_kwarg="slug")
def compliance_queue(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    show = request.GET.get("show", "open")
    if show not in ISSUER_QUEUE_FILTERS:
        show = "open"
    search = request.GET.get("q", "")[:100]
    page = Paginator(review_queue(issuer=issuer, show=show, search=search), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "compliance/queue.html",
        {
            "issuer": issuer,
            "page": page,
            "show": show,
            "search": search,
            "filters": ISSUER_QUEUE_FILTERS,
            "sanctions_list": sanctions_list_current(),
            "section": "compliance",
        },
    )


def _applicant(issuer: Issuer, public_id: uuid.UUID) -> InvestorProfile:
    investor = applicant_of(issuer=issuer, public_id=public_id)
    if investor is None:
        raise Http404("This investor has not applied to this issuer.")
    return investor


@access_required(Perm.COMPLIANCE_REVIEW, issuer_kwarg="slug")
def compliance_investor(request: HttpRequest, issuer: Issuer, public_id: uuid.UUID) -> HttpResponse:
    """An applicant's page for the issuer: identity as platform compliance decided it (read only),
    and the issuer's own decision, notes and history."""
    investor = _applicant(issuer, public_id)
    return render(
        request,
        "compliance/investor.html",
        {
            "issuer": issuer,
            "review": investor_review(investor=investor, issuer=issuer),
            "investor": investor,
            "application": application_of(issuer=issuer, investor=investor),
            "application_form": ApplicationDecisionForm(),
            "documents_url": request.path + "documents/",
            "section": "compliance",
        },
    )


@require_POST
@access_required(Perm.COMPLIANCE_REVIEW, issuer_kwarg="slug")
def compliance_application_decide(request: HttpRequest, issuer: Issuer, public_id: uuid.UUID) -> HttpResponse:
    investor = _applicant(issuer, public_id)
    application = application_of(issuer=issuer, investor=investor)
    form = ApplicationDecisionForm(request.POST)
    back = redirect("compliance_investor", slug=issuer.slug, public_id=investor.public_id)
    if application is None or not form.is_valid():
        messages.error(request, "Choose a decision.")
        return back
    decision = form.cleaned_data["decision"]
    action_perform(
        request,
        lambda: issuer_application_decide(
            application=application, actor=signed_in_user(request), decision=decision, note=form.cleaned_data["note"]
        ),
        success={
            "admit": f"{investor.legal_name or 'The investor'} is admitted to {issuer.name}'s offerings.",
            "decline": f"{investor.legal_name or 'The investor'} is declined; they cannot subscribe to "
            f"{issuer.name}'s offerings.",
            "note": "Note added. Only your team sees it.",
        }[decision],
    )
    return back


@xframe_options_sameorigin
@csp_replace({"frame-ancestors": ["'self'"]})
@access_required(Perm.COMPLIANCE_REVIEW, issuer_kwarg="slug")
def compliance_document_file(
    request: HttpRequest, issuer: Issuer, public_id: uuid.UUID, document_id: uuid.UUID
) -> HttpResponseBase:
    """A document of an investor who applied to this issuer, for its compliance staff only."""
    investor = _applicant(issuer, public_id)
    document = get_object_or_404(InvestorDocument, public_id=document_id, investor=investor)
    return document_response(document)


# --------------------------------------------------------------------------- platform compliance: identity


@access_required(Perm.PLATFORM_COMPLIANCE)
def identity_queue_page(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "open")
    if show not in QUEUE_FILTERS:
        show = "open"
    search = request.GET.get("q", "")[:100]
    page = Paginator(identity_queue(show=show, search=search), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "compliance/identity_queue.html",
        {
            "page": page,
            "show": show,
            "search": search,
            "filters": QUEUE_FILTERS,
            "sanctions_list": sanctions_list_current(),
        },
    )


def _submitted(public_id: uuid.UUID) -> InvestorProfile:
    investor = submitted_investor_of(public_id=public_id)
    if investor is None:
        raise Http404("No investor with this id has submitted onboarding.")
    return investor


@access_required(Perm.PLATFORM_COMPLIANCE)
def identity_investor(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    investor = _submitted(public_id)
    return render(
        request,
        "compliance/identity_investor.html",
        {
            "review": investor_review(investor=investor),
            "investor": investor,
            "decision_form": DecisionForm(),
            "hit_form": HitDecisionForm(),
            "owner_form": OwnerDecisionForm(),
            "wallet_form": CustodialWalletForm(),
            "documents_url": request.path + "documents/",
        },
    )


def _back(investor: InvestorProfile) -> HttpResponse:
    return redirect("identity_investor", public_id=investor.public_id)


@require_POST
@access_required(Perm.PLATFORM_COMPLIANCE)
def identity_kyc_decide(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    investor = _submitted(public_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a decision.")
        return _back(investor)
    actor, note = signed_in_user(request), form.cleaned_data["note"]
    decisions: dict[str, tuple[Callable[[], object], str]] = {
        "approve": (
            lambda: kyc_approve(investor=investor, actor=actor),
            "KYC approved. The investor is registered on-chain for every issuer's tokens.",
        ),
        "reject": (
            lambda: kyc_reject(investor=investor, actor=actor, reason=note),
            "KYC rejected. The investor reads your reason on their status page.",
        ),
        "request_info": (
            lambda: kyc_request_information(investor=investor, actor=actor, message=note),
            "Request sent. The investor sees it on their status page.",
        ),
    }
    action, success = decisions[form.cleaned_data["decision"]]
    action_perform(request, action, success=success)
    return _back(investor)


@require_POST
@access_required(Perm.PLATFORM_COMPLIANCE)
def identity_accreditation_decide(request: HttpRequest, public_id: uuid.UUID, claim_id: uuid.UUID) -> HttpResponse:
    investor = _submitted(public_id)
    claim = get_object_or_404(AccreditationClaim, public_id=claim_id, investor=investor)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a decision.")
        return _back(investor)
    actor, note = signed_in_user(request), form.cleaned_data["note"]
    decisions: dict[str, tuple[Callable[[], object], str]] = {
        "approve": (lambda: accreditation_approve(claim=claim, actor=actor), "Accreditation verified."),
        "reject": (lambda: accreditation_reject(claim=claim, actor=actor, reason=note), "Accreditation rejected."),
        "request_info": (
            lambda: accreditation_request_information(claim=claim, actor=actor, message=note),
            "Request sent.",
        ),
    }
    action, success = decisions[form.cleaned_data["decision"]]
    action_perform(request, action, success=success)
    return _back(investor)


@require_POST
@access_required(Perm.PLATFORM_COMPLIANCE)
def identity_hit_decide(request: HttpRequest, public_id: uuid.UUID, hit_id: int) -> HttpResponse:
    investor = _submitted(public_id)
    hit = get_object_or_404(ScreeningHit, pk=hit_id, investor=investor)
    form = HitDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a decision and say what it rests on.")
        return _back(investor)
    actor, note = signed_in_user(request), form.cleaned_data["note"]
    decide = screening_hit_clear if form.cleaned_data["decision"] == "clear" else screening_hit_confirm
    action_perform(
        request, lambda: decide(hit=hit, actor=actor, reason=note), success="The sanctions match was decided."
    )
    return _back(investor)


@require_POST
@access_required(Perm.PLATFORM_COMPLIANCE)
def identity_owner_decide(request: HttpRequest, public_id: uuid.UUID, owner_id: int) -> HttpResponse:
    investor = _submitted(public_id)
    owner = get_object_or_404(investor.owners, pk=owner_id)
    form = OwnerDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a decision.")
        return _back(investor)
    action_perform(
        request,
        lambda: owner_review(
            owner=owner,
            actor=signed_in_user(request),
            verified=form.cleaned_data["decision"] == "verify",
            note=form.cleaned_data["note"],
        ),
        success=f"{owner.full_name}: decision recorded.",
    )
    return _back(investor)


@require_POST
@access_required(Perm.PLATFORM_COMPLIANCE)
def identity_custodial_wallet(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    investor = _submitted(public_id)
    form = CustodialWalletForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the wallet address and the custodian's name.")
        return _back(investor)
    action_perform(
        request,
        lambda: wallet_custodial_record(
            investor=investor,
            actor=signed_in_user(request),
            address=form.cleaned_data["address"],
            custodian_name=form.cleaned_data["custodian_name"],
        ),
        success="The custodial wallet was recorded.",
    )
    return _back(investor)


@xframe_options_sameorigin
@csp_replace({"frame-ancestors": ["'self'"]})
@access_required(Perm.PLATFORM_COMPLIANCE)
def identity_document_file(request: HttpRequest, public_id: uuid.UUID, document_id: uuid.UUID) -> HttpResponseBase:
    investor = _submitted(public_id)
    document = get_object_or_404(InvestorDocument, public_id=document_id, investor=investor)
    return document_response(document)


# --------------------------------------------------------------------------- vendor webhook


@csrf_exempt
@require_POST
def kyc_webhook(request: HttpRequest, provider: str) -> HttpResponse:
    """A vendor's verdict. Only a correctly signed, fresh delivery changes anything."""
    handler = kyc_provider(provider)
    if handler is None or not handler.decides_by_webhook:
        return JsonResponse({"error": "unknown provider"}, status=404)
    try:
        result = handler.parse_webhook(body=request.body, headers=dict(request.headers))
    except WebhookRejected as exc:
        logger.warning("Rejected a %s KYC webhook: %s", provider, exc.message)
        return JsonResponse({"error": exc.message}, status=exc.status)
    try:
        check = kyc_vendor_result_apply(provider=provider, result=result)
    except ApplicationError as exc:
        return JsonResponse({"error": exc.message}, status=exc.status_code)
    return JsonResponse({"ok": True, "applied": check is not None})
