"""The issuer's ballot pages: the list, creating one, and one ballot's progress while open and its result
after the close (with the chart and the export). Transfer agents read them; only admins change anything."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.access import Perm, access_required, can, signed_in_user
from core.errors import ApplicationError
from core.models import Issuer
from governance.forms import BallotCreateForm
from governance.models import Ballot
from governance.selectors import ballot_figures, ballot_of, ballot_phase, ballots_of
from governance.services.ballots import ballot_close, ballot_create, ballot_power_read
from offerings.models import Offering


def _ballot(issuer: Issuer, ballot_id: Any) -> Ballot:
    ballot = ballot_of(issuer=issuer, public_id=ballot_id)
    if ballot is None:
        raise Http404("No such ballot.")
    return ballot


def chart_data(figures: Any) -> dict[str, Any]:
    return {
        "labels": [o.label for o in figures.options],
        "power": [o.power for o in figures.options],
        "holders": [o.holders for o in figures.options],
    }


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def ballot_list(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    page = Paginator(ballots_of(issuer=issuer), 25).get_page(request.GET.get("page"))
    rows = [{"ballot": b, "phase": ballot_phase(b)} for b in page.object_list]
    return render(
        request,
        "governance/list.html",
        {
            "issuer": issuer,
            "page": page,
            "rows": rows,
            "may_manage": can(request.user, Perm.ISSUER_MANAGE_BALLOTS, issuer),
        },
    )


@require_http_methods(["GET", "POST"])
@access_required(Perm.ISSUER_MANAGE_BALLOTS, issuer_kwarg="slug")
def ballot_create_page(request: HttpRequest, issuer: Issuer) -> HttpResponse:
    offerings = Offering.objects.filter(issuer=issuer).order_by("title")
    form = BallotCreateForm(request.POST or None, offerings=offerings)
    if request.method == "POST" and form.is_valid():
        try:
            ballot = ballot_create(
                issuer=issuer,
                offering=form.cleaned_data["offering"],
                actor=signed_in_user(request),
                data=form.to_input(),
            )
        except ApplicationError as exc:
            field = (exc.extra or {}).get("field")
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                "Ballot created. The token is scheduling its record date; once the date has passed, read the "
                "voting power here and holders can vote from the opening time.",
            )
            return redirect("ballot_detail", issuer.slug, ballot.public_id)
    return render(request, "governance/create.html", {"issuer": issuer, "form": form})


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def ballot_detail(request: HttpRequest, issuer: Issuer, ballot_id: Any) -> HttpResponse:
    ballot = _ballot(issuer, ballot_id)
    figures = ballot_figures(ballot=ballot)
    return render(
        request,
        "governance/detail.html",
        {
            "issuer": issuer,
            "ballot": ballot,
            "phase": ballot_phase(ballot),
            "figures": figures,
            "chart": chart_data(figures) if figures.final else None,
            "may_manage": can(request.user, Perm.ISSUER_MANAGE_BALLOTS, issuer),
        },
    )


@require_POST
@access_required(Perm.ISSUER_MANAGE_BALLOTS, issuer_kwarg="slug")
def ballot_power_read_page(request: HttpRequest, issuer: Issuer, ballot_id: Any) -> HttpResponse:
    ballot = _ballot(issuer, ballot_id)
    try:
        ballot = ballot_power_read(ballot=ballot, actor=signed_in_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Voting power read: {ballot.holders:,} holders with {ballot.total_power:,} units.")
    return redirect("ballot_detail", issuer.slug, ballot.public_id)


@require_POST
@access_required(Perm.ISSUER_MANAGE_BALLOTS, issuer_kwarg="slug")
def ballot_close_page(request: HttpRequest, issuer: Issuer, ballot_id: Any) -> HttpResponse:
    ballot = _ballot(issuer, ballot_id)
    try:
        ballot = ballot_close(ballot=ballot, actor=signed_in_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The votes are counted; the result below is final.")
    return redirect("ballot_detail", issuer.slug, ballot.public_id)
