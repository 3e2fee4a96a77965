"""The issuer's backing pages for one token: overview (profile, contract controls, rule, condition), the
profile and rule forms, reserve statements (list, new, CSV import, detail with approval and document).

Everyone of the issuer who reads its pages (admins, compliance officers, transfer agents, staff) reads
these; only the issuer's admins change anything (core.access: ISSUER_MANAGE_BACKING)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backing.forms import CustodianFormSet, DecideForm, ImportForm, LineFormSet, ProfileForm, RuleForm, StatementForm
from backing.models import ReserveStatement, StatementState
from backing.quantities import ratio_text
from backing.selectors import (
    backing_contract_controls,
    backing_mint_allowance,
    backing_profile_of,
    backing_reserve_feed,
    backing_rule_of,
    backing_status_of,
    minting_in_words,
    reserve_statement_chain,
    reserve_statement_current,
    reserve_statements_of,
)
from backing.services.profile import CustodianInput, ProfileInput, backing_profile_save
from backing.services.rule import backing_rule_change_pending, backing_rule_propose, rule_text
from backing.services.statements import (
    CSV_COLUMNS,
    ImportRefused,
    LineInput,
    StatementInput,
    reserve_statement_import,
    reserve_statement_propose,
)
from core.access import Perm, access_required, can, signed_in_user
from core.approvals import approval_approve, approval_reject
from core.errors import ApplicationError
from core.models import ApprovalState, Issuer
from offerings.models import Offering
from tokens.services import CHAIN_TRANSIENT_ERRORS


def _offering(issuer: Issuer, public_id: Any) -> Offering:
    return get_object_or_404(Offering.objects.select_related("issuer"), issuer=issuer, public_id=public_id)


def _base(request: HttpRequest, issuer: Issuer, offering: Offering, **extra: Any) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "offering": offering,
        "can_manage_backing": can(request.user, Perm.ISSUER_MANAGE_BACKING, issuer),
        **extra,
    }


@require_GET
@access_required(Perm.ISSUER_VIEW, issuer_kwarg="slug")
def backing_overview(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _offering(issuer, public_id)
    rule = backing_rule_of(offering=offering)
    allowance, allowance_problem = None, ""
    try:
        allowance = backing_mint_allowance(offering=offering)
    except CHAIN_TRANSIENT_ERRORS:
        allowance_problem = (
            "The chain cannot be reached just now, so the supply and what may still be minted are not shown."
        )
    controls, feed = backing_contract_controls(offering=offering), backing_reserve_feed(offering=offering)
    context = _base(
        request,
        issuer,
        offering,
        profile=backing_profile_of(offering=offering),
        rule=rule,
        per_token=ratio_text(
            numerator=rule.reserve_per_token_numerator,
            denominator=rule.reserve_per_token_denominator,
            scale=rule.unit_scale,
        )
        if rule
        else "",
        status=backing_status_of(offering=offering),
        statement=reserve_statement_current(offering=offering),
        controls=controls,
        feed=feed,
        minting=minting_in_words(
            minter_holders=next((r.holders for r in controls.controls.roles if r.role == "minter"), ())
            if controls.controls
            else None,
            minter_address=feed.minter_address,
            problem=controls.problem,
        )[0],
        allowance=allowance,
        allowance_problem=allowance_problem,
        rule_pending=backing_rule_change_pending(offering=offering),
    )
    return render(request, "backing/overview.html", context)


def _profile_initial(offering: Offering) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    profile = backing_profile_of(offering=offering)
    if profile is None:
        return {}, []
    initial = {
        "asset_kind": profile.asset_kind,
        "asset_details": profile.asset_details,
        "legal_structure": profile.legal_structure,
        "structure_name": profile.structure_name,
        "holder_claim": profile.holder_claim,
        "reserves_segregated": "yes" if profile.reserves_segregated else "no",
        "redemption_terms": profile.redemption_terms,
    }
    return initial, [{"name": c.name, "role": c.role} for c in profile.custodians.all()]


@require_http_methods(["GET", "POST"])
@access_required(Perm.ISSUER_MANAGE_BACKING, issuer_kwarg="slug")
def backing_profile_edit(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _offering(issuer, public_id)
    initial, custodians = _profile_initial(offering)
    form = ProfileForm(request.POST or None, initial=initial)
    formset = CustodianFormSet(request.POST or None, initial=custodians, prefix="custodians")
    status = 200
    if request.method == "POST":
        if form.is_valid() and formset.is_valid():
            d = form.cleaned_data
            try:
                backing_profile_save(
                    offering=offering,
                    data=ProfileInput(
                        asset_kind=d["asset_kind"],
                        asset_details=d["asset_details"],
                        legal_structure=d["legal_structure"],
                        structure_name=d["structure_name"],
                        holder_claim=d["holder_claim"],
                        reserves_segregated=d["reserves_segregated"],
                        redemption_terms=d["redemption_terms"],
                        custodians=[
                            CustodianInput(name=f.cleaned_data.get("name", ""), role=f.cleaned_data.get("role", ""))
                            for f in formset
                            if f.cleaned_data.get("name")
                        ],
                    ),
                    actor=signed_in_user(request),
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, "The backing profile is saved.")
                return redirect("backing_overview", slug=issuer.slug, public_id=offering.public_id)
        status = 400
    return render(
        request,
        "backing/profile_form.html",
        _base(request, issuer, offering, form=form, formset=formset),
        status=status,
    )


@require_http_methods(["GET", "POST"])
@access_required(Perm.ISSUER_MANAGE_BACKING, issuer_kwarg="slug")
def backing_rule_edit(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _offering(issuer, public_id)
    rule = backing_rule_of(offering=offering)
    pending = backing_rule_change_pending(offering=offering)
    initial = (
        {
            "unit_code": rule.unit_code,
            "unit_scale": rule.unit_scale,
            "reserve_per_token": ratio_text(
                numerator=rule.reserve_per_token_numerator,
                denominator=rule.reserve_per_token_denominator,
                scale=rule.unit_scale,
            ).replace(",", ""),
            "staleness_days": rule.staleness_days,
        }
        if rule
        else {"unit_code": offering.currency, "unit_scale": 2, "staleness_days": 35}
    )
    form = RuleForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                backing_rule_propose(
                    offering=offering,
                    unit_code=d["unit_code"],
                    unit_scale=d["unit_scale"],
                    reserve_per_token=d["reserve_per_token"],
                    staleness_days=d["staleness_days"],
                    actor=signed_in_user(request),
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.info(
                    request,
                    f"The change is proposed. It applies once another admin of {issuer.name} approves it, here or on "
                    f"the approvals page; until then every mint of {offering.token_symbol} is checked against the "
                    "rule in force.",
                )
                return redirect("backing_rule_edit", slug=issuer.slug, public_id=offering.public_id)
        status = 400
    return render(
        request,
        "backing/rule_form.html",
        _base(
            request,
            issuer,
            offering,
            form=form,
            rule=rule,
            pending=pending,
            pending_text=rule_text(pending.payload["proposed"]) if pending else "",
            own_pending=pending is not None and pending.proposed_by_id == request.user.pk,
        ),
        status=status,
    )


@require_GET
@access_required(Perm.ISSUER_VIEW, issuer_kwarg="slug")
def reserve_statements(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _offering(issuer, public_id)
    return render(
        request,
        "backing/statements.html",
        _base(
            request,
            issuer,
            offering,
            statements=list(reserve_statements_of(offering=offering)[:200]),
            rule=backing_rule_of(offering=offering),
        ),
    )


def _no_rule(request: HttpRequest, issuer: Issuer, offering: Offering) -> HttpResponse:
    messages.warning(
        request, "Set the backing rule first: it declares the unit and decimal places the reserves are counted in."
    )
    return redirect("backing_rule_edit", slug=issuer.slug, public_id=offering.public_id)


@require_http_methods(["GET", "POST"])
@access_required(Perm.ISSUER_MANAGE_BACKING, issuer_kwarg="slug")
def reserve_statement_new(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _offering(issuer, public_id)
    rule = backing_rule_of(offering=offering)
    if rule is None:
        return _no_rule(request, issuer, offering)
    form = StatementForm(request.POST or None, request.FILES or None)
    formset = LineFormSet(request.POST or None, prefix="lines", form_kwargs={"scale": rule.unit_scale})
    status = 200
    if request.method == "POST":
        if form.is_valid() and formset.is_valid():
            d = form.cleaned_data
            lines = [
                LineInput(
                    asset_kind=f.cleaned_data["asset_kind"],
                    custodian=f.cleaned_data["custodian"],
                    amount=f.cleaned_data["amount_counts"],
                )
                for f in formset
                if f.cleaned_data.get("amount_counts") is not None
            ]
            try:
                statement = reserve_statement_propose(
                    offering=offering,
                    data=StatementInput(
                        as_of=d["as_of"],
                        period_start=d["period_start"],
                        period_end=d["period_end"],
                        attestor_name=d["attestor_name"],
                        attestor_kind=d["attestor_kind"],
                        lines=lines,
                    ),
                    document=d["document"],
                    actor=signed_in_user(request),
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.info(
                    request,
                    "The statement is recorded with its document. It counts once a second admin of "
                    f"{issuer.name} approves it, here or on the approvals page.",
                )
                return redirect("reserve_statement_detail", slug=issuer.slug, statement_id=statement.public_id)
        status = 400
    return render(
        request,
        "backing/statement_form.html",
        _base(request, issuer, offering, form=form, formset=formset, rule=rule),
        status=status,
    )


@require_http_methods(["GET", "POST"])
@access_required(Perm.ISSUER_MANAGE_BACKING, issuer_kwarg="slug")
def reserve_statement_import_page(request: HttpRequest, issuer: Issuer, public_id: Any) -> HttpResponse:
    offering = _offering(issuer, public_id)
    rule = backing_rule_of(offering=offering)
    if rule is None:
        return _no_rule(request, issuer, offering)
    form = ImportForm(request.POST or None, request.FILES or None)
    row_errors: list[str] = []
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                statement = reserve_statement_import(
                    offering=offering,
                    csv_file=form.cleaned_data["csv_file"],
                    document=form.cleaned_data["document"],
                    actor=signed_in_user(request),
                )
            except ImportRefused as exc:
                form.add_error(None, exc.message)
                row_errors = list(exc.extra.get("errors", []))
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.info(
                    request,
                    f"{statement.lines.count()} lines imported as one statement. It counts once a second admin of "
                    f"{issuer.name} approves it.",
                )
                return redirect("reserve_statement_detail", slug=issuer.slug, statement_id=statement.public_id)
        status = 400
    return render(
        request,
        "backing/statement_import.html",
        _base(request, issuer, offering, form=form, rule=rule, row_errors=row_errors, columns=CSV_COLUMNS),
        status=status,
    )


def _statement(issuer: Issuer, statement_id: Any) -> ReserveStatement:
    return get_object_or_404(
        ReserveStatement.objects.select_related(
            "offering__issuer", "entered_by", "approved_by", "approval_request", "supersedes"
        ),
        offering__issuer=issuer,
        public_id=statement_id,
    )


@require_GET
@access_required(Perm.ISSUER_VIEW, issuer_kwarg="slug")
def reserve_statement_detail(request: HttpRequest, issuer: Issuer, statement_id: Any) -> HttpResponse:
    statement = _statement(issuer, statement_id)
    user = signed_in_user(request)
    pending = statement.state == StatementState.PENDING and statement.approval_request is not None
    context = _base(
        request,
        issuer,
        statement.offering,
        statement=statement,
        lines=list(statement.lines.all()),
        chain=reserve_statement_chain(statement=statement, limit=12),
        superseded_by=ReserveStatement.objects.filter(supersedes=statement).first(),
        may_decide=pending and can(user, Perm.ISSUER_MANAGE_BACKING, issuer) and statement.entered_by_id != user.pk,
        own_pending=pending and statement.entered_by_id == user.pk,
    )
    return render(request, "backing/statement_detail.html", context)


@require_POST
@access_required(Perm.ISSUER_MANAGE_BACKING, issuer_kwarg="slug")
def reserve_statement_decide(request: HttpRequest, issuer: Issuer, statement_id: Any) -> HttpResponse:
    statement = _statement(issuer, statement_id)
    form = DecideForm(request.POST)
    back = redirect("reserve_statement_detail", slug=issuer.slug, statement_id=statement.public_id)
    if not form.is_valid() or statement.approval_request is None:
        messages.error(request, "Choose to approve or to decline the statement.")
        return back
    if statement.approval_request.state != ApprovalState.PENDING:
        messages.info(request, "This statement was already decided.")
        return back
    try:
        if form.cleaned_data["decision"] == "approve":
            approval_approve(request=statement.approval_request, actor=signed_in_user(request))
            messages.success(
                request,
                f"Approved: this is now {statement.offering.token_symbol}'s current reserve statement, and mints are "
                "checked against it.",
            )
        else:
            approval_reject(
                request=statement.approval_request, actor=signed_in_user(request), note=form.cleaned_data["note"]
            )
            messages.info(request, "Declined: the statement stays on record and never counts.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return back


@require_GET
@access_required(Perm.ISSUER_VIEW, issuer_kwarg="slug")
def reserve_statement_document(request: HttpRequest, issuer: Issuer, statement_id: Any) -> FileResponse:
    statement = _statement(issuer, statement_id)
    response = FileResponse(statement.document.open("rb"), content_type="application/pdf")
    name = f"{statement.offering.token_symbol}-reserves-{statement.as_of:%Y-%m-%d}-{statement.pk}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
