"""Offering pages: public list and detail, the investor's subscription flow and portfolio, the issuer's
offering management, dashboard, wires and closing."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from compliance.exemptions import Exemption, InvestorLimit, exemption_profile
from core.access import Perm, access_required, can, signed_in_user
from core.actions import action_perform
from core.errors import ApplicationError
from core.models import Issuer
from investors.models import InvestorProfile
from offerings import selectors
from offerings.forms import (
    DocumentUploadForm,
    OfferingForm,
    ReasonForm,
    StatementImportForm,
    SubscribeForm,
    WireRecordForm,
)
from offerings.models import (
    Offering,
    OfferingDocument,
    OfferingStatus,
    Refund,
    Subscription,
    SubscriptionStatus,
    WireReceipt,
)
from offerings.payments import PaymentError, payment_provider, payment_providers
from offerings.services import closing as closing_services
from offerings.services import documents as document_services
from offerings.services import offerings as offering_services
from offerings.services import payments as payment_services
from offerings.services import subscriptions as subscription_services
from offerings.services import wires as wire_services
from offerings.services.subscriptions import NotEligible, cancel_refusal


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


# --------------------------------------------------------------------------- public


@require_GET
def offering_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.offerings_public()
    if not request.user.is_authenticated:
        rows = rows.filter(general_solicitation=True)
    page = Paginator(rows, 20).get_page(request.GET.get("page"))
    return render(request, "offerings/list.html", {"page": page})


def _visible(request: HttpRequest, public_id: Any) -> Offering:
    """Published offerings; 506(b) and Reg S ones (no general solicitation) only to signed-in users;
    drafts only to the issuer's team."""
    offering = selectors.offering_visible(public_id=public_id)
    if offering is None:
        raise Http404("No such offering.")
    if offering.status == OfferingStatus.DRAFT:
        if not can(request.user, Perm.ISSUER_VIEW, offering.issuer):
            raise Http404("No such offering.")
    elif not offering.general_solicitation and not request.user.is_authenticated:
        raise Http404("No such offering.")
    return offering


@require_GET
def offering_detail(request: HttpRequest, public_id: Any) -> HttpResponse:
    offering = _visible(request, public_id)
    investor = InvestorProfile.objects.filter(user=request.user).first() if request.user.is_authenticated else None
    mine = list(selectors.subscriptions_of(investor=investor).filter(offering=offering)) if investor else []
    context = {
        "offering": offering,
        "progress": selectors.offering_progress(offering=offering),
        "documents": selectors.current_documents(offering=offering),
        "terms": offering_services.offering_terms(offering),
        "my_subscriptions": mine,
        "can_manage": can(request.user, Perm.ISSUER_VIEW, offering.issuer),
    }
    return render(request, "offerings/detail.html", context)


@require_GET
def offering_document_file(request: HttpRequest, public_id: Any, document_id: Any) -> HttpResponseBase:
    offering = _visible(request, public_id)
    document = get_object_or_404(OfferingDocument, offering=offering, public_id=document_id)
    response = FileResponse(document.file.open("rb"), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="{offering.token_symbol}-{document.kind}-v{document.version}.pdf"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --------------------------------------------------------------------------- investor


def _investor(request: HttpRequest) -> InvestorProfile | None:
    return InvestorProfile.objects.filter(user=signed_in_user(request)).first()


def _my_subscription(request: HttpRequest, subscription_id: Any) -> Subscription:
    investor = _investor(request)
    subscription = selectors.subscription_of(investor=investor, public_id=subscription_id) if investor else None
    if subscription is None:
        raise Http404("No such subscription.")
    return subscription


@require_http_methods(["GET", "POST"])
@access_required(Perm.INVESTOR_SELF)
def subscription_start(request: HttpRequest, public_id: Any) -> HttpResponse:
    offering = _visible(request, public_id)
    investor = _investor(request)
    needs_financials = offering.investor_limit != InvestorLimit.NONE
    form = SubscribeForm(request.POST or None, offering=offering, needs_financials=needs_financials)
    reasons: list[str] = []
    if investor is None:
        reasons = ["Set up your investor account first: identity, documents, tax form and a wallet."]
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
    elif request.method == "GET":
        # Show what would stop this investor before they type an amount (the amount rules come later).
        check = subscription_services.subscription_check(
            offering=offering,
            investor=investor,
            amount_minor=offering.min_investment_minor,
            annual_income_minor=0 if needs_financials else None,
            net_worth_minor=0 if needs_financials else None,
        )
        reasons = [r for r in check.reasons if "limit" not in r.lower() and "tell us" not in r.lower()]
    context = {
        "offering": offering,
        "form": form,
        "reasons": reasons,
        "needs_financials": needs_financials,
        "is_entity": bool(investor and investor.is_entity),
        "progress": selectors.offering_progress(offering=offering),
    }
    return render(request, "offerings/subscribe.html", context, status=200)


@require_http_methods(["GET", "POST"])
@access_required(Perm.INVESTOR_SELF)
def subscription_sign(request: HttpRequest, subscription_id: Any) -> HttpResponse:
    subscription = _my_subscription(request, subscription_id)
    if subscription.status != SubscriptionStatus.COMMITTED:
        return redirect("subscription_status", subscription_id=subscription.public_id)
    documents = selectors.current_documents(offering=subscription.offering)
    error = ""
    if request.method == "POST":
        accepted = [int(v) for v in request.POST.getlist("documents") if v.isdigit()]
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
        {"subscription": subscription, "offering": subscription.offering, "documents": documents, "error": error},
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
    payment = selectors.latest_payment(subscription=subscription)
    provider = None
    if payment is not None:
        try:
            provider = payment_provider(payment.provider)
        except PaymentError:
            provider = None
    checkout = request.GET.get("checkout")
    tx = subscription.mint_batch.chain_transaction if subscription.mint_batch else None
    from tokens.selectors import explorer_url

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
        "tx_url": explorer_url(tx.tx_hash if tx else None),
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
    documents = selectors.current_documents(offering=subscription.offering)
    error = ""
    if request.method == "POST":
        try:
            subscription_services.subscription_reconfirm(
                subscription=subscription,
                actor=signed_in_user(request),
                accepted_document_ids=[int(v) for v in request.POST.getlist("documents") if v.isdigit()],
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


@require_GET
@access_required(Perm.INVESTOR_SELF)
def portfolio(request: HttpRequest) -> HttpResponse:
    investor = _investor(request)
    holdings = selectors.portfolio(investor=investor) if investor else []
    subscriptions = list(selectors.subscriptions_of(investor=investor)[:50]) if investor else []
    return render(request, "offerings/portfolio.html", {"holdings": holdings, "subscriptions": subscriptions})


# --------------------------------------------------------------------------- issuer


def _issuer_offering(issuer: Issuer, public_id: Any) -> Offering:
    return get_object_or_404(Offering.objects.select_related("issuer"), issuer=issuer, public_id=public_id)


@require_GET
@access_required(Perm.ISSUER_VIEW, issuer_kwarg="slug")
def issuer_offerings(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    return render(
        request,
        "offerings/issuer_list.html",
        {
            "issuer": issuer,
            "offerings": selectors.offerings_of(issuer=issuer),
            "can_manage": can(request.user, Perm.ISSUER_MANAGE_OFFERINGS, issuer),
            "can_record": can(request.user, Perm.ISSUER_RECORD_PAYMENTS, issuer),
        },
    )


def _profiles() -> list[dict[str, Any]]:
    return [{"exemption": e, "rules": exemption_profile(e)} for e in Exemption]


@require_http_methods(["GET", "POST"])
@access_required(Perm.ISSUER_MANAGE_OFFERINGS, issuer_kwarg="slug")
def offering_create(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    form = OfferingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            offering = offering_services.offering_create(
                issuer=issuer, actor=signed_in_user(request), data=form.to_input()
            )
        except ApplicationError as exc:
            for error in exc.extra.get("errors", [exc.message]):
                form.add_error(None, error)
        else:
            messages.success(request, "Offering saved as a draft. Upload its documents, then publish it.")
            return redirect("offering_documents", slug=issuer.slug, public_id=offering.public_id)
    return render(
        request, "offerings/form.html", {"issuer": issuer, "form": form, "profiles": _profiles(), "offering": None}
    )


@require_http_methods(["GET", "POST"])
@access_required(Perm.ISSUER_MANAGE_OFFERINGS, issuer_kwarg="slug")
def offering_edit(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _issuer_offering(issuer, public_id)
    if offering.status != OfferingStatus.DRAFT:
        messages.info(request, "Published terms are fixed: the token and investors rely on them.")
        return redirect("offering_dashboard", slug=issuer.slug, public_id=offering.public_id)
    form = OfferingForm(request.POST or None, initial=OfferingForm.initial_for(offering))
    if request.method == "POST" and form.is_valid():
        try:
            offering_services.offering_update(offering=offering, actor=signed_in_user(request), data=form.to_input())
        except ApplicationError as exc:
            for error in exc.extra.get("errors", [exc.message]):
                form.add_error(None, error)
        else:
            messages.success(request, "Offering saved.")
            return redirect("offering_documents", slug=issuer.slug, public_id=offering.public_id)
    return render(
        request, "offerings/form.html", {"issuer": issuer, "form": form, "profiles": _profiles(), "offering": offering}
    )


@require_http_methods(["GET", "POST"])
@access_required(Perm.ISSUER_MANAGE_OFFERINGS, issuer_kwarg="slug")
def offering_documents(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _issuer_offering(issuer, public_id)
    form = DocumentUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            document = document_services.document_upload(
                offering=offering,
                actor=signed_in_user(request),
                kind=d["kind"],
                title=d["title"],
                upload=d["file"],
                material=d["material"],
                change_note=d["change_note"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{document.title} version {document.version} uploaded.")
            return redirect("offering_documents", slug=issuer.slug, public_id=offering.public_id)
    return render(
        request,
        "offerings/documents.html",
        {
            "issuer": issuer,
            "offering": offering,
            "form": form,
            "history": selectors.document_history(offering=offering),
        },
    )


@require_POST
@access_required(Perm.ISSUER_MANAGE_OFFERINGS, issuer_kwarg="slug")
def offering_publish(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _issuer_offering(issuer, public_id)
    try:
        offering_services.offering_publish(offering=offering, actor=signed_in_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("offering_documents", slug=issuer.slug, public_id=offering.public_id)
    messages.success(request, "Published. The token is being deployed and the offering page is public.")
    return redirect("offering_dashboard", slug=issuer.slug, public_id=offering.public_id)


@require_POST
@access_required(Perm.ISSUER_MANAGE_OFFERINGS, issuer_kwarg="slug")
def offering_close(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _issuer_offering(issuer, public_id)
    try:
        offering = closing_services.offering_close(offering=offering, actor=signed_in_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if offering.close_outcome == "mint":
            messages.success(request, "Closing: the soft cap is met and tokens are being minted.")
        else:
            messages.warning(request, "Closing: the soft cap was not met, so every payment is being refunded.")
    return redirect("offering_dashboard", slug=issuer.slug, public_id=offering.public_id)


@require_GET
@access_required(Perm.ISSUER_VIEW, issuer_kwarg="slug")
def offering_dashboard(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _issuer_offering(issuer, public_id)
    dashboard = selectors.offering_dashboard(offering=offering)
    rows = [{"status": s, "label": s.label, **dashboard.by_status[s.value]} for s in SubscriptionStatus]
    context = {
        "issuer": issuer,
        "offering": offering,
        "dash": dashboard,
        "status_rows": rows,
        "can_manage": can(request.user, Perm.ISSUER_MANAGE_OFFERINGS, issuer),
        "can_record": can(request.user, Perm.ISSUER_RECORD_PAYMENTS, issuer),
        "refunds_open": list(selectors.refunds_open(offering=offering)[:50]),
        "chart": dashboard.chart,
    }
    return render(request, "offerings/dashboard.html", context)


@require_GET
@access_required(Perm.ISSUER_VIEW, issuer_kwarg="slug")
def offering_progress_json(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _issuer_offering(issuer, public_id)
    progress = selectors.offering_progress(offering=offering)
    mint = selectors.mint_progress(offering=offering)
    return JsonResponse(
        {
            "status": offering.status,
            "status_label": offering.get_status_display(),
            "committed_minor": progress.committed_minor,
            "paid_minor": progress.paid_minor,
            "investors": progress.investors,
            "mint": {
                "batches": mint.batches,
                "confirmed": mint.confirmed,
                "failed": mint.failed,
                "holders": mint.holders,
                "holders_confirmed": mint.holders_confirmed,
                "percent": mint.percent,
            },
        }
    )


@require_GET
@access_required(Perm.ISSUER_VIEW, issuer_kwarg="slug")
def offering_subscriptions(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _issuer_offering(issuer, public_id)
    status = request.GET.get("status", "")
    if status not in SubscriptionStatus.values:
        status = ""
    page = Paginator(selectors.offering_subscriptions(offering=offering, status=status), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "offerings/subscriptions.html",
        {
            "issuer": issuer,
            "offering": offering,
            "page": page,
            "status": status,
            "statuses": SubscriptionStatus.choices,
            "can_manage": can(request.user, Perm.ISSUER_MANAGE_OFFERINGS, issuer),
        },
    )


@require_POST
@access_required(Perm.ISSUER_MANAGE_OFFERINGS, issuer_kwarg="slug")
def subscription_reject(request: HttpRequest, issuer: Issuer, subscription_id: Any) -> HttpResponse:
    subscription = get_object_or_404(Subscription, offering__issuer=issuer, public_id=subscription_id)
    form = ReasonForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError("Give the investor a reason for the rejection.")
        subscription_services.subscription_reject(
            subscription=subscription, actor=signed_in_user(request), reason=form.cleaned_data["reason"]
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Subscription rejected; any money paid is being refunded.")
    return redirect("offering_subscriptions", slug=issuer.slug, public_id=subscription.offering.public_id)


@require_http_methods(["GET", "POST"])
@access_required(Perm.ISSUER_RECORD_PAYMENTS, issuer_kwarg="slug")
def wire_receipts(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    form = WireRecordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            receipt = wire_services.wire_receipt_record(
                issuer=issuer,
                actor=signed_in_user(request),
                reference=d["reference"],
                amount_minor=d["amount_minor"],
                currency=d["currency"],
                received_on=d["received_on"],
                payer=d.get("payer", ""),
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            level = messages.SUCCESS if receipt.match == "exact" else messages.WARNING
            messages.add_message(request, level, f"Wire {receipt.reference} recorded: {receipt.get_match_display()}.")
            return redirect("wire_receipts", slug=issuer.slug)
    flagged_only = request.GET.get("show") == "flagged"
    rows = selectors.wire_receipts_of(issuer=issuer)
    if flagged_only:
        rows = rows.filter(resolved_at__isnull=True).exclude(match="exact")
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    manual_refunds = (
        Refund.objects.filter(subscription__offering__issuer=issuer, external_ref="manual")
        .exclude(status="sent")
        .select_related("subscription__investor", "subscription__offering")
        .order_by("requested_at")[:100]
    )
    failed_refunds = (
        Refund.objects.filter(subscription__offering__issuer=issuer, status="failed")
        .select_related("subscription__investor", "subscription__offering")
        .order_by("requested_at")[:100]
    )
    return render(
        request,
        "offerings/wires.html",
        {
            "issuer": issuer,
            "form": form,
            "import_form": StatementImportForm(),
            "page": page,
            "flagged_only": flagged_only,
            "manual_refunds": list(manual_refunds),
            "failed_refunds": list(failed_refunds),
        },
    )


@require_POST
@access_required(Perm.ISSUER_RECORD_PAYMENTS, issuer_kwarg="slug")
def wire_import(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    form = StatementImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose the bank statement CSV file to import.")
        return redirect("wire_receipts", slug=issuer.slug)
    report = wire_services.bank_statement_import(
        issuer=issuer, actor=signed_in_user(request), content=form.cleaned_data["statement"].read()
    )
    return render(request, "offerings/wire_import.html", {"issuer": issuer, "report": report})


@require_POST
@access_required(Perm.ISSUER_RECORD_PAYMENTS, issuer_kwarg="slug")
def wire_resolve(request: HttpRequest, issuer: Issuer, receipt_id: int) -> HttpResponse:
    receipt = get_object_or_404(WireReceipt, issuer=issuer, pk=receipt_id)
    action_perform(
        request,
        lambda: wire_services.wire_receipt_resolve(
            receipt=receipt, actor=signed_in_user(request), note=request.POST.get("note", "")
        ),
        success="Marked as resolved.",
    )
    return redirect("wire_receipts", slug=issuer.slug)


@require_POST
@access_required(Perm.ISSUER_RECORD_PAYMENTS, issuer_kwarg="slug")
def refund_sent(request: HttpRequest, issuer: Issuer, refund_id: int) -> HttpResponse:
    refund = get_object_or_404(Refund, subscription__offering__issuer=issuer, pk=refund_id)
    action_perform(
        request,
        lambda: payment_services.refund_mark_sent(
            refund=refund, actor=signed_in_user(request), bank_reference=request.POST.get("bank_reference", "")
        ),
        success="Refund recorded as sent.",
    )
    return redirect("wire_receipts", slug=issuer.slug)


@require_POST
@access_required(Perm.ISSUER_RECORD_PAYMENTS, issuer_kwarg="slug")
def refund_retry(request: HttpRequest, issuer: Issuer, refund_id: int) -> HttpResponse:
    refund = get_object_or_404(Refund, subscription__offering__issuer=issuer, pk=refund_id)
    action_perform(
        request,
        lambda: payment_services.refund_retry(refund=refund, actor=signed_in_user(request)),
        success="The refund will be tried again.",
    )
    return redirect("wire_receipts", slug=issuer.slug)


# --------------------------------------------------------------------------- provider webhooks


@csrf_exempt
@require_POST
def payment_webhook(request: HttpRequest, provider: str) -> HttpResponse:
    try:
        method = payment_provider(provider)
    except PaymentError as exc:
        raise Http404("No such payment provider.") from exc
    return method.webhook(request)


@access_required(Perm.PLATFORM_ADMIN)
def stablecoin_receipts(request: HttpRequest) -> HttpResponse:
    """Staff: every stablecoin transfer into the receiving address; flagged ones need a person."""
    show = request.GET.get("show", "flagged")
    page = Paginator(selectors.stablecoin_receipts(flagged_only=show == "flagged"), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "offerings/stablecoin_receipts.html", {"page": page, "show": show})


@require_POST
@access_required(Perm.PLATFORM_ADMIN)
def stablecoin_receipt_return(request: HttpRequest, receipt_id: int) -> HttpResponse:
    from offerings.models import StablecoinReceipt
    from offerings.services.stablecoin import stablecoin_receipt_return as receipt_return

    receipt = get_object_or_404(StablecoinReceipt, pk=receipt_id)
    action_perform(
        request,
        lambda: receipt_return(receipt=receipt, actor=signed_in_user(request)),
        success=f"The transfer from {receipt.sender} is being sent back.",
    )
    return redirect("stablecoin_receipts")
