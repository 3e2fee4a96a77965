"""Pages anyone may open: the offering list and an offering's page and documents (506(b) and Reg S
offerings only to signed-in users), and the payment providers' webhooks, which prove themselves by signature."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from core.access import Perm, can, is_privileged
from investors.models import InvestorProfile
from offerings.models import Offering, OfferingDocument, OfferingStatus
from offerings.payments import PaymentError, payment_provider
from offerings.pricing import offering_pricer
from offerings.selectors import offerings as offering_selectors
from offerings.selectors import subscriptions as subscription_selectors
from offerings.selectors.standing import offering_standings
from offerings.services import offerings as offering_services
from offerings.services.subscriptions import cancel_deadline


@require_GET
def offering_list(request: HttpRequest) -> HttpResponse:
    rows = offering_selectors.offerings_public()
    if not request.user.is_authenticated:
        rows = rows.filter(general_solicitation=True)
    page = Paginator(rows, 20).get_page(request.GET.get("page"))
    standings = {}
    if request.user.is_authenticated and not is_privileged(request.user):
        # A signed-in investor reads, per offering, whether they can invest and if not why (one check per row).
        investor = InvestorProfile.objects.filter(user=request.user).first()
        standings = offering_standings(offerings=page.object_list, investor=investor)
    rows_shown = [(offering, standings.get(offering.pk)) for offering in page.object_list]
    return render(request, "offerings/list.html", {"page": page, "rows": rows_shown})


def offering_visible_to(request: HttpRequest, public_id: Any) -> Offering:
    """Published offerings; 506(b) and Reg S ones (no general solicitation) only to signed-in users;
    drafts only to the issuer's team."""
    offering = offering_selectors.offering_visible(public_id=public_id)
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
    offering = offering_visible_to(request, public_id)
    investor = InvestorProfile.objects.filter(user=request.user).first() if request.user.is_authenticated else None
    mine = (
        list(subscription_selectors.subscriptions_of(investor=investor).filter(offering=offering)) if investor else []
    )
    context = {
        "offering": offering,
        "progress": offering_selectors.offering_progress(offering=offering),
        "documents": offering_selectors.current_documents(offering=offering),
        "terms": offering_services.offering_terms(offering),
        "opened_at": offering_services.offering_opened_at(offering),
        "cancel_deadline": cancel_deadline(offering),
        "my_subscriptions": mine,
        "standing": offering_standings(offerings=[offering], investor=investor)[offering.pk]
        if request.user.is_authenticated and not is_privileged(request.user) and offering.status != OfferingStatus.DRAFT
        else None,
        "can_manage": can(request.user, Perm.ISSUER_VIEW, offering.issuer),
        "sections": offering_page_sections(offering),
        "priced_otherwise": offering_pricer(offering) is not None,
    }
    return render(request, "offerings/detail.html", context)


def offering_page_sections(offering: Offering) -> list[tuple[str, dict[str, Any]]]:
    """What apps above offerings add to its public page (settings.OFFERING_PAGE_SECTIONS): each callable takes
    the offering and returns (template, context), or None when it has nothing to show for it. Public facts only."""
    sections = []
    for path in getattr(settings, "OFFERING_PAGE_SECTIONS", []):
        section = import_string(path)(offering)
        if section is not None:
            sections.append(section)
    return sections


@require_GET
def offering_document_file(request: HttpRequest, public_id: Any, document_id: Any) -> HttpResponseBase:
    offering = offering_visible_to(request, public_id)
    document = get_object_or_404(OfferingDocument, offering=offering, public_id=document_id)
    response = FileResponse(document.file.open("rb"), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="{offering.token_symbol}-{document.kind}-v{document.version}.pdf"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --------------------------------------------------------------------------- provider webhooks


@csrf_exempt
@require_POST
def payment_webhook(request: HttpRequest, provider: str) -> HttpResponse:
    try:
        method = payment_provider(provider)
    except PaymentError as exc:
        raise Http404("No such payment provider.") from exc
    return method.webhook(request)
