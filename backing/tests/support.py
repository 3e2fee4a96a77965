"""Backing test helpers: a rule set, a statement entered with its PDF and approved by a second admin."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from backing.models import BackingProfile, BackingRule, ReserveStatement
from backing.services.profile import CustodianInput, ProfileInput, backing_profile_save
from backing.services.rule import backing_rule_propose
from backing.services.statements import LineInput, StatementInput, reserve_statement_propose
from core.approvals import approval_approve
from core.models import Issuer, IssuerMembership, Role, User
from core.tests.files import pdf_bytes
from offerings.models import Offering
from registry.tests.support import second_admin


def attestation(text: str = "Attestation report") -> SimpleUploadedFile:
    return SimpleUploadedFile("attestation.pdf", pdf_bytes(text), "application/pdf")


def other_admin(issuer: Issuer, than: User) -> User:
    """An admin of the issuer other than `than`: one it has, or a new one."""
    membership = (
        IssuerMembership.objects.filter(issuer=issuer, role=Role.ISSUER_ADMIN).exclude(user=than).order_by("pk").first()
    )
    return membership.user if membership else second_admin(issuer)


def rule_set(
    offering: Offering,
    actor: User,
    *,
    per_token: str = "10.00",
    staleness_days: int = 35,
    approver: User | None = None,
) -> BackingRule:
    """The rule proposed by `actor` and approved by another admin of the issuer (four eyes)."""
    request = backing_rule_propose(
        offering=offering,
        unit_code="USD",
        unit_scale=2,
        reserve_per_token=per_token,
        staleness_days=staleness_days,
        actor=actor,
    )
    approval_approve(request=request, actor=approver or other_admin(offering.issuer, actor))
    return BackingRule.objects.get(offering=offering)


def statement_input(*amounts: int, as_of: dt.date | None = None, kinds: tuple[str, ...] = ()) -> StatementInput:
    as_of = as_of or timezone.localdate()
    return StatementInput(
        as_of=as_of,
        period_start=as_of - dt.timedelta(days=29),
        period_end=as_of,
        attestor_name="Moss & Partners LLP",
        attestor_kind="accounting_firm",
        lines=[
            LineInput(asset_kind=(kinds[n - 1] if kinds else "cash"), custodian=f"Custodian Bank {n}", amount=amount)
            for n, amount in enumerate(amounts, start=1)
        ],
    )


def statement_entered(
    offering: Offering, actor: User, *amounts: int, as_of: dt.date | None = None, kinds: tuple[str, ...] = ()
) -> ReserveStatement:
    return reserve_statement_propose(
        offering=offering,
        data=statement_input(*amounts, as_of=as_of, kinds=kinds),
        document=attestation(f"reserves {amounts} {as_of}"),
        actor=actor,
    )


def statement_approved(
    offering: Offering,
    actor: User,
    approver: User,
    *amounts: int,
    as_of: dt.date | None = None,
    kinds: tuple[str, ...] = (),
) -> ReserveStatement:
    statement = statement_entered(offering, actor, *amounts, as_of=as_of, kinds=kinds)
    assert statement.approval_request is not None
    approval_approve(request=statement.approval_request, actor=approver)
    statement.refresh_from_db()
    return statement


REDEMPTION_TERMS = "Holders may redeem monthly at the NAV of the dealing day, with 30 days of notice."


def profile_saved(offering: Offering, actor: User) -> BackingProfile:
    return backing_profile_save(
        offering=offering,
        data=ProfileInput(
            asset_kind="treasuries",
            asset_details="US Treasury bills under 6 months",
            legal_structure="spv",
            structure_name="Harbor Reserve SPV LLC",
            holder_claim="beneficial_interest",
            reserves_segregated=True,
            redemption_terms=REDEMPTION_TERMS,
            custodians=[CustodianInput(name="First Custody Bank", role="asset_custodian")],
        ),
        actor=actor,
    )
