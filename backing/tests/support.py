"""Backing test helpers: a rule set, a statement entered with its PDF and approved by a second admin."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from backing.models import BackingRule, ReserveStatement
from backing.services.profile import backing_rule_save
from backing.services.statements import LineInput, StatementInput, reserve_statement_propose
from core.approvals import approval_approve
from core.models import User
from core.tests.files import pdf_bytes
from offerings.models import Offering


def attestation(text: str = "Attestation report") -> SimpleUploadedFile:
    return SimpleUploadedFile("attestation.pdf", pdf_bytes(text), "application/pdf")


def rule_set(offering: Offering, actor: User, *, per_token: str = "10.00", staleness_days: int = 35) -> BackingRule:
    return backing_rule_save(
        offering=offering,
        unit_code="USD",
        unit_scale=2,
        reserve_per_token=per_token,
        staleness_days=staleness_days,
        actor=actor,
    )


def statement_input(*amounts: int, as_of: dt.date | None = None) -> StatementInput:
    as_of = as_of or timezone.localdate()
    return StatementInput(
        as_of=as_of,
        period_start=as_of - dt.timedelta(days=29),
        period_end=as_of,
        attestor_name="Moss & Partners LLP",
        attestor_kind="accounting_firm",
        lines=[
            LineInput(asset_kind="cash", custodian=f"Custodian Bank {n}", amount=amount)
            for n, amount in enumerate(amounts, start=1)
        ],
    )


def statement_entered(offering: Offering, actor: User, *amounts: int, as_of: dt.date | None = None) -> ReserveStatement:
    return reserve_statement_propose(
        offering=offering,
        data=statement_input(*amounts, as_of=as_of),
        document=attestation(f"reserves {amounts} {as_of}"),
        actor=actor,
    )


def statement_approved(
    offering: Offering, actor: User, approver: User, *amounts: int, as_of: dt.date | None = None
) -> ReserveStatement:
    statement = statement_entered(offering, actor, *amounts, as_of=as_of)
    assert statement.approval_request is not None
    approval_approve(request=statement.approval_request, actor=approver)
    statement.refresh_from_db()
    return statement
