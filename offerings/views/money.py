"""The issuer's page of money to act on: chargeback and outside-refund cases, overpayments, provider
events that could not be applied, and failed refunds."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.access import Perm, access_required, can, signed_in_user
from core.actions import action_perform
from core.models import Issuer
from offerings.models import PaymentCase, Subscription, WebhookEvent
from offerings.selectors import payments as payment_selectors
from offerings.services import cases as case_services
from offerings.services import payments as payment_services
from offerings.services.webhooks import webhook_event_resolve


@require_GET
@access_required(Perm.ISSUER_RECORD_PAYMENTS, issuer_kwarg="slug")
def payment_cases(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    """Chargebacks and outside refunds, overpayments, provider events that could not be applied, failed refunds."""
    return render(
        request,
        "offerings/cases.html",
        {
            "issuer": issuer,
            "cases": list(payment_selectors.cases_of(issuer=issuer)[:100]),
            "overpayments": list(payment_selectors.overpayments_of(issuer=issuer)[:100]),
            "events": list(payment_selectors.webhook_events_flagged(issuer=issuer)[:100]),
            "failed_refunds": payment_selectors.refunds_failed(issuer=issuer),
            "can_resolve": can(request.user, Perm.ISSUER_MANAGE_OFFERINGS, issuer),
        },
    )


@require_POST
@access_required(Perm.ISSUER_MANAGE_OFFERINGS, issuer_kwarg="slug")
def payment_case_resolve(request: HttpRequest, issuer: Issuer, case_id: int) -> HttpResponse:
    case = get_object_or_404(PaymentCase, subscription__offering__issuer=issuer, pk=case_id)
    actor, note = signed_in_user(request), request.POST.get("note", "")
    actions = {
        "release": (
            lambda: case_services.case_release_propose(case=case, actor=actor, note=note),
            "Release recorded: the tokens are released now if no second person is needed, "
            "otherwise once another admin approves it on the approvals page.",
        ),
        "transfer": (
            lambda: case_services.case_transfer(
                case=case, actor=actor, to_wallet=request.POST.get("wallet", "").strip(), note=note
            ),
            "The tokens are being transferred back.",
        ),
        "burn": (lambda: case_services.case_burn(case=case, actor=actor, note=note), "The tokens are being burned."),
        "close": (lambda: case_services.case_close(case=case, actor=actor, note=note), "Case closed."),
    }
    chosen = actions.get(request.POST.get("action", ""))
    if chosen is None:
        messages.error(request, "Choose how to resolve the case.")
    else:
        action_perform(request, chosen[0], success=chosen[1])
    return redirect("payment_cases", slug=issuer.slug)


@require_POST
@access_required(Perm.ISSUER_RECORD_PAYMENTS, issuer_kwarg="slug")
def overpayment_refund(request: HttpRequest, issuer: Issuer, subscription_id: Any) -> HttpResponse:
    subscription = get_object_or_404(Subscription, offering__issuer=issuer, public_id=subscription_id)
    action_perform(
        request,
        lambda: payment_services.overpayment_refund(subscription=subscription, actor=signed_in_user(request)),
        success="The excess is being refunded through the provider that took it.",
    )
    return redirect("payment_cases", slug=issuer.slug)


@require_POST
@access_required(Perm.ISSUER_RECORD_PAYMENTS, issuer_kwarg="slug")
def webhook_event_reviewed(request: HttpRequest, issuer: Issuer, event_id: int) -> HttpResponse:
    record = get_object_or_404(WebhookEvent, issuer=issuer, pk=event_id)
    action_perform(
        request,
        lambda: webhook_event_resolve(event=record, actor=signed_in_user(request), note=request.POST.get("note", "")),
        success="Marked as reviewed.",
    )
    return redirect("payment_cases", slug=issuer.slug)
