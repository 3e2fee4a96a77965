"""Registry test helpers: an issuer authorization recorded and, when it raises the quantity, approved."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from core.approvals import approval_approve
from core.models import Issuer, Role, User
from core.tests.factories import MembershipFactory
from core.tests.files import pdf_bytes
from offerings.models import Offering
from registry.models import IssuerAuthorization
from registry.services.control_book import authorization_propose


def resolution(text: str = "Board resolution") -> SimpleUploadedFile:
    return SimpleUploadedFile("resolution.pdf", pdf_bytes(text), "application/pdf")


def second_admin(issuer: Issuer) -> User:
    """Another admin of the issuer, for the second pair of eyes."""
    membership = MembershipFactory.create(issuer=issuer, role=Role.ISSUER_ADMIN)
    return membership.user


def authorized(
    offering: Offering,
    quantity: int,
    *,
    actor: User,
    approver: User | None = None,
    authorized_on: dt.date = dt.date(2026, 11, 2),
) -> IssuerAuthorization:
    """The authorization in effect: proposed by `actor` and, if it waits for one, approved by `approver`."""
    outcome = authorization_propose(
        offering=offering,
        authorized_quantity=quantity,
        description="Board resolution: Class A units authorized",
        document=resolution(),
        authorized_on=authorized_on,
        actor=actor,
    )
    if outcome.pending:
        assert outcome.request is not None
        approval_approve(request=outcome.request, actor=approver or second_admin(offering.issuer))
        return IssuerAuthorization.objects.get(pk=outcome.request.payload["authorization_id"])
    return outcome.result
