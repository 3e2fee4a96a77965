"""The tabs above an offering's issuer pages lead only to pages the reader may open."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from core.tests.support import Cast
from offerings.tests.support import offering_draft


def _get(user, url: str):
    client = Client()
    client.force_login(user)
    return client.get(url)


def test_the_terms_tab_of_a_draft_shows_only_to_those_who_may_edit_the_terms(cast: Cast) -> None:
    offering = offering_draft(cast.issuer, cast.admin)
    dashboard = reverse("offering_dashboard", args=[cast.issuer.slug, offering.public_id])
    terms = reverse("offering_edit", args=[cast.issuer.slug, offering.public_id])
    assert terms in _get(cast.admin, dashboard).content.decode()
    for reader in (cast.agent, cast.compliance):
        page = _get(reader, dashboard)
        assert page.status_code == 200
        assert terms not in page.content.decode()
        assert _get(reader, terms).status_code == 403
