"""Token administration pages for the issuer's admins: the token's restrictions and holders, one holder's actions
(freeze, unfreeze, forced transfer, recovery), and each action's progress until it is on the ledger."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.access import Perm, access_required, signed_in_user
from core.actions import action_perform
from core.approvals import approval_approve, approval_reject
from core.errors import ApplicationError
from core.models import Issuer
from investors.models import InvestorProfile
from offerings.models import Offering
from registry.forms import (
    DecisionForm,
    ForcedTransferForm,
    FreezeAddressForm,
    FreezeAmountForm,
    FreezeWalletForm,
    PauseForm,
    RecoveryForm,
    TokenAdminForm,
)
from registry.models import TokenAdminAction, TokenAdminState
from registry.selectors import token_admin as selectors
from registry.selectors.ledger import restrictions
from registry.services import token_admin as services
from tokens.selectors import token_deployment

HOLDERS_PER_PAGE = 50


def _offering(issuer: Issuer, public_id: Any) -> Offering:
    return get_object_or_404(Offering.objects.select_related("issuer"), issuer=issuer, public_id=public_id)


def _action(issuer: Issuer, action_id: Any) -> TokenAdminAction:
    return get_object_or_404(
        TokenAdminAction.objects.select_related(
            "offering__issuer", "proposed_by", "approved_by", "chain_transaction", "approval", "investor", "to_investor"
        ).defer("chain_transaction__data", "chain_transaction__signed_raw"),
        offering__issuer=issuer,
        public_id=action_id,
    )


def _sent(request: HttpRequest, issuer: Issuer, action: TokenAdminAction) -> HttpResponse:
    if action.state == TokenAdminState.PROPOSED:
        messages.info(
            request,
            f"Proposed: “{action.get_kind_display()}” waits for a second admin of {issuer.name} to approve it; "
            "nothing is sent before that.",
        )
    else:
        messages.success(request, f"“{action.get_kind_display()}” is on its way to the chain; this page follows it.")
    return redirect("token_admin_action", slug=issuer.slug, action_id=action.public_id)


@require_http_methods(["GET", "POST"])
@access_required(Perm.REGISTRY_ADMINISTER, issuer_kwarg="slug")
def token_admin(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    """The token's pause state, frozen wallets and amounts, its holders, and the latest actions."""
    offering = _offering(issuer, public_id)
    current = restrictions(offering=offering)
    operation = request.POST.get("operation", "") if request.method == "POST" else ""
    form = PauseForm(request.POST if operation == "pause" else None, paused=not current.paused)
    address_form = FreezeAddressForm(request.POST if operation == "freeze_address" else None)
    status = 200
    if request.method == "POST":
        bound = form if operation == "pause" else address_form
        if bound.is_valid():
            d = bound.cleaned_data
            common = {"offering": offering, "reason": d["reason"], "actor": signed_in_user(request)}
            try:
                if operation == "pause":
                    action = services.token_admin_set_paused(
                        paused=d["paused"], idempotency_key=d["form_token"], **common
                    )
                else:
                    action = services.token_admin_freeze_wallet(
                        wallet=d["wallet"], frozen=d["frozen"], idempotency_key=d["form_token"], **common
                    )
            except ApplicationError as exc:
                bound.add_error(None, exc.message)
            else:
                return _sent(request, issuer, action)
        status = 400
    query = request.GET.get("q", "")[:100]
    holders = selectors.token_holders(offering=offering, current=current, query=query)
    page = Paginator(holders, HOLDERS_PER_PAGE).get_page(request.GET.get("page"))
    token = token_deployment(owner_ref=offering.owner_ref)
    context = {
        "issuer": issuer,
        "offering": offering,
        "token": token,
        "restrictions": current,
        "frozen_amounts": sorted(current.frozen_amounts.items()),
        "frozen_wallets": sorted(current.frozen_wallets),
        "pause_form": form,
        "address_form": address_form,
        "page": page,
        "query": query,
        "actions": list(selectors.token_admin_actions(offering=offering)[:20]),
    }
    return render(request, "registry/token_admin.html", context, status=status)


def _holder_forms(
    request: HttpRequest, wallets: list[str], held: list[str], targets: list[str]
) -> dict[str, TokenAdminForm]:
    operation = request.POST.get("operation") if request.method == "POST" else None

    def bound(name: str) -> dict[str, Any]:
        if operation != name:
            return {}
        return {"data": request.POST, "files": request.FILES}

    return {
        "freeze_amount": FreezeAmountForm(**bound("freeze_amount"), wallets=held),
        "freeze_wallet": FreezeWalletForm(**bound("freeze_wallet"), wallets=wallets),
        "forced_transfer": ForcedTransferForm(**bound("forced_transfer"), wallets=held),
        "recovery": RecoveryForm(**bound("recovery"), wallets=held, targets=targets),
    }


def _holder_perform(
    operation: str, form: TokenAdminForm, *, offering: Offering, investor: InvestorProfile, request: HttpRequest
) -> TokenAdminAction:
    d = form.cleaned_data
    common = {
        "offering": offering,
        "reason": d["reason"],
        "actor": signed_in_user(request),
        "idempotency_key": d["form_token"],
    }
    if operation == "freeze_amount":
        return services.token_admin_freeze_amount(
            wallet=d["wallet"], quantity=d["quantity"], frozen=d["frozen"], **common
        )
    if operation == "freeze_wallet":
        return services.token_admin_freeze_wallet(wallet=d["wallet"], frozen=d["frozen"], **common)
    if operation == "forced_transfer":
        return services.token_admin_forced_transfer_propose(
            from_wallet=d["from_wallet"],
            to_wallet=d["to_wallet"],
            quantity=d["quantity"],
            document=d.get("document"),
            **common,
        )
    return services.token_admin_recovery_propose(
        investor=investor,
        lost_wallet=d["lost_wallet"],
        new_wallet=d["new_wallet"],
        document=d.get("document"),
        **common,
    )


@require_http_methods(["GET", "POST"])
@access_required(Perm.REGISTRY_ADMINISTER, issuer_kwarg="slug")
def token_admin_holder(request: HttpRequest, issuer: Issuer, public_id: Any, investor_id: Any) -> HttpResponse:
    """One holder's wallets on the token, with the actions an admin may take on them."""
    offering = _offering(issuer, public_id)
    investor = get_object_or_404(InvestorProfile.objects.select_related("user"), public_id=investor_id)
    current = restrictions(offering=offering)
    holder = selectors.holder_wallets(offering=offering, investor=investor, current=current)
    actions = list(selectors.token_admin_actions_of_holder(offering=offering, investor=investor)[:20])
    if not holder.wallets and not actions:
        raise Http404("This investor holds nothing of this token.")
    wallets = [w.wallet for w in holder.wallets]
    held = [w.wallet for w in holder.wallets if w.held]
    forms = _holder_forms(request, wallets, held, holder.recovery_targets)
    operation = request.POST.get("operation", "")
    status = 200
    if request.method == "POST":
        form = forms.get(operation)
        if form is None:
            messages.error(request, "Choose one of the actions below.")
            return redirect(
                "token_admin_holder", slug=issuer.slug, public_id=offering.public_id, investor_id=investor_id
            )
        if form.is_valid():
            try:
                action = _holder_perform(operation, form, offering=offering, investor=investor, request=request)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                return _sent(request, issuer, action)
        status = 400
    context = {
        "issuer": issuer,
        "offering": offering,
        "investor": investor,
        "holder": holder,
        "restrictions": current,
        "forms": forms,
        "active": operation or "freeze_amount",
        "actions": actions,
    }
    return render(request, "registry/token_admin_holder.html", context, status=status)


def _progress_context(request: HttpRequest, issuer: Issuer, action: TokenAdminAction) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "offering": action.offering,
        "action": action,
        "progress": selectors.token_admin_progress(action=action),
        "mine": action.proposed_by_id == signed_in_user(request).pk,
    }


@require_GET
@access_required(Perm.REGISTRY_ADMINISTER, issuer_kwarg="slug")
def token_admin_action(request: HttpRequest, issuer: Issuer, action_id: Any) -> HttpResponse:
    action = _action(issuer, action_id)
    return render(request, "registry/token_admin_action.html", _progress_context(request, issuer, action))


@require_GET
@access_required(Perm.REGISTRY_ADMINISTER, issuer_kwarg="slug")
def token_admin_action_progress(request: HttpRequest, issuer: Issuer, action_id: Any) -> HttpResponse:
    """The progress fragment alone, which the action page fetches until the action is finished."""
    action = _action(issuer, action_id)
    return render(request, "registry/_token_admin_progress.html", _progress_context(request, issuer, action))


@require_POST
@access_required(Perm.REGISTRY_ADMINISTER, issuer_kwarg="slug")
def token_admin_action_decide(request: HttpRequest, issuer: Issuer, action_id: Any) -> HttpResponse:
    """A second admin approves (the chain call is queued then) or rejects; the proposer may withdraw."""
    action = _action(issuer, action_id)
    form = DecisionForm(request.POST)
    actor = signed_in_user(request)
    if action.approval is None or not form.is_valid():
        messages.error(
            request, "This action has nothing to approve." if action.approval is None else "Choose a decision."
        )
        return redirect("token_admin_action", slug=issuer.slug, action_id=action.public_id)
    approval = action.approval
    if form.cleaned_data["decision"] == "approve":
        action_perform(
            request,
            lambda: approval_approve(request=approval, actor=actor),
            success="Approved: the transaction is on its way to the chain.",
        )
    else:
        done = action_perform(
            request,
            lambda: approval_reject(request=approval, actor=actor, note=form.cleaned_data["note"]),
            success="Withdrawn; nothing was sent."
            if approval.proposed_by_id == actor.pk
            else "Rejected; nothing was sent.",
        )
        if done:
            services.token_admin_action_advance(action=action)
    return redirect("token_admin_action", slug=issuer.slug, action_id=action.public_id)


@require_GET
@access_required(Perm.REGISTRY_ADMINISTER, issuer_kwarg="slug")
def token_admin_action_document(request: HttpRequest, issuer: Issuer, action_id: Any) -> HttpResponseBase:
    action = _action(issuer, action_id)
    if not action.document:
        raise Http404("This action has no supporting document.")
    response = FileResponse(action.document.open("rb"), content_type=action.document_content_type)
    extension = (action.document.name or "").rsplit(".", 1)[-1]
    response["Content-Disposition"] = f'inline; filename="{action.get_kind_display()} {action.pk}.{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
