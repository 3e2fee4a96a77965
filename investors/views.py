"""The investor's onboarding pages. Each step saves on its own; the investor can leave and return."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.access import Perm, access_required, signed_in_user
from core.errors import ApplicationError
from investors import forms
from investors.models import (
    AccreditationStatus,
    BeneficialOwner,
    InvestorDocument,
    InvestorProfile,
    KycStatus,
    Wallet,
)
from investors.selectors import (
    accreditation_current,
    bank_account_current,
    bank_accounts_history,
    document_content,
    documents_active,
    identity_documents_missing,
    investor_status,
    onboarding_steps,
    tax_form_current,
    wallets_active,
)
from investors.services.accreditation import (
    REQUIRED_EVIDENCE,
    accreditation_claim_start,
    accreditation_claim_submit,
    accreditation_missing,
)
from investors.services.bank_accounts import BankAccountInput, bank_account_add
from investors.services.documents import document_remove, document_upload
from investors.services.profiles import (
    EDITABLE_KYC_STATES,
    investor_details_save,
    investor_kind_set,
    investor_profile_ensure,
    owner_add,
    owner_remove,
    owners_declare_complete,
)
from investors.services.tax import tax_form_kind_for, tax_form_sign
from investors.services.wallets import wallet_remove

# Opening any onboarding page starts the visitor's investor profile, so roles that only read are kept out.
investor_page = access_required(Perm.INVESTOR_SELF, writes_on_get=True)


def _investor(request: HttpRequest) -> InvestorProfile:
    return investor_profile_ensure(user=signed_in_user(request))


def onboarding_context(investor: InvestorProfile, step: str) -> dict[str, Any]:
    """The progress indicator's numbers for a page of the onboarding."""
    steps = onboarding_steps(investor=investor)
    keys = [s.key for s in steps]
    position = keys.index(step) if step in keys else None
    done = sum(1 for s in steps if s.done)
    return {
        "investor": investor,
        "steps": steps,
        "current_step": step,
        "step_number": (position + 1) if position is not None else len(steps),
        "step_count": len(steps),
        "steps_done": done,
        "progress_percent": round(done * 20 / len(steps)) * 5,  # CSS has widths in steps of 5%
        "next_step": steps[position + 1] if position is not None and position + 1 < len(steps) else None,
        "editable": investor.kyc_status in EDITABLE_KYC_STATES,
    }


def _page(request: HttpRequest, template: str, investor: InvestorProfile, step: str, **context: Any) -> HttpResponse:
    return render(request, template, {**onboarding_context(investor, step), **context})


def _next(investor: InvestorProfile, after: str) -> HttpResponse:
    """The next step that still needs the investor (one already done is skipped), else the first one left
    undone earlier, else their status."""
    steps = onboarding_steps(investor=investor)
    keys = [s.key for s in steps]
    later = steps[keys.index(after) + 1 :] if after in keys else steps
    for step in [*later, *steps]:
        if not step.done and not step.optional and step.key != after:
            return redirect(step.url_name)
    return redirect("investor_status")


@require_http_methods(["GET", "POST"])
@investor_page
def onboarding_start(request: HttpRequest) -> HttpResponse:
    investor = _investor(request)
    form = forms.KindForm(request.POST or None, initial={"kind": investor.kind})
    if request.method == "POST" and form.is_valid():
        try:
            investor = investor_kind_set(
                investor=investor, actor=signed_in_user(request), kind=form.cleaned_data["kind"]
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            return _next(investor, "kind")
    return _page(request, "investors/start.html", investor, "kind", form=form)


@require_http_methods(["GET", "POST"])
@investor_page
def onboarding_details(request: HttpRequest) -> HttpResponse:
    investor = _investor(request)
    if not investor.kind:
        return redirect("onboarding_start")
    form_class = forms.EntityDetailsForm if investor.is_entity else forms.IndividualDetailsForm
    initial = {name: getattr(investor, name) for name in form_class.base_fields if hasattr(investor, name)}
    form = form_class(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            investor = investor_details_save(
                investor=investor, actor=signed_in_user(request), details=form.cleaned_data
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Your details are saved.")
            return _next(investor, "details")
    return _page(request, "investors/details.html", investor, "details", form=form)


@require_http_methods(["GET", "POST"])
@investor_page
def onboarding_owners(request: HttpRequest) -> HttpResponse:
    investor = _investor(request)
    if not investor.is_entity:
        return redirect("onboarding_details")
    form = forms.OwnerForm(request.POST if request.POST.get("action") == "add" else None)
    if request.method == "POST":
        actor = signed_in_user(request)
        try:
            if request.POST.get("action") == "declare":
                owners_declare_complete(investor=investor, actor=actor)
                messages.success(request, "The list of owners is saved.")
                return _next(investor, "owners")
            if form.is_valid():
                owner_add(investor=investor, actor=actor, data=form.owner_data())
                messages.success(request, f"{form.cleaned_data['full_name']} was added.")
                return redirect("onboarding_owners")
        except ApplicationError as exc:
            if request.POST.get("action") == "declare":
                messages.error(request, exc.message)
            else:
                form.add_error(None, exc.message)
    return _page(request, "investors/owners.html", investor, "owners", form=form, owners=list(investor.owners.all()))


@require_POST
@investor_page
def onboarding_owner_remove(request: HttpRequest, owner_id: int) -> HttpResponse:
    investor = _investor(request)
    owner = get_object_or_404(BeneficialOwner, pk=owner_id, investor=investor)
    try:
        owner_remove(owner=owner, actor=signed_in_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{owner.full_name} was removed.")
    return redirect("onboarding_owners")


@require_http_methods(["GET", "POST"])
@investor_page
def onboarding_documents(request: HttpRequest) -> HttpResponse:
    investor = _investor(request)
    if not investor.kind:
        return redirect("onboarding_start")
    owners = [(o.pk, o.full_name) for o in investor.owners.all()] if investor.is_entity else []
    form = forms.DocumentForm(request.POST or None, request.FILES or None, owners=owners)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        owner = investor.owners.filter(pk=data["owner"]).first() if data.get("owner") else None
        try:
            document_upload(
                investor=investor,
                actor=signed_in_user(request),
                kind=data["kind"],
                upload=data["file"],
                owner=owner,
                document_number=data.get("document_number", ""),
                issuing_country=data.get("issuing_country", ""),
                expires_on=data.get("expires_on"),
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "The document was uploaded.")
            return redirect("onboarding_documents")
    return _page(
        request,
        "investors/documents.html",
        investor,
        "documents",
        form=form,
        documents=documents_active(investor=investor).filter(claim__isnull=True),
        missing=identity_documents_missing(investor=investor),
    )


@require_POST
@investor_page
def onboarding_document_remove(request: HttpRequest, public_id: str) -> HttpResponse:
    investor = _investor(request)
    document = get_object_or_404(InvestorDocument, public_id=public_id, investor=investor, removed_at__isnull=True)
    try:
        document_remove(document=document, actor=signed_in_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The document was withdrawn.")
    if document.claim_id is not None:
        return redirect("onboarding_accreditation")
    return redirect("onboarding_documents")


@investor_page
def investor_document_file(request: HttpRequest, public_id: str) -> HttpResponseBase:
    """The investor's own file; never from a public URL."""
    document = InvestorDocument.objects.filter(public_id=public_id, investor__user=signed_in_user(request)).first()
    if document is None:
        raise Http404("No such document.")
    return document_response(document)


def document_response(document: InvestorDocument) -> HttpResponseBase:
    try:
        content = document_content(document=document)
    except FileNotFoundError as exc:
        raise Http404("The file is missing from storage.") from exc
    response = HttpResponse(content, content_type=document.content_type)
    extension = (document.file.name or "").rsplit(".", 1)[-1]
    response["Content-Disposition"] = f'inline; filename="{document.public_id}.{extension}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_http_methods(["GET", "POST"])
@investor_page
def onboarding_accreditation(request: HttpRequest) -> HttpResponse:
    investor = _investor(request)
    if not investor.kind:
        return redirect("onboarding_start")
    actor = signed_in_user(request)
    claim = accreditation_current(investor=investor)
    action = request.POST.get("action")
    claim_form = forms.AccreditationForm(request.POST if action == "claim" else None, is_entity=investor.is_entity)
    evidence_kinds = [k for k, _ in REQUIRED_EVIDENCE[claim.method]] if claim else []
    evidence_form = forms.EvidenceForm(
        request.POST if action == "evidence" else None,
        request.FILES if action == "evidence" else None,
        kinds=evidence_kinds,
    )
    if request.method == "POST":
        try:
            if action == "claim" and claim_form.is_valid():
                claim = accreditation_claim_start(
                    investor=investor,
                    actor=actor,
                    method=claim_form.cleaned_data["method"],
                    figures=claim_form.figures(),
                    attested=claim_form.cleaned_data["attested"],
                )
                messages.success(request, "Your accreditation claim is saved.")
                return redirect("onboarding_accreditation")
            if action == "evidence" and claim is not None and evidence_form.is_valid():
                document_upload(
                    investor=investor,
                    actor=actor,
                    kind=evidence_form.cleaned_data["kind"],
                    upload=evidence_form.cleaned_data["file"],
                    claim=claim,
                    document_date=evidence_form.cleaned_data.get("document_date"),
                )
                messages.success(request, "The evidence was uploaded.")
                return redirect("onboarding_accreditation")
            if action == "submit" and claim is not None:
                accreditation_claim_submit(claim=claim, actor=actor)
                messages.success(request, "Your claim was sent for review.")
                return _next(investor, "accreditation")
        except ApplicationError as exc:
            (evidence_form if action == "evidence" else claim_form).add_error(None, exc.message)
            if action == "submit":
                messages.error(request, exc.message)
    return _page(
        request,
        "investors/accreditation.html",
        investor,
        "accreditation",
        claim=claim,
        claim_form=claim_form,
        evidence_form=evidence_form,
        missing=accreditation_missing(claim=claim) if claim else [],
        evidence=claim.documents.filter(removed_at__isnull=True) if claim else [],
        collecting=claim is not None and claim.status in {AccreditationStatus.DRAFT, AccreditationStatus.MORE_INFO},
    )


@require_http_methods(["GET", "POST"])
@investor_page
def onboarding_tax(request: HttpRequest) -> HttpResponse:
    investor = _investor(request)
    if "details" not in investor.steps_saved:
        messages.info(request, "Fill in your details first; they decide which tax form applies.")
        return redirect("onboarding_details")
    kind = tax_form_kind_for(investor)
    form = forms.TaxFormForm(request.POST or None, kind=kind)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            tax_form_sign(
                investor=investor,
                actor=signed_in_user(request),
                kind=kind,
                signer_name=data["signer_name"],
                signed_on=data["signed_on"],
                tin_certified=data["tin_certified"],
                not_subject_to_backup_withholding=data["not_subject_to_backup_withholding"],
                foreign_tin=data.get("foreign_tin", ""),
                treaty_country=data.get("treaty_country", ""),
                treaty_article=data.get("treaty_article", ""),
                treaty_rate_bps=form.treaty_rate_bps(),
                chapter_4_status=data.get("chapter_4_status", ""),
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Your tax form is signed.")
            return _next(investor, "tax")
    return _page(
        request,
        "investors/tax.html",
        investor,
        "tax",
        form=form,
        form_kind=kind,
        current=tax_form_current(investor=investor),
    )


@investor_page
def onboarding_wallets(request: HttpRequest) -> HttpResponse:
    investor = _investor(request)
    return _page(
        request,
        "investors/wallets.html",
        investor,
        "wallets",
        wallets=investor_status(investor=investor).wallets,
        challenge_url=reverse("api_wallet_challenge"),
        link_url=reverse("api_wallet_link"),
    )


@require_POST
@investor_page
def onboarding_wallet_remove(request: HttpRequest, wallet_id: int) -> HttpResponse:
    investor = _investor(request)
    wallet = get_object_or_404(Wallet, pk=wallet_id, investor=investor, removed_at__isnull=True)
    try:
        wallet_remove(wallet=wallet, actor=signed_in_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Wallet {wallet.address} was unlinked.")
    return redirect("onboarding_wallets")


@investor_page
def investor_status_page(request: HttpRequest) -> HttpResponse:
    investor = _investor(request)
    return _page(
        request,
        "investors/status.html",
        investor,
        "status",
        status=investor_status(investor=investor),
        wallets_count=wallets_active(investor=investor).count(),
        kyc_approved=investor.kyc_status == KycStatus.APPROVED,
    )


@require_http_methods(["GET", "POST"])
@investor_page
def investor_bank_account(request: HttpRequest) -> HttpResponse:
    """The investor's bank details for cash distributions: shown masked, replaced by new ones (never edited)."""
    investor = _investor(request)
    form = forms.BankAccountForm(request.POST or None, initial={"holder_name": investor.legal_name})
    if request.method == "POST" and form.is_valid():
        try:
            account = bank_account_add(
                investor=investor, actor=signed_in_user(request), data=BankAccountInput(**form.cleaned_data)
            )
        except ApplicationError as exc:
            field = exc.extra.get("field")
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                f"Saved: distributions in cash are now paid to the account ending {account.last4}. "
                "Payments already on their way still go to the account they were sent to.",
            )
            return redirect("investor_bank_account")
    return render(
        request,
        "investors/bank_account.html",
        {
            "investor": investor,
            "form": form,
            "current": bank_account_current(investor=investor),
            "history": bank_accounts_history(investor=investor)[:20],
        },
    )
