"""Regulation CF, exactly: the 48-hour cancellation cut-off for every commitment, the deadline investors are
shown is the one that holds, and the 21 days open count from publication, never from a backdated opening."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from compliance.exemptions import Exemption
from core.errors import ApplicationError, Conflict
from core.tests.support import Cast
from investors.tests.support import verified_investor
from offerings.models import DocumentKind, Offering, OfferingStatus, SubscriptionStatus
from offerings.services.closing import offering_close
from offerings.services.documents import document_upload
from offerings.services.offerings import offering_publish
from offerings.services.subscriptions import subscription_cancel, subscription_create
from offerings.tests.support import offering_draft, offering_in_time, offering_open, pdf, subscribed
from tokens.tests.support import registry_deployed

pytestmark = pytest.mark.django_db


def _reg_cf(cast: Cast, **overrides: object) -> Offering:
    values: dict[str, object] = {
        "exemption": Exemption.REG_CF,
        "min_investment_minor": 100_00,
        "closes_at": timezone.now() + dt.timedelta(days=30),
    }
    values.update(overrides)
    return offering_open(cast.issuer, cast.admin, **values)


def _page(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_an_unpaid_commitment_cannot_be_cancelled_in_the_last_48_hours(cast: Cast) -> None:
    offering = _reg_cf(cast)
    investor = verified_investor(accreditation="self_certified")
    committed = subscription_create(offering=offering, investor=investor, actor=investor.user, amount_minor=500_00)
    deadline = timezone.now() + dt.timedelta(hours=30)
    offering = offering_in_time(offering, opened_at=timezone.now() - dt.timedelta(days=25), closes_at=deadline)

    with pytest.raises(Conflict) as refused:
        subscription_cancel(subscription=committed, actor=investor.user)

    assert "48 hours before the deadline" in refused.value.message
    committed.refresh_from_db()
    assert committed.status == SubscriptionStatus.COMMITTED
    page = _page(investor.user, f"/subscriptions/{committed.public_id}/")
    assert f"Cancellation closed on {deadline - dt.timedelta(hours=48):%d %B %Y at %H:%M} UTC" in page
    assert f"deadline ({deadline:%d %B %Y at %H:%M} UTC)" in page
    assert "Cancel subscription" not in page


def test_a_commitment_may_be_cancelled_before_the_cut_off_and_the_pages_show_the_dates(cast: Cast) -> None:
    offering = _reg_cf(cast)
    investor = verified_investor(accreditation="self_certified")
    signed = subscribed(offering, investor, 500_00)
    cut_off = offering.closes_at - dt.timedelta(hours=48)

    status_page = _page(investor.user, f"/subscriptions/{signed.public_id}/")
    detail_page = _page(investor.user, f"/offerings/{offering.public_id}/")

    assert f"You may cancel until {cut_off:%-d %b %Y %H:%M} UTC" in status_page
    assert f"The offering's deadline is {offering.closes_at:%-d %b %Y %H:%M} UTC" in status_page
    assert f"until {cut_off:%-d %b %Y %H:%M} UTC, 48 hours before the deadline of" in detail_page
    subscription_cancel(subscription=signed, actor=investor.user)
    signed.refresh_from_db()
    assert signed.status == SubscriptionStatus.CANCELLED


def test_the_issuer_cannot_close_a_reg_cf_offering_before_the_deadline_investors_were_shown(cast: Cast) -> None:
    offering = _reg_cf(cast)
    offering = offering_in_time(offering, opened_at=timezone.now() - dt.timedelta(days=25))

    with pytest.raises(ApplicationError) as refused:
        offering_close(offering=offering, actor=cast.admin)

    assert "the offering closes then" in refused.value.message
    assert f"{offering.closes_at:%d %B %Y at %H:%M} UTC" in refused.value.message
    offering.refresh_from_db()
    assert offering.status == "open"


def test_an_offering_cannot_be_published_with_an_opening_date_in_the_past(cast: Cast) -> None:
    registry_deployed()
    draft = offering_draft(cast.issuer, cast.admin, opens_at=timezone.now() - dt.timedelta(days=2))

    with pytest.raises(ApplicationError) as refused:
        offering_publish(offering=draft, actor=cast.admin)

    assert "has passed; an offering opens when it is published or later" in refused.value.message
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.published_at is None


def test_an_opening_typed_a_minute_ago_opens_at_publication(cast: Cast) -> None:
    registry_deployed()
    draft = offering_draft(cast.issuer, cast.admin, opens_at=timezone.now() - dt.timedelta(minutes=1))

    published = offering_publish(offering=draft, actor=cast.admin)

    assert published.opens_at == published.published_at
    page = _page(cast.admin, f"/offerings/{published.public_id}/")
    assert f"{published.published_at:%-d %b %Y %H:%M} UTC to" in page


def test_the_21_days_count_from_publication(cast: Cast) -> None:
    registry_deployed()
    opens = timezone.now() - dt.timedelta(minutes=5)
    draft = offering_draft(
        cast.issuer,
        cast.admin,
        exemption=Exemption.REG_CF,
        min_investment_minor=100_00,
        opens_at=opens,
        closes_at=opens + dt.timedelta(days=21, minutes=1),
    )

    with pytest.raises(ApplicationError) as refused:
        offering_publish(offering=draft, actor=cast.admin)

    assert "stay open at least 21 days from publication" in refused.value.message


def test_closing_counts_the_21_days_from_publication_not_a_backdated_opening(cast: Cast) -> None:
    offering = _reg_cf(cast)
    # Published three days ago with an opening date a month earlier (as older offerings could be).
    offering = offering_in_time(
        offering, opened_at=timezone.now() - dt.timedelta(days=3), closes_at=timezone.now() - dt.timedelta(hours=1)
    )
    Offering.objects.filter(pk=offering.pk).update(opens_at=timezone.now() - dt.timedelta(days=30))
    offering.refresh_from_db()

    with pytest.raises(ApplicationError) as refused:
        offering_close(offering=offering, actor=cast.admin)

    assert "no earlier than 21 days after opening" in refused.value.message


def test_a_reg_cf_offering_is_published_only_with_its_form_c(cast: Cast) -> None:
    draft = offering_draft(
        cast.issuer,
        cast.admin,
        exemption=Exemption.REG_CF,
        min_investment_minor=100_00,
        closes_at=timezone.now() + dt.timedelta(days=30),
    )
    draft.documents.filter(kind=DocumentKind.FORM_C).delete()
    registry_deployed()

    with pytest.raises(ApplicationError) as refused:
        offering_publish(offering=draft, actor=cast.admin)
    assert refused.value.code == "form_c_missing" and "Upload the Form C" in refused.value.message
    draft.refresh_from_db()
    assert draft.status == OfferingStatus.DRAFT

    client = Client()
    client.force_login(cast.admin)
    page = client.post(f"/issuers/{cast.issuer.slug}/offerings/{draft.public_id}/publish/", follow=True)
    assert "Upload the Form C" in page.content.decode()
    draft.refresh_from_db()
    assert draft.status == OfferingStatus.DRAFT

    document_upload(
        offering=draft,
        actor=cast.admin,
        kind=DocumentKind.FORM_C,
        title="Form C",
        upload=SimpleUploadedFile("form-c.pdf", pdf("form c"), "application/pdf"),
    )
    assert offering_publish(offering=draft, actor=cast.admin).status == OfferingStatus.OPEN
