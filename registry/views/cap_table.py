"""The issuer's cap table of one token, a holder's page, and the issuer's statement for 12(g) counts.

Issuer admins and transfer agents read them (Perm.REGISTRY_VIEW, scoped to the issuer); only admins
change the 12(g) statement.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.access import Perm, access_required, can, signed_in_user
from core.countries import country_choices
from core.models import Issuer
from investors.models import InvestorProfile, Wallet
from investors.selectors import accreditation_current
from offerings.models import Offering
from registry.forms import SORT_CHOICES, CapTableFilterForm, HolderCountPolicyForm
from registry.models import HolderPosition, Lot
from registry.selectors import cap_table as selectors
from registry.selectors.ledger import AsOf, ledger_total, lots_held
from registry.selectors.token_admin import holder_restrictions
from registry.services.holder_counts import holder_count_policy_set
from registry.services.position_snapshots import position_snapshot_request
from registry.templatetags.registry_tags import hundredths

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
INVESTOR_REF = re.compile(r"^[0-9a-f]{32}$")


def _offering(issuer: Issuer, public_id: Any) -> Offering:
    return get_object_or_404(Offering.objects.select_related("issuer"), issuer=issuer, public_id=public_id)


HISTORY_POINTS = 120


def history_points(history: list[tuple[Any, int, int]]) -> tuple[list[tuple[str, int, int]], str]:
    """The holders-and-supply series, by day, or by month's end when there are too many days to read."""
    if len(history) <= HISTORY_POINTS:
        return [(day.isoformat(), h, s) for day, h, s in history], "day"
    months: dict[str, tuple[str, int, int]] = {}
    for day, h, s in history:
        months[day.strftime("%Y-%m")] = (day.isoformat(), h, s)  # the last day of the month with a change
    return list(months.values()), "month"


def _chart_data(census: selectors.CapTableCensus, history: list[tuple[str, int, int]]) -> dict[str, Any]:
    """What the charts draw; the page shows the same figures as tables for readers who do not see them."""
    return {
        "concentration": {"labels": [s.label for s in census.top], "units": [s.units for s in census.top]},
        "countries": {
            "labels": [s.label for s in census.by_country],
            "holders": [s.holders for s in census.by_country],
        },
        "exemptions": {
            "labels": [s.label for s in census.by_exemption],
            "holders": [s.holders for s in census.by_exemption],
        },
        "history": {
            "labels": [day for day, _, _ in history],
            "holders": [h for _, h, _ in history],
            "supply": [s for _, _, s in history],
        },
    }


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def cap_table(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _offering(issuer, public_id)
    names = dict(country_choices())
    form = CapTableFilterForm(request.GET or None)
    query = form.to_query()
    # As of a past date: a small register is summed here; a large one's positions at that moment are derived
    # by a worker once per ledger state, then read in SQL. Reading the page writes nothing.
    snapshot = None
    if selectors.is_past(query.as_of):
        moment = selectors.moment_of(query.as_of)
        snapshot = selectors.position_snapshot_current(offering=offering, moment=moment)
        if snapshot is None and not selectors.as_of_inline(offering=offering):
            position_snapshot_request(offering=offering, moment=moment)
            return render(
                request,
                "registry/cap_table_preparing.html",
                {
                    "issuer": issuer,
                    "offering": offering,
                    "as_of": query.as_of,
                    "holders": selectors.holders_now(offering=offering),
                },
            )
    page, census = selectors.cap_table(offering=offering, query=query, snapshot=snapshot)
    form.countries_offer([(c, names.get(c, c)) for c in census.countries])
    policy = census.policy
    history, history_step = history_points(census.history)
    can_manage = can(request.user, Perm.ISSUER_MANAGE_OFFERINGS, issuer)
    sort_value = f"{'-' if query.descending else ''}{query.sort}"
    context = {
        "issuer": issuer,
        "offering": offering,
        "form": form,
        "query": query,
        "page": page,
        "census": census,
        "count": census.holder_count,
        "chart": _chart_data(census, history),
        "history": history,
        "history_step": history_step,
        "sort_value": sort_value,
        "sort_label": dict(SORT_CHOICES).get(sort_value, ""),
        "can_manage": can_manage,
        "policy": policy,
        "policy_form": HolderCountPolicyForm(
            initial={
                "total_assets": (
                    f"{policy.total_assets_minor // 100}" if policy.total_assets_minor is not None else ""
                ),
                "reg_cf_excluded": policy.reg_cf_excluded,
                "reg_a_tier2_excluded": policy.reg_a_tier2_excluded,
            }
        )
        if can_manage
        else None,
        "pages": _page_links(page),
        "rows": _display_rows(
            page,
            detail_url=reverse("holder_detail", args=[issuer.slug, offering.public_id, "HOLDER"]),
            as_of=query.as_of.isoformat() if query.as_of else "",
        ),
        "sort_links": _sort_links(query),
        "top_count": min(selectors.TOP_HOLDERS, census.holders),
    }
    return render(request, "registry/cap_table.html", context)


BADGES = {"verified": "text-bg-success", "self_certified": "text-bg-info", "none": "text-bg-light"}


def _day(moment: Any) -> str:
    return f"{moment:%d %b %Y}".lstrip("0") if moment else ""


def _lockup_text(row: selectors.HolderRow) -> str:
    if row.lockup == selectors.Lockup.FREE:
        return "Free"
    if row.lockup == selectors.Lockup.LOCKED:
        if row.lockup_last_release != row.lockup_first_release:
            return f"Locked until {_day(row.lockup_first_release)}–{_day(row.lockup_last_release)}"
        return f"Locked until {_day(row.lockup_first_release)}"
    return f"Partly locked, until {_day(row.lockup_last_release)}"


def _display_rows(page: selectors.CapTablePage, *, detail_url: str, as_of: str) -> list[dict[str, Any]]:
    """Each row's cells as text, worked out here once rather than by template tags a hundred times a page."""
    suffix = f"?as_of={as_of}" if as_of else ""
    rows = []
    for r in page.rows:
        wallets = len(r.wallets)
        rows.append(
            {
                "ref": r.holder_ref,
                "url": detail_url.replace("HOLDER", r.holder_ref) + suffix,
                "investor": r.investor_id is not None,
                "label": (r.name or "(no name yet)") if r.investor_id is not None else r.wallet,
                "sub": (f"{r.email} · {wallets} wallets" if wallets > 1 else r.email)
                if r.investor_id is not None
                else "wallet not linked to an investor",
                "country": r.country,
                "accreditation": r.accreditation_label,
                "badge": BADGES[r.accreditation],
                "exemptions": ", ".join(r.exemption_labels),
                "lockup": _lockup_text(r),
                "acquired": _day(r.first_acquired_at),
                "quantity": f"{r.quantity:,}",
                "class_share": hundredths(r.class_hundredths),
                "diluted_share": hundredths(r.diluted_hundredths),
            }
        )
    return rows


def _sort_links(query: selectors.CapTableQuery) -> dict[str, str]:
    """Each column header sorts by it; the current column's header turns the order around."""
    first = {"quantity": "-quantity", "name": "name", "country": "country", "acquired": "-acquired"}
    links = {}
    for column, default in first.items():
        if column == query.sort:
            links[column] = column if query.descending else f"-{column}"
        else:
            links[column] = default
    return links


def _page_links(page: selectors.CapTablePage) -> list[int | None]:
    """Page numbers to link: the first, the last and two either side of the current one (None: a gap)."""
    wanted = sorted({1, page.pages, *range(max(1, page.page - 2), min(page.pages, page.page + 2) + 1)})
    links: list[int | None] = []
    for n in wanted:
        last = links[-1] if links else None
        if last is not None and n - last > 1:
            links.append(None)
        links.append(n)
    return links


@require_POST
@access_required(Perm.ISSUER_MANAGE_OFFERINGS, issuer_kwarg="slug")
def holder_count_policy(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _offering(issuer, public_id)
    form = HolderCountPolicyForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"The 12(g) statement was not saved: {error}")
        return redirect("cap_table", issuer.slug, offering.public_id)
    holder_count_policy_set(
        issuer=issuer,
        actor=signed_in_user(request),
        total_assets_minor=form.cleaned_data["total_assets"],
        reg_cf_excluded=form.cleaned_data["reg_cf_excluded"],
        reg_a_tier2_excluded=form.cleaned_data["reg_a_tier2_excluded"],
    )
    messages.success(request, "The 12(g) statement is saved; the holder counts below follow it.")
    return redirect(reverse("cap_table", args=[issuer.slug, offering.public_id]) + "#holder-counts")


@require_GET
@access_required(Perm.REGISTRY_VIEW, issuer_kwarg="slug")
def holder_detail(request: HttpRequest, issuer: Issuer, public_id: Any, holder: str) -> HttpResponse:
    """One holder of the token: an investor (by id) across their wallets, or a wallet nobody linked."""
    offering = _offering(issuer, public_id)
    form = CapTableFilterForm(request.GET or None)
    as_of = form.to_query().as_of
    moment = selectors.moment_of(as_of)
    at = AsOf(at=moment) if selectors.is_past(as_of) else AsOf()
    investor: InvestorProfile | None = None
    wallet = ""
    if INVESTOR_REF.match(holder):
        investor = InvestorProfile.objects.select_related("user").filter(public_id=holder).first()
        if investor is None or not Lot.objects.filter(offering=offering, investor=investor).exists():
            raise Http404("This investor has never held this token.")
        lots = lots_held(offering=offering, investor=investor, as_of=at)
    elif ADDRESS.match(holder):
        owner = Lot.objects.filter(offering=offering, wallet__iexact=holder).order_by("-id").first()
        if owner is None:
            raise Http404("This wallet has never held this token.")
        if owner.investor_id is not None:
            assert owner.investor is not None
            return redirect("holder_detail", issuer.slug, offering.public_id, owner.investor.public_id.hex)
        wallet = owner.wallet
        lots = [row for row in lots_held(offering=offering, wallet=wallet, as_of=at) if row.lot.investor_id is None]
    else:
        raise Http404("No such holder.")
    quantity = sum(row.remaining for row in lots)
    holdings = (
        HolderPosition.objects.filter(offering__issuer=issuer)
        .filter(investor=investor, wallet=wallet)
        .select_related("offering")
        .order_by("offering__title")
    )
    for row in lots:
        row_state = selectors.lockup_state(
            last_release=row.lot.lockup_release, first_release=row.lot.lockup_release, moment=moment
        )
        row.lot.lockup_label = selectors.Lockup.LABELS[row_state]  # type: ignore[attr-defined]
        row.lot.exemption_label = selectors.exemption_label(row.lot.exemption)  # type: ignore[attr-defined]
    linked_wallets = list(Wallet.objects.filter(investor=investor).order_by("linked_at")) if investor else []
    context = {
        "issuer": issuer,
        "offering": offering,
        "investor": investor,
        "wallet": wallet,
        "restrictions": holder_restrictions(
            offering=offering,
            wallets={row.lot.wallet for row in lots} | {w.address for w in linked_wallets} | ({wallet} - {""}),
            as_of=at,
        ),
        "lots": lots,
        "quantity": quantity,
        "as_of": as_of,
        "moment": moment,
        "class_hundredths": selectors.share_hundredths(quantity, ledger_total(offering=offering, as_of=at)),
        "linked_wallets": linked_wallets,
        "accreditation": accreditation_current(investor=investor) if investor else None,
        "holdings": list(holdings),
        "can_manage": can(request.user, Perm.ISSUER_MANAGE_OFFERINGS, issuer),
        "can_administer": can(request.user, Perm.REGISTRY_ADMINISTER, issuer),
    }
    return render(request, "registry/holder_detail.html", context)
