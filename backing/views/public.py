"""Pages anyone may open, signed in or not: a token's transparency report and the attestation documents it
lists (approved statements only). Cacheable: a shared cache may keep an anonymous reader's copy a minute."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_GET

from backing.models import NavPoint, StatementState
from backing.transparency import (
    history_chart,
    transparency_cache_seconds,
    transparency_offering,
    transparency_report,
    transparency_statement,
)
from offerings.models import Offering
from offerings.views.public import offering_visible_to

PAGE_MAX_AGE = 60
DOCUMENT_MAX_AGE = 24 * 3600


def public_cache(response: HttpResponseBase, request: HttpRequest, *, max_age: int) -> HttpResponseBase:
    """Public for a reader who is not signed in (the page then carries nothing of theirs); private otherwise."""
    if request.user.is_authenticated:
        patch_cache_control(response, private=True, max_age=max_age)
    else:
        patch_cache_control(response, public=True, max_age=max_age)
    patch_vary_headers(response, ["Cookie"])
    return response


def _offering(public_id: Any) -> Offering:
    offering = transparency_offering(public_id=public_id)
    if offering is None:
        raise Http404("This token has no transparency report.")
    return offering


@require_GET
def transparency_page(request: HttpRequest, public_id: Any) -> HttpResponseBase:
    offering = _offering(public_id)
    report = transparency_report(offering=offering)
    response: HttpResponse = render(
        request,
        "backing/transparency.html",
        {
            "offering": offering,
            "report": report,
            "chart": history_chart(report),
            "offering_link": report.offering_public or request.user.is_authenticated,
            "cache_seconds": transparency_cache_seconds(),
        },
    )
    return public_cache(response, request, max_age=PAGE_MAX_AGE)


@require_GET
def transparency_document(request: HttpRequest, public_id: Any, statement_id: Any) -> HttpResponseBase:
    offering = _offering(public_id)
    statement = transparency_statement(offering=offering, public_id=statement_id)
    if statement is None:
        raise Http404("No such attestation of this token.")
    response = FileResponse(statement.document.open("rb"), content_type="application/pdf")
    name = f"{offering.token_symbol}-reserves-{statement.as_of:%Y-%m-%d}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    # A statement is never edited: its document is the same for as long as it exists.
    patch_cache_control(response, public=True, max_age=DOCUMENT_MAX_AGE, immutable=True)
    return response


@require_GET
def nav_document(request: HttpRequest, public_id: Any, point_id: Any) -> HttpResponseBase:
    """The statement an approved NAV comes from, to whoever may read the offering's page."""
    offering = offering_visible_to(request, public_id)
    point = NavPoint.objects.filter(
        offering=offering, public_id=point_id, state__in=(StatementState.APPROVED, StatementState.SUPERSEDED)
    ).first()
    if point is None or point.from_oracle:
        raise Http404("No such NAV statement of this offering.")
    response = FileResponse(point.document.open("rb"), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{offering.token_symbol}-nav-{point.dealing_day:%Y-%m-%d}.pdf"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    return public_cache(response, request, max_age=DOCUMENT_MAX_AGE)
