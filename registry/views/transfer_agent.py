"""The transfer agent's pages: their registers, the master securityholder file, the journal, the control
book and record differences (17Ad-9, 17Ad-10), all read-only; and their own API tokens.

Issuer admins read the same pages. Only the API token page changes anything, and only its visitor's
own tokens.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.access import Perm, access_required, signed_in_user
from core.actions import action_perform
from core.errors import ApplicationError
from core.models import ApiToken, Issuer
from core.selectors import api_tokens_of
from core.services import api_token_create, api_token_revoke
from offerings.models import Offering
from registry.forms import ApiTokenForm, AsOfForm, DifferenceFilterForm, PeriodForm
from registry.models import IssuerAuthorization
from registry.selectors.cap_table import holder_count
from registry.selectors.master_file import (
    DIFFERENCE_STATES,
    control_book,
    holdings_as_of,
    journal_postings,
    record_differences,
    register_offering,
    registers_of,
    token_address,
)

PAGE_ROWS = 50


def _offering(issuer: Issuer, public_id: Any) -> Offering:
    offering = register_offering(issuer=issuer, public_id=public_id)
    if offering is None:
        raise Http404("No published offering of this issuer has that id.")
    return offering


def register_page_context(issuer: Issuer, offering: Offering, tab: str, **extra: Any) -> dict[str, Any]:
    """What the register's header needs; apps above the registry add their record pages as tabs through
    `settings.REGISTRY_RECORD_TABS` ((tab, label, URL name taking the issuer slug and offering id), ...)."""
    return {
        "issuer": issuer,
        "offering": offering,
        "tab": tab,
        "token_address": token_address(offering=offering),
        "record_tabs": [
            {"tab": name, "label": label, "url_name": url_name}
            for name, label, url_name in getattr(settings, "REGISTRY_RECORD_TABS", [])
        ],
        **extra,
    }


@require_GET
@access_required(Perm.REGISTRY_READER)
def transfer_agent_home(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    now = timezone.now()
    tokens = [(t, t.state(now)) for t in api_tokens_of(user=user)[:5]]
    return render(
        request, "registry/transfer_agent_home.html", {"registers": registers_of(user=user), "tokens": tokens}
    )


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def registry_holdings(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    """The master securityholder file as of a date or block: every holding with units left, by lot."""
    offering = _offering(issuer, public_id)
    form = AsOfForm(request.GET or None)
    as_of = form.as_of()
    search = form.cleaned_data.get("q", "") if form.is_bound and form.is_valid() else ""
    page = Paginator(holdings_as_of(offering=offering, as_of=as_of, search=search), PAGE_ROWS).get_page(
        request.GET.get("page")
    )
    rows = [{"lot": lot} for lot in page]
    context = register_page_context(
        issuer,
        offering,
        "holdings",
        form=form,
        page=page,
        rows=rows,
        as_of=as_of,
        search=search,
        holders=holder_count(offering=offering, as_of=as_of).holders,
    )
    return render(request, "registry/holdings.html", context)


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def registry_journal(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    """The transaction journal for a period: postings in chain order, each with its transaction."""
    offering = _offering(issuer, public_id)
    form = PeriodForm(request.GET or None)
    since, until = form.bounds()
    page = Paginator(journal_postings(offering=offering, since=since, until=until), PAGE_ROWS).get_page(
        request.GET.get("page")
    )
    rows = [{"posting": p} for p in page]
    return render(
        request,
        "registry/journal.html",
        register_page_context(issuer, offering, "journal", form=form, page=page, rows=rows),
    )


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def registry_control_book(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _offering(issuer, public_id)
    book = control_book(offering=offering)
    entries = [{"entry": e} for e in book.entries]
    return render(
        request,
        "registry/control_book.html",
        register_page_context(issuer, offering, "control_book", book=book, entries=entries),
    )


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def registry_authorization_document(
    request: HttpRequest, issuer: Issuer, public_id: Any, authorization_id: int
) -> HttpResponseBase:
    """The signed issuer authorization behind a control book change, as recorded."""
    offering = _offering(issuer, public_id)
    authorization = get_object_or_404(IssuerAuthorization, pk=authorization_id, offering=offering)
    return authorization_document_response(authorization)


def authorization_document_response(authorization: IssuerAuthorization) -> FileResponse:
    name = PurePath(authorization.document.name or "authorization").name
    try:
        handle = authorization.document.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The authorization's document is missing from storage.") from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=name,
        content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["X-Document-SHA256"] = authorization.document_sha256
    return response


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def registry_differences(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    """Record differences (17Ad-9) with their cause and age; aged after 30 calendar days."""
    offering = _offering(issuer, public_id)
    form = DifferenceFilterForm(request.GET or None)
    state = form.state_value()
    now = timezone.now()
    page = Paginator(record_differences(offering=offering, state=state, now=now), PAGE_ROWS).get_page(
        request.GET.get("page")
    )
    rows = [
        {
            "difference": d,
            "age_days": max(0, d.age(now).days),  # a block stamped ahead of this clock is new, not -1 days old
            "aged": d.resolved_at is None and d.aged(now),
        }
        for d in page
    ]
    context = register_page_context(
        issuer, offering, "differences", page=page, rows=rows, state=state, states=DIFFERENCE_STATES.items()
    )
    return render(request, "registry/differences.html", context)


# --------------------------------------------------------------------------- one's own API tokens


@require_http_methods(["GET", "POST"])
@access_required(Perm.REGISTRY_READER, read_only_roles_may_post=True)  # their own tokens only
def api_tokens(request: HttpRequest) -> HttpResponse:
    """Make and list one's API tokens; a new token's secret is shown on this response only."""
    user = signed_in_user(request)
    form = ApiTokenForm(request.POST or None)
    created: tuple[ApiToken, str] | None = None
    if request.method == "POST" and form.is_valid():
        try:
            created = api_token_create(actor=user, name=form.cleaned_data["name"], expires_at=form.expires_at())
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            form = ApiTokenForm()
    now = timezone.now()
    page = Paginator(api_tokens_of(user=user), PAGE_ROWS).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "tokens": [(t, t.state(now)) for t in page],
        "created": created[0] if created else None,
        "secret": created[1] if created else None,
    }
    response = render(request, "registry/api_tokens.html", context)
    if created:
        response["Cache-Control"] = "no-store"  # the secret must not stay in any cache
    return response


@require_POST
@access_required(Perm.REGISTRY_READER, read_only_roles_may_post=True)  # their own tokens only
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    user = signed_in_user(request)
    token = get_object_or_404(ApiToken, pk=token_id, user=user)  # someone else's token does not exist here
    action_perform(
        request,
        lambda: api_token_revoke(actor=user, token=token),
        success=f"The token “{token.name}” ({token.prefix}…) is revoked; calls made with it are refused from now on.",
    )
    return redirect("api_tokens")
