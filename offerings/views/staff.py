"""Platform staff pages: stablecoin transfers into the receiving address."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.access import Perm, access_required, signed_in_user
from core.actions import action_perform
from offerings.models import StablecoinReceipt
from offerings.selectors import payments as payment_selectors
from offerings.services import stablecoin as stablecoin_services
from tokens.selectors import chain_reorgs_recent


@access_required(Perm.PLATFORM_ADMIN)
def stablecoin_receipts(request: HttpRequest) -> HttpResponse:
    """Staff: every stablecoin transfer into the receiving address; flagged ones need a person."""
    show = request.GET.get("show", "flagged")
    page = Paginator(payment_selectors.stablecoin_receipts(flagged_only=show == "flagged"), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "offerings/stablecoin_receipts.html",
        {"page": page, "show": show, "reorgs": chain_reorgs_recent(limit=5)},
    )


@require_POST
@access_required(Perm.PLATFORM_ADMIN)
def stablecoin_receipt_return(request: HttpRequest, receipt_id: int) -> HttpResponse:
    receipt = get_object_or_404(StablecoinReceipt, pk=receipt_id)
    action_perform(
        request,
        lambda: stablecoin_services.stablecoin_receipt_return(receipt=receipt, actor=signed_in_user(request)),
        success=f"The transfer from {receipt.sender} is being sent back.",
    )
    return redirect("stablecoin_receipts")
