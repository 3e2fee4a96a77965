"""Platform staff act on an investor's erasure request: the page says whether the investor may be erased
(not while they hold units) and what is kept (their holder record, six years, 17Ad-10(f))."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from core.access import Perm, access_required, signed_in_user
from core.errors import ApplicationError
from investors.models import InvestorProfile
from registry.forms import ErasureForm
from registry.models import HolderPosition
from registry.services.holder_erasure import investor_erase, investor_erased


@require_http_methods(["GET", "POST"])
@access_required(Perm.PLATFORM_ADMIN)
def investor_erasure(request: HttpRequest, public_id: Any) -> HttpResponse:
    investor = get_object_or_404(InvestorProfile.objects.select_related("user"), public_id=public_id)
    form = ErasureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            investor_erase(investor=investor, actor=signed_in_user(request))
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"Investor {investor.reference} is erased and their account closed. Their holder record is kept "
                "for six years, so the register as of the dates it was current still names them.",
            )
            return redirect("staff_investor_erasure", public_id=investor.public_id)
    holdings = list(
        HolderPosition.objects.filter(investor=investor).select_related("offering").order_by("offering__token_symbol")
    )
    return render(
        request,
        "registry/investor_erasure.html",
        {"investor": investor, "form": form, "holdings": holdings, "erased": investor_erased(investor)},
        status=400 if request.method == "POST" else 200,
    )
