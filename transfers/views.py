"""The holder's transfer pages (check both sides, then transfer; follow it to the register; ask for an exception)
and the issuer's pages for the exception requests made to it."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.access import Perm, access_required, can, has_mfa, signed_in_user
from core.errors import ApplicationError
from core.models import Issuer
from investors.models import InvestorProfile
from offerings.models import Offering
from transfers import selectors
from transfers.eligibility import TransferCheck, transfer_eligibility
from transfers.forms import ExceptionRequestForm, RequestDecisionForm, TransferForm
from transfers.models import Custody, HolderTransfer, RequestState
from transfers.services.requests import (
    transfer_agent_decisions_set,
    transfer_request_approve,
    transfer_request_file,
    transfer_request_refuse,
    transfer_request_withdraw,
)
from transfers.services.transfers import (
    StepUpRequired,
    TransferRefused,
    step_up_window,
    transfer_cancel,
    transfer_custodial_confirm,
    transfer_instruct,
)


def _investor(request: HttpRequest) -> InvestorProfile | None:
    return InvestorProfile.objects.filter(user=signed_in_user(request)).first()


def _held_offering(investor: InvestorProfile | None, public_id: Any) -> Offering:
    offering = Offering.objects.select_related("issuer").filter(public_id=public_id).first()
    if investor is None or offering is None or offering not in selectors.offerings_held(investor=investor):
        raise Http404("You hold none of this token.")
    return offering


def _mfa_verified_at(request: HttpRequest) -> dt.datetime | None:
    """When this session last passed a second factor (sign-in or a re-check), from allauth's records."""
    user = signed_in_user(request)
    moments = [r["at"] for r in get_authentication_records(request, user) if r.get("method") == "mfa" and "at" in r]
    return dt.datetime.fromtimestamp(max(moments), tz=dt.UTC) if moments else None


def portfolio_section(investor: InvestorProfile) -> tuple[str, dict[str, Any]]:
    return "transfers/_portfolio.html", {
        "offerings": selectors.offerings_held(investor=investor),
        "open_transfers": selectors.transfers_open(investor=investor),
        "movements": selectors.movements_of(investor=investor, limit=10),
        "investor": investor,
    }


@require_GET
@access_required(Perm.INVESTOR_SELF)
def investor_transfers(request: HttpRequest) -> HttpResponse:
    investor = _investor(request)
    if investor is None:
        return render(request, "transfers/list.html", {"investor": None})
    return render(
        request,
        "transfers/list.html",
        {
            "investor": investor,
            "offerings": selectors.offerings_held(investor=investor),
            "transfers": list(selectors.transfers_of(investor=investor)[:50]),
            "movements": selectors.movements_of(investor=investor),
            "requests": list(selectors.requests_of(investor=investor)[:50]),
        },
    )


@require_http_methods(["GET", "POST"])
@access_required(Perm.INVESTOR_SELF)
def investor_transfer_new(request: HttpRequest, public_id: Any) -> HttpResponse:
    investor = _investor(request)
    offering = _held_offering(investor, public_id)
    assert investor is not None
    lots = selectors.lots_for_transfer(offering=offering, investor=investor)
    senders = selectors.sending_wallets(lots=lots, investor=investor)
    own = [w.address for w in selectors.own_wallets(investor=investor)]
    form = TransferForm(request.POST or None, senders=senders, own=own, symbol=offering.token_symbol)
    check: TransferCheck | None = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        if request.POST.get("step") == "transfer":
            try:
                transfer = transfer_instruct(
                    investor=investor,
                    offering=offering,
                    from_wallet=d["from_wallet"],
                    to_wallet=d["to_wallet"],
                    quantity=d["quantity"],
                    actor=signed_in_user(request),
                    idempotency_key=d["form_token"],
                )
            except TransferRefused:
                messages.error(
                    request, "Something changed since the check: this transfer cannot go now. See why below."
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                return redirect("investor_transfer", transfer.public_id)
        if not form.errors:
            check = transfer_eligibility(
                offering=offering, from_wallet=d["from_wallet"], to_wallet=d["to_wallet"], quantity=d["quantity"]
            )
    return render(
        request,
        "transfers/new.html",
        {
            "offering": offering,
            "lots": lots,
            "senders": senders,
            "form": form,
            "check": check,
            "custodial": any(s.custodial and s.address == form["from_wallet"].value() for s in senders),
        },
    )


def _own_transfer(request: HttpRequest, transfer_id: Any) -> HolderTransfer:
    investor = _investor(request)
    transfer = selectors.investor_transfer(investor=investor, public_id=transfer_id) if investor else None
    if transfer is None:
        raise Http404("No such transfer of yours.")
    return transfer


@require_GET
@access_required(Perm.INVESTOR_SELF)
def investor_transfer(request: HttpRequest, transfer_id: Any) -> HttpResponse:
    transfer = _own_transfer(request, transfer_id)
    verified_at = _mfa_verified_at(request)
    fresh = verified_at is not None and timezone.now() - verified_at <= step_up_window()
    return render(
        request,
        "transfers/detail.html",
        {
            "transfer": transfer,
            "offering": transfer.offering,
            "checked_reasons": transfer.checked.get("reasons", []),
            "has_mfa": has_mfa(request.user),
            "step_up_fresh": fresh,
            "step_up_minutes": step_up_window().seconds // 60,
            "reauthenticate_url": reverse("mfa_reauthenticate")
            + "?"
            + urlencode({"next": reverse("investor_transfer", args=[transfer.public_id])}),
        },
    )


@require_POST
@access_required(Perm.INVESTOR_SELF)
def investor_transfer_confirm(request: HttpRequest, transfer_id: Any) -> HttpResponse:
    transfer = _own_transfer(request, transfer_id)
    if transfer.custody != Custody.CUSTODIAL:
        raise Http404("Your own wallet signs this transfer.")
    try:
        transfer = transfer_custodial_confirm(
            transfer=transfer, actor=signed_in_user(request), step_up_at=_mfa_verified_at(request)
        )
    except StepUpRequired:
        if not has_mfa(request.user):
            messages.error(
                request, "Set up two-factor authentication first: custodial transfers are confirmed with it."
            )
            return redirect("investor_transfer", transfer.public_id)
        messages.info(request, "Enter a code from your authenticator to confirm the transfer.")
        next_url = reverse("investor_transfer", args=[transfer.public_id])
        return redirect(reverse("mfa_reauthenticate") + "?" + urlencode({"next": next_url}))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Confirmed: the portal is sending {transfer.quantity:,} {transfer.offering.token_symbol}. It shows in "
            "both portfolios once the block is final.",
        )
    return redirect("investor_transfer", transfer.public_id)


@require_POST
@access_required(Perm.INVESTOR_SELF)
def investor_transfer_cancel(request: HttpRequest, transfer_id: Any) -> HttpResponse:
    transfer = _own_transfer(request, transfer_id)
    try:
        transfer_cancel(transfer=transfer, actor=signed_in_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The transfer is cancelled; nothing was signed.")
    return redirect("investor_transfer", transfer.public_id)


# --------------------------------------------------------------------------- exception requests (holder)


@require_http_methods(["GET", "POST"])
@access_required(Perm.INVESTOR_SELF)
def investor_request_new(request: HttpRequest, public_id: Any) -> HttpResponse:
    investor = _investor(request)
    offering = _held_offering(investor, public_id)
    assert investor is not None
    lots = selectors.lots_for_transfer(offering=offering, investor=investor)
    wallets = sorted({lot.wallet for lot in lots})
    form = ExceptionRequestForm(request.POST or None, request.FILES or None, wallets=wallets)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            filed = transfer_request_file(
                investor=investor,
                offering=offering,
                kind=d["kind"],
                from_wallet=d["from_wallet"],
                to_wallet=d["to_wallet"],
                quantity=d["quantity"],
                explanation=d["explanation"],
                document=d["document"],
                actor=signed_in_user(request),
                idempotency_key=d["form_token"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, f"Your request is sent to {offering.issuer.name}; you will see its decision here."
            )
            return redirect("investor_transfer_request", filed.public_id)
    return render(request, "transfers/request_new.html", {"offering": offering, "lots": lots, "form": form})


@require_GET
@access_required(Perm.INVESTOR_SELF)
def investor_transfer_request(request: HttpRequest, request_id: Any) -> HttpResponse:
    investor = _investor(request)
    found = selectors.investor_request(investor=investor, public_id=request_id) if investor else None
    if found is None:
        raise Http404("No such request of yours.")
    return render(request, "transfers/request_detail.html", {"transfer_request": found, "offering": found.offering})


@require_POST
@access_required(Perm.INVESTOR_SELF)
def investor_transfer_request_withdraw(request: HttpRequest, request_id: Any) -> HttpResponse:
    investor = _investor(request)
    found = selectors.investor_request(investor=investor, public_id=request_id) if investor else None
    if found is None:
        raise Http404("No such request of yours.")
    try:
        transfer_request_withdraw(request=found, actor=signed_in_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Your request is withdrawn.")
    return redirect("investor_transfer_request", found.public_id)


# --------------------------------------------------------------------------- exception requests (issuer)

STATE_FILTERS = [("open", "Open"), *RequestState.choices, ("all", "All")]


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def issuer_transfer_requests(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    state = request.GET.get("state") or "open"
    page = Paginator(selectors.issuer_requests(issuer=issuer, state=state), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "transfers/issuer_requests.html",
        {
            "issuer": issuer,
            "page": page,
            "state": state,
            "states": STATE_FILTERS,
            "may_delegate": can(request.user, Perm.REGISTRY_ADMINISTER, issuer),
            "may_decide": can(request.user, Perm.TRANSFER_REQUESTS_DECIDE, issuer),
        },
    )


@require_POST
@access_required(Perm.REGISTRY_ADMINISTER, issuer_kwarg="slug")
def issuer_transfer_agent_decisions(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    allowed = request.POST.get("transfer_agent_decides_requests") == "on"
    try:
        transfer_agent_decisions_set(issuer=issuer, actor=signed_in_user(request), allowed=allowed)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            "Your transfer agent now approves or refuses transfer requests; what it approves still waits for an "
            "issuer admin's approval."
            if allowed
            else "Only the issuer's admins decide transfer requests now.",
        )
    return redirect("issuer_transfer_requests", issuer.slug)


def _issuer_request(issuer: Issuer, request_id: Any) -> Any:
    found = selectors.issuer_request(issuer=issuer, public_id=request_id)
    if found is None:
        raise Http404("No such request.")
    return found


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def issuer_transfer_request(request: HttpRequest, issuer: Issuer, request_id: Any) -> HttpResponse:
    found = _issuer_request(issuer, request_id)
    return render(
        request,
        "transfers/issuer_request.html",
        {
            "issuer": issuer,
            "transfer_request": found,
            "form": RequestDecisionForm(),
            "may_decide": can(request.user, Perm.TRANSFER_REQUESTS_DECIDE, issuer),
        },
    )


@require_POST
@access_required(Perm.TRANSFER_REQUESTS_DECIDE, issuer_kwarg="slug", read_only_roles_may_post=True)
def issuer_transfer_request_decide(request: HttpRequest, issuer: Issuer, request_id: Any) -> HttpResponse:
    found = _issuer_request(issuer, request_id)
    form = RequestDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose to approve or to refuse.")
        return redirect("issuer_transfer_request", issuer.slug, found.public_id)
    actor = signed_in_user(request)
    try:
        if form.cleaned_data["decision"] == "approve":
            transfer_request_approve(request=found, actor=actor)
            messages.success(
                request,
                "Approved. The transfer is proposed on the token administration page and waits for another issuer "
                "admin's approval on the approvals page; it is carried out once they approve.",
            )
        else:
            transfer_request_refuse(request=found, actor=actor, note=form.cleaned_data["note"])
            messages.success(request, "Refused; the holder sees your reason.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("issuer_transfer_request", issuer.slug, found.public_id)


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def issuer_transfer_request_document(request: HttpRequest, issuer: Issuer, request_id: Any) -> HttpResponseBase:
    found = _issuer_request(issuer, request_id)
    response = FileResponse(
        found.document.open("rb"),
        content_type=found.document_content_type,
        as_attachment=True,
        filename=found.document_name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
