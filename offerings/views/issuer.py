"""The issuer team's pages: offerings and their documents, publishing and closing, the dashboard,
subscriptions, wires received and refunds owed."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.module_loading import import_string
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from compliance.exemptions import Exemption, exemption_profile
from core.access import Perm, access_required, can, signed_in_user
from core.actions import action_perform
from core.errors import ApplicationError
from core.models import Issuer
from offerings.forms import DocumentUploadForm, OfferingForm, ReasonForm, StatementImportForm, WireRecordForm
from offerings.models import (
    CloseOutcome,
    DocumentKind,
    MintBatch,
    Offering,
    OfferingStatus,
    Refund,
    Subscription,
    SubscriptionStatus,
    WireMatch,
    WireReceipt,
)
from offerings.selectors import offerings as offering_selectors
from offerings.selectors import payments as payment_selectors
from offerings.selectors import subscriptions as subscription_selectors
from offerings.selectors.home import form_d_notes
from offerings.services import closing as closing_services
from offerings.services import documents as document_services
from offerings.services import offerings as offering_services
from offerings.services import payments as payment_services
from offerings.services import subscriptions as subscription_services
from offerings.services import wires as wire_services


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
            "offerings": offering_selectors.offerings_of(issuer=issuer),
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
    form = DocumentUploadForm(request.POST or None, request.FILES or None, offering=offering)
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
            "history": offering_selectors.document_history(offering=offering),
            "form_c_missing": offering.exemption == Exemption.REG_CF
            and not offering.documents.filter(kind=DocumentKind.FORM_C).exists(),
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
        if offering.close_outcome == CloseOutcome.MINT:
            messages.success(
                request,
                "Closing: the soft cap is met. Each paid subscription is checked once more, then tokens are minted "
                "if the eligible ones still reach the soft cap (otherwise every payment is refunded).",
            )
        else:
            messages.warning(request, "Closing: the soft cap was not met, so every payment is being refunded.")
    return redirect("offering_dashboard", slug=issuer.slug, public_id=offering.public_id)


@require_POST
@access_required(Perm.ISSUER_MANAGE_OFFERINGS, issuer_kwarg="slug")
def mint_batch_retry(request: HttpRequest, issuer: Issuer, public_id: Any, batch_id: int) -> HttpResponse:
    offering = _issuer_offering(issuer, public_id)
    batch = get_object_or_404(MintBatch, offering=offering, pk=batch_id)
    try:
        finding = closing_services.mint_batch_retry(batch=batch, actor=signed_in_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if finding == closing_services.MintFinding.MINTED:
            messages.success(request, f"Batch {batch.number} is on-chain after all: its holders are marked issued.")
        else:
            messages.success(
                request,
                f"Nothing of batch {batch.number} is on-chain: its subscriptions are checked again and minted in a "
                "new batch.",
            )
    return redirect("offering_dashboard", slug=issuer.slug, public_id=offering.public_id)


@require_GET
@access_required(Perm.ISSUER_VIEW, issuer_kwarg="slug")
def offering_dashboard(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _issuer_offering(issuer, public_id)
    dashboard = offering_selectors.offering_dashboard(offering=offering)
    rows = [{"status": s, "label": s.label, **dashboard.by_status[s.value]} for s in SubscriptionStatus]
    context = {
        "issuer": issuer,
        "offering": offering,
        "dash": dashboard,
        "status_rows": rows,
        "can_manage": can(request.user, Perm.ISSUER_MANAGE_OFFERINGS, issuer),
        "can_record": can(request.user, Perm.ISSUER_RECORD_PAYMENTS, issuer),
        "refunds_open": list(payment_selectors.refunds_open(offering=offering)[:50]),
        "chart": dashboard.chart,
        "money_todo": payment_selectors.money_to_act_on(issuer=issuer)
        if can(request.user, Perm.ISSUER_RECORD_PAYMENTS, issuer)
        else None,
        "panels": dashboard_panels(offering),
        "form_d": form_d_notes(offerings=[offering]),
        "can_view_registry": can(request.user, Perm.REGISTRY_VIEW, issuer),
    }
    return render(request, "offerings/dashboard.html", context)


def dashboard_panels(offering: Offering) -> list[dict[str, Any]]:
    """Sections apps above offerings add to the dashboard (settings.OFFERING_DASHBOARD_PANELS)."""
    panels = []
    for path in getattr(settings, "OFFERING_DASHBOARD_PANELS", []):
        template, panel_context = import_string(path)(offering)
        panels.append({"template": template, **panel_context})
    return panels


@require_GET
@access_required(Perm.ISSUER_VIEW, issuer_kwarg="slug")
def offering_progress_json(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _issuer_offering(issuer, public_id)
    progress = offering_selectors.offering_progress(offering=offering)
    mint = offering_selectors.mint_progress(offering=offering)
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
    page = Paginator(subscription_selectors.offering_subscriptions(offering=offering, status=status), 50).get_page(
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
            outcome = wire_services.wire_receipt_propose(
                issuer=issuer,
                actor=signed_in_user(request),
                reference=d["reference"],
                amount_minor=d["amount_minor"],
                currency=d["currency"],
                received_on=d["received_on"],
                bank_reference=d["bank_reference"],
                payer=d.get("payer", ""),
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            if outcome.pending:
                messages.info(
                    request,
                    f"Wire {d['reference']} waits for a second admin of {issuer.name} to approve it on the "
                    "approvals page; it is booked then.",
                )
            else:
                receipt = outcome.result
                level = messages.SUCCESS if receipt.match == WireMatch.EXACT else messages.WARNING
                messages.add_message(
                    request, level, f"Wire {receipt.reference} recorded: {receipt.get_match_display()}."
                )
            return redirect("wire_receipts", slug=issuer.slug)
    flagged_only = request.GET.get("show") == "flagged"
    rows = payment_selectors.wire_receipts_of(issuer=issuer, flagged_only=flagged_only)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "offerings/wires.html",
        {
            "issuer": issuer,
            "form": form,
            "import_form": StatementImportForm(),
            "page": page,
            "flagged_only": flagged_only,
            "manual_refunds": payment_selectors.refunds_to_send_by_hand(issuer=issuer),
            "failed_refunds": payment_selectors.refunds_failed(issuer=issuer),
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
    try:
        outcome = payment_services.refund_sent_propose(
            refund=refund, actor=signed_in_user(request), bank_reference=request.POST.get("bank_reference", "")
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if outcome.pending:
            messages.info(request, "The refund waits for a second admin to approve it on the approvals page.")
        else:
            messages.success(request, "Refund recorded as sent.")
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
