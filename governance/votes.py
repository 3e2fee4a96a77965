"""The investor's votes: the ballots of tokens they held at the record date, their current vote, changing
it until the close, and the result after it. Only the signed-in investor's own ballots are ever read."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core.access import Perm, access_required, ballot_visible_to_investor, signed_in_user
from core.errors import ApplicationError
from governance.forms import VoteForm
from governance.selectors import ballot_figures, ballot_options, investor_ballot, investor_ballots
from governance.services.voting import vote_cast
from governance.views import chart_data
from investors.models import InvestorProfile


def _investor(request: HttpRequest) -> InvestorProfile | None:
    return InvestorProfile.objects.filter(user=signed_in_user(request)).first()


@require_GET
@access_required(Perm.INVESTOR_SELF)
def investor_votes(request: HttpRequest) -> HttpResponse:
    investor = _investor(request)
    rows = investor_ballots(investor=investor) if investor else []
    return render(
        request,
        "governance/investor_list.html",
        {
            "open_rows": [r for r in rows if r.phase in ("open", "waiting")],
            "past_rows": [r for r in rows if r.phase not in ("open", "waiting")],
        },
    )


@require_http_methods(["GET", "POST"])
@access_required(Perm.INVESTOR_SELF)
def investor_ballot_page(request: HttpRequest, ballot_id: Any) -> HttpResponse:
    investor = _investor(request)
    found = investor_ballot(investor=investor, public_id=ballot_id) if investor else None
    if found is None or investor is None or not ballot_visible_to_investor(request.user, found.ballot):
        raise Http404("No such ballot for you.")
    options = ballot_options(ballot=found.ballot)
    form = VoteForm(
        request.POST or None,
        options=options,
        initial={"option": found.vote.option.position} if found.vote else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            vote_cast(
                ballot=found.ballot,
                investor=investor,
                option=form.cleaned_data["option"],
                actor=signed_in_user(request),
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"Your vote is recorded with your {found.power.power:,} units. You can change it until voting closes.",
            )
            return redirect("investor_ballot", found.ballot.public_id)
    figures = ballot_figures(ballot=found.ballot)
    return render(
        request,
        "governance/investor_ballot.html",
        {
            "row": found,
            "ballot": found.ballot,
            "form": form,
            "options": options,
            "figures": figures,
            "chart": chart_data(figures) if figures.final else None,
        },
    )


def portfolio_section(investor: InvestorProfile) -> tuple[str, dict[str, Any]]:
    rows = [r for r in investor_ballots(investor=investor) if r.phase in ("open", "waiting")]
    return "governance/_portfolio.html", {"vote_rows": rows}
