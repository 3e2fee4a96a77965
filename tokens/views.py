"""Staff pages for the chain: the outbox with statuses, hashes, decoded errors, retries and nonce fills; and, for
a chain without a block explorer, a transaction and an address as the node reports them."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.access import Perm, access_required, signed_in_user
from core.actions import action_perform
from tokens.explorer import ADDRESS, TX_HASH, address_page, transaction_page
from tokens.models import ChainTransaction, TxStatus
from tokens.outbox import transaction_nonce_fill
from tokens.selectors import chain_status, chain_transaction_counts, chain_transactions, explorer_url, sender_states
from tokens.services import transaction_retry


@access_required(Perm.PLATFORM_ADMIN)
def chain_transaction_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    if status not in TxStatus.values:
        status = None
    page = Paginator(chain_transactions(status=status), 50).get_page(request.GET.get("page"))
    for tx in page.object_list:
        tx.explorer_url = explorer_url(tx.tx_hash)  # type: ignore[attr-defined]
    context = {
        "page": page,
        "status": status,
        "statuses": TxStatus.choices,
        "counts": chain_transaction_counts(),
        "node": chain_status(timeout=1.0),
        "senders": sender_states(),
        "stall_seconds": settings.CHAIN_NONCE_STALL_SECONDS,
    }
    return render(request, "tokens/chain_transactions.html", context)


@require_POST
@access_required(Perm.PLATFORM_ADMIN)
def chain_transaction_retry(request: HttpRequest, tx_id: int) -> HttpResponse:
    tx = get_object_or_404(ChainTransaction, pk=tx_id)
    action_perform(
        request,
        lambda: transaction_retry(tx=tx, actor=signed_in_user(request)),
        success=f"“{tx.purpose}” will be signed and sent again.",
    )
    return redirect("chain_transactions")


@require_POST
@access_required(Perm.PLATFORM_ADMIN)
def chain_transaction_fill(request: HttpRequest, tx_id: int) -> HttpResponse:
    tx = get_object_or_404(ChainTransaction, pk=tx_id)
    action_perform(
        request,
        lambda: transaction_nonce_fill(tx=tx, actor=signed_in_user(request)),
        success=f"Nonce {tx.nonce} of “{tx.purpose}” will be filled with an empty transfer; it is not sent again.",
    )
    return redirect("chain_transactions")


@access_required(Perm.INVESTOR_SELF)
def chain_transaction_detail(request: HttpRequest, tx_hash: str) -> HttpResponse:
    """What a block explorer shows of one transaction: status, block, from, to, the decoded call and events."""
    if not TX_HASH.fullmatch(tx_hash):
        raise Http404("Not a transaction hash.")
    page = transaction_page(tx_hash=tx_hash.lower())
    context = {"tx": page, "show_purpose": request.user.is_staff, "chain_id": settings.CHAIN_ID}
    return render(request, "tokens/transaction_detail.html", context, status=200 if page.found else 404)


@access_required(Perm.INVESTOR_SELF)
def chain_address_detail(request: HttpRequest, address: str) -> HttpResponse:
    """An address on the chain: contract or account, its balance, and for staff the portal's transactions."""
    if not ADDRESS.fullmatch(address):
        raise Http404("Not an address.")
    page = address_page(address=address, with_portal_transactions=request.user.is_staff)
    return render(request, "tokens/address_detail.html", {"page": page, "chain_id": settings.CHAIN_ID})
