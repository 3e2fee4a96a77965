"""The investor's pages: subscribe, sign, pay, follow, cancel or reconfirm a subscription."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from compliance.eligibility import NO_INVESTOR_ACCOUNT, PERMANENT_REASONS, Reason
from compliance.exemptions import InvestorLimit
from core.access import Perm, access_required, signed_in_user
from core.actions import action_perform
from core.errors import ApplicationError
from investors.models import InvestorProfile
from offerings.forms import SubscribeForm
from offerings.models import Subscription, SubscriptionStatus
from offerings.payments import PaymentError, payment_provider, payment_providers
from offerings.pricing import subscription_quantity_note
from offerings.selectors import offerings as offering_selectors
from offerings.selectors import payments as payment_selectors
from offerings.selectors import subscriptions as subscription_selectors
from offerings.selectors.standing import offering_standings
from offerings.services import subscriptions as subscription_services
from offerings.services.subscriptions import NotEligible, cancel_refusal
from offerings.views.public import offering_visible_to


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _investor(request: HttpRequest) -> InvestorProfile | None:
    return InvestorProfile.objects.filter(user=signed_in_user(request)).first()


def _my_subscription(request: HttpRequest, subscription_id: Any) -> Subscription:
    investor = _investor(request)
    subscription = (
        subscription_selectors.subscription_of(investor=investor, public_id=subscription_id) if investor else None
    )
    if subscription is None:
        raise Http404("No such subscription.")
    return subscription


@require_http_methods(["GET", "POST"])
@access_required(Perm.INVESTOR_SELF)
def subscription_start(request: HttpRequest, public_id: Any) -> HttpResponse:
    offering = offering_visible_to(request, public_id)
    investor = _investor(request)
    needs_financials = offering.investor_limit != InvestorLimit.NONE
    form = SubscribeForm(request.POST or None, offering=offering, needs_financials=needs_financials)
    reasons: list[Reason] = []
    if investor is None:
        reasons = [NO_INVESTOR_ACCOUNT]
    elif request.method == "POST" and form.is_valid():
        try:
            subscription = subscription_services.subscription_create(
                offering=offering,
                investor=investor,
                actor=signed_in_user(request),
                amount_minor=form.cleaned_data["amount"],
                annual_income_minor=form.cleaned_data.get("annual_income"),
                net_worth_minor=form.cleaned_data.get("net_worth"),
            )
        except NotEligible as exc:
            reasons = exc.reasons
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("subscription_sign", subscription_id=subscription.public_id)
    standing = offering_standings(offerings=[offering], investor=investor)[offering.pk]
    if request.method == "GET":
        # What would stop this investor, before they type an amount (the amount rules come with the amount).
        reasons = standing.reasons
    context = {
        "offering": offering,
        "form": form,
        "reasons": reasons,
        "needs_financials": needs_financials,
        "is_entity": bool(investor and investor.is_entity),
        "progress": offering_selectors.offering_progress(offering=offering),
        "standing": standing,
        # A permanent bar (or an offering not selling) is not something an amount can change: no form then.
        "offers_form": standing.offers_form and not any(r.code in PERMANENT_REASONS for r in reasons),
    }
    return render(request, "offerings/subscribe.html", context, status=200)


def _document_ids(request: HttpRequest) -> list[int]:
    # Ticked document ids: ASCII digits of a size a row id can have (a superscript digit or a
    # 30-digit number is not a document, and was a server error).
    return [int(v) for v in request.POST.getlist("documents") if v.isascii() and v.isdigit() and len(v) <= 18]


@require_http_methods(["GET", "POST"])
@access_required(Perm.INVESTOR_SELF)
def subscription_sign(request: HttpRequest, subscription_id: Any) -> HttpResponse:
    subscription = _my_subscription(request, subscription_id)
    if subscription.status != SubscriptionStatus.COMMITTED:
        return redirect("subscription_status", subscription_id=subscription.public_id)
    documents = offering_selectors.current_documents(offering=subscription.offering)
    error = ""
    if request.method == "POST":
        accepted = _document_ids(request)
        try:
            subscription_services.subscription_sign(
                subscription=subscription,
                actor=signed_in_user(request),
                accepted_document_ids=accepted,
                ip_address=_client_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
            )
        except ApplicationError as exc:
            error = exc.message
        else:
            messages.success(request, "Signed. Your signed subscription agreement is saved as a PDF.")
            return redirect("subscription_pay", subscription_id=subscription.public_id)
    return render(
        request,
        "offerings/sign.html",
        {
            "subscription": subscription,
            "offering": subscription.offering,
            "documents": documents,
            "error": error,
            "quantity_note": subscription_quantity_note(subscription),
        },
    )


@require_http_methods(["GET", "POST"])
@access_required(Perm.INVESTOR_SELF)
def subscription_pay(request: HttpRequest, subscription_id: Any) -> HttpResponse:
    subscription = _my_subscription(request, subscription_id)
    if subscription.status != SubscriptionStatus.SIGNED:
        return redirect("subscription_status", subscription_id=subscription.public_id)
    methods = [p for p in payment_providers().values() if p.supports(subscription.offering)]
    error = ""
    if request.method == "POST":
        try:
            subscription_services.subscription_payment_start(
                subscription=subscription,
                actor=signed_in_user(request),
                provider=request.POST.get("method", ""),
                return_url=request.build_absolute_uri(
                    reverse("subscription_status", kwargs={"subscription_id": subscription.public_id})
                ),
            )
        except (ApplicationError, PaymentError) as exc:
            error = exc.message
        else:
            # The provider's page is opened by a link on the status page: the CSP allows forms to post
            # only to this site, and a form redirected to another origin would be blocked.
            return redirect("subscription_status", subscription_id=subscription.public_id)
    return render(
        request,
        "offerings/pay.html",
        {"subscription": subscription, "offering": subscription.offering, "methods": methods, "error": error},
    )


@require_GET
@access_required(Perm.INVESTOR_SELF)
def subscription_status(request: HttpRequest, subscription_id: Any) -> HttpResponse:
    subscription = _my_subscription(request, subscription_id)
    payment = payment_selectors.latest_payment(subscription=subscription)
    provider = None
    if payment is not None:
        try:
            provider = payment_provider(payment.provider)
        except PaymentError:
            provider = None
    checkout = request.GET.get("checkout")
    tx = subscription.mint_batch.chain_transaction if subscription.mint_batch else None

    context = {
        "subscription": subscription,
        "offering": subscription.offering,
        "payment": payment,
        "provider": provider,
        "checkout": checkout if checkout in ("success", "cancelled") else "",
        "entries": list(subscription.entries.order_by("recorded_at", "pk")),
        "refunds": list(subscription.refunds.all()),
        "acceptances": list(subscription.acceptances.select_related("document")),
        "cancel_refusal": cancel_refusal(subscription),
        "cancel_deadline": subscription_services.cancel_deadline(subscription.offering),
        "tx": tx,
        "quantity_note": subscription_quantity_note(subscription),
    }
    return render(request, "offerings/status.html", context)


@require_POST
@access_required(Perm.INVESTOR_SELF)
def subscription_cancel(request: HttpRequest, subscription_id: Any) -> HttpResponse:
    subscription = _my_subscription(request, subscription_id)
    action_perform(
        request,
        lambda: subscription_services.subscription_cancel(subscription=subscription, actor=signed_in_user(request)),
        success="Your subscription is cancelled. Any money you paid is being refunded.",
    )
    return redirect("subscription_status", subscription_id=subscription.public_id)


@require_http_methods(["GET", "POST"])
@access_required(Perm.INVESTOR_SELF)
def subscription_reconfirm(request: HttpRequest, subscription_id: Any) -> HttpResponse:
    subscription = _my_subscription(request, subscription_id)
    if subscription.reconfirm_by is None:
        return redirect("subscription_status", subscription_id=subscription.public_id)
    documents = offering_selectors.current_documents(offering=subscription.offering)
    error = ""
    if request.method == "POST":
        try:
            subscription_services.subscription_reconfirm(
                subscription=subscription,
                actor=signed_in_user(request),
                accepted_document_ids=_document_ids(request),
                ip_address=_client_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
            )
        except ApplicationError as exc:
            error = exc.message
        else:
            messages.success(request, "Thank you: your subscription stands with the changed documents.")
            return redirect("subscription_status", subscription_id=subscription.public_id)
    return render(
        request,
        "offerings/sign.html",
        {
            "subscription": subscription,
            "offering": subscription.offering,
            "documents": documents,
            "error": error,
            "reconfirm": True,
        },
    )


@require_GET
@access_required(Perm.INVESTOR_SELF)
def subscription_agreement(request: HttpRequest, subscription_id: Any) -> HttpResponseBase:
    subscription = _my_subscription(request, subscription_id)
    if not subscription.agreement_pdf:
        raise Http404("Not signed yet.")
    response = FileResponse(subscription.agreement_pdf.open("rb"), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="subscription-{subscription.wire_reference}.pdf"'
    return response
