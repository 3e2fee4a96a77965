"""Transfer-agent records: the control book with its issuer authorizations, and the 17Ad-11 monthly
reports. Everyone who reads the register (issuer admins, transfer agents) sees them; only the issuer's
admins record an authorization."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.access import Perm, access_required, can, signed_in_user
from core.errors import ApplicationError
from core.models import Issuer
from offerings.models import Offering
from registry.forms import AuthorizationForm
from registry.models import IssuerAuthorization
from registry.selectors.control_book import control_book_of, differences_open
from registry.selectors.difference_reports import difference_reports_of, difference_thresholds
from registry.services.control_book import authorization_propose


def _offering(issuer: Issuer, public_id: Any) -> Offering:
    return get_object_or_404(Offering.objects.select_related("issuer"), issuer=issuer, public_id=public_id)


def _control_book_page(
    request: HttpRequest, issuer: Issuer, offering: Offering, form: AuthorizationForm | None, status: int = 200
) -> HttpResponse:
    can_authorize = can(request.user, Perm.REGISTRY_ADMINISTER, issuer)
    book = control_book_of(offering=offering)
    context = {
        "issuer": issuer,
        "offering": offering,
        "book": book,
        "panel": {"reconciliation": book.reconciliation, "differences": differences_open(offering=offering)},
        "can_authorize": can_authorize,
        "can_manage": can_authorize,
        "form": (form or AuthorizationForm()) if can_authorize else None,
    }
    return render(request, "registry/control_book_records.html", context, status=status)


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def control_book(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    return _control_book_page(request, issuer, _offering(issuer, public_id), None)


@require_POST
@access_required(Perm.REGISTRY_ADMINISTER, issuer_kwarg="slug")
def control_book_authorize(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _offering(issuer, public_id)
    form = AuthorizationForm(request.POST, request.FILES)
    if not form.is_valid():
        return _control_book_page(request, issuer, offering, form, status=400)
    d = form.cleaned_data
    try:
        outcome = authorization_propose(
            offering=offering,
            authorized_quantity=d["authorized_quantity"],
            description=d["description"],
            document=d["document"],
            authorized_on=d["authorized_on"],
            actor=signed_in_user(request),
        )
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _control_book_page(request, issuer, offering, form, status=400)
    if outcome.pending:
        messages.info(
            request,
            f"{d['authorized_quantity']:,} units recorded with the document. Raising the authorized quantity is a "
            f"cap-table change: it takes effect when a second admin of {issuer.name} approves it on the approvals "
            "page.",
        )
    else:
        messages.success(request, f"{d['authorized_quantity']:,} units authorized, in effect now.")
    return redirect("control_book", slug=issuer.slug, public_id=offering.public_id)


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def control_book_document(request: HttpRequest, issuer: Issuer, public_id: Any, authorization_id: int) -> FileResponse:
    offering = _offering(issuer, public_id)
    record = get_object_or_404(IssuerAuthorization, offering=offering, pk=authorization_id)
    name = record.document.name or ""
    extension = name.rsplit(".", 1)[-1] if "." in name else "pdf"
    response = FileResponse(record.document.open("rb"), content_type=record.document_content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="{offering.token_symbol}-authorization-{record.pk}.{extension}"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# Months shown per page: two years.
REPORTS_PER_PAGE = 24


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def difference_reports(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    page = Paginator(difference_reports_of(issuer=issuer), REPORTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "registry/difference_reports.html",
        {"issuer": issuer, "page": page, "thresholds": difference_thresholds(currency="USD")},
    )
