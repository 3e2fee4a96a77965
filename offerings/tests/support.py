"""Building offerings in tests, the one place for it: terms, drafts with their documents, published offerings.

Investors come from `investors.tests.support`, subscriptions from `subscribed` below."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from compliance.exemptions import Exemption
from core.models import Issuer, User
from core.tests.files import pdf_bytes
from investors.models import InvestorProfile
from offerings.models import DocumentKind, Offering, Subscription
from offerings.selectors.offerings import current_documents
from offerings.services.documents import document_upload
from offerings.services.offerings import OfferingInput, offering_create, offering_publish
from offerings.services.subscriptions import subscription_create, subscription_sign
from offerings.services.wires import wire_receipt_record
from tokens.tests.support import registry_deployed


def pdf(text: str = "terms") -> bytes:
    return pdf_bytes(text)


def offering_input(**overrides: Any) -> OfferingInput:
    now = timezone.now()
    values: dict[str, Any] = {
        "title": "Harbor Street Class A",
        "security_type": "equity",
        "exemption": Exemption.REG_D_506C,
        "currency": "USD",
        "price_minor": 10_00,
        "min_investment_minor": 1_000_00,
        "max_investment_minor": None,
        "soft_cap_minor": 5_000_00,
        "hard_cap_minor": 100_000_00,
        # Published at once: an offering opens at its publication at the earliest.
        "opens_at": now,
        "closes_at": now + dt.timedelta(days=30),
        "token_name": "Harbor Street Class A",
        "token_symbol": "HSCA",
        "allowed_countries": (),
        "blocked_countries": (),
        "rules": None,
    }
    values.update(overrides)
    return OfferingInput(**values)


def offering_draft(issuer: Issuer, actor: User, **overrides: Any) -> Offering:
    offering = offering_create(issuer=issuer, actor=actor, data=offering_input(**overrides))
    document_upload(
        offering=offering,
        actor=actor,
        kind=DocumentKind.SUBSCRIPTION_AGREEMENT,
        title="Subscription agreement",
        upload=SimpleUploadedFile("agreement.pdf", pdf("agreement"), "application/pdf"),
    )
    document_upload(
        offering=offering,
        actor=actor,
        kind=DocumentKind.PPM,
        title="Private placement memorandum",
        upload=SimpleUploadedFile("ppm.pdf", pdf("ppm"), "application/pdf"),
    )
    if offering.exemption == Exemption.REG_CF:
        document_upload(
            offering=offering,
            actor=actor,
            kind=DocumentKind.FORM_C,
            title="Form C",
            upload=SimpleUploadedFile("form-c.pdf", pdf("form c"), "application/pdf"),
        )
    return offering


def offering_open(issuer: Issuer, actor: User, **overrides: Any) -> Offering:
    """Published without a chain: the registry's deployment is recorded as the pipeline would."""
    offering = offering_draft(issuer, actor, **overrides)
    registry_deployed()
    return offering_publish(offering=offering, actor=actor)


def subscribed(
    offering: Offering,
    investor: InvestorProfile,
    amount_minor: int,
    *,
    ip_address: str = "127.0.0.1",
    user_agent: str = "test",
) -> Subscription:
    """A subscription the investor created and signed, accepting the offering's current documents."""
    subscription = subscription_create(
        offering=offering, investor=investor, actor=investor.user, amount_minor=amount_minor
    )
    return subscription_sign(
        subscription=subscription,
        actor=investor.user,
        accepted_document_ids=[d.pk for d in current_documents(offering=offering)],
        ip_address=ip_address,
        user_agent=user_agent,
    )


_bank_references = itertools.count(1)


def bank_reference_new() -> str:
    """A bank's own reference of one wire, different for every wire a test records."""
    return f"FED{next(_bank_references):010d}"


def wire_received(issuer: Issuer, actor: User, subscription: Subscription, amount_minor: int) -> None:
    """The issuer records a wire for the subscription's reference, received today."""
    wire_receipt_record(
        issuer=issuer,
        actor=actor,
        reference=subscription.wire_reference,
        amount_minor=amount_minor,
        currency="USD",
        received_on=timezone.localdate(),
        bank_reference=bank_reference_new(),
    )


def offering_in_time(offering: Offering, *, opened_at: dt.datetime, closes_at: dt.datetime | None = None) -> Offering:
    """Time has passed: the offering was published and opened at `opened_at` (and closes at `closes_at`)."""
    changes: dict[str, Any] = {"opens_at": opened_at, "published_at": opened_at}
    if closes_at is not None:
        changes["closes_at"] = closes_at
    Offering.objects.filter(pk=offering.pk).update(**changes)
    offering.refresh_from_db()
    return offering
