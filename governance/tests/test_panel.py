"""An offering's dashboard leads its admins to the token's ballots."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from core.tests.support import Cast
from offerings.tests.support import offering_draft

pytestmark = pytest.mark.django_db


def test_the_dashboard_offers_the_admin_to_create_a_ballot_and_the_link_opens_the_form(cast: Cast) -> None:
    offering = offering_draft(cast.issuer, cast.admin)
    client = Client()
    client.force_login(cast.admin)
    page = client.get(reverse("offering_dashboard", args=[cast.issuer.slug, offering.public_id])).content.decode()
    create = reverse("ballot_create", args=[cast.issuer.slug])
    assert 'id="ballots-title"' in page and create in page
    form = client.get(create).content.decode()
    assert "Create the ballot" in form and offering.title in form
    assert client.get(reverse("ballot_list", args=[cast.issuer.slug])).status_code == 200
