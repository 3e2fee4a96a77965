"""The issuer admin reads the cap table in a browser: holders, the charts drawn from the embedded figures,
sorting by a column header, filtering, and a holder's page; on a phone-sized screen too."""

from __future__ import annotations

import pytest
from django.test import Client

from offerings.tests.support import offering_open
from registry.tests.test_cap_table import register_build

pytestmark = [pytest.mark.browser, pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def _signed_in(browser, live_server, user, *, width: int = 1280, height: int = 900):
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def test_the_admin_sorts_filters_and_reads_the_charts(cast, chain_settings, registry, live_server, browser, settings):
    settings.ALLOWED_HOSTS = ["*"]
    reg = register_build(cast, offering_open(cast.issuer, cast.admin))
    page = _signed_in(browser, live_server, cast.admin)
    page.goto(f"{live_server.url}/issuers/harbor/offerings/")
    page.get_by_role("link", name="Cap table").first.click()
    page.wait_for_selector("#cap-table")
    names = page.locator("#cap-table tbody tr td:first-child a").all_inner_texts()
    assert names[:3] == ["Alice Archer", "Bob Brandt", "Carol Chen"]
    # Every chart was drawn by Chart.js from the figures the server embedded.
    for chart in ("chart-concentration", "chart-countries", "chart-exemptions", "chart-history"):
        assert page.evaluate(f"() => !!window.Chart.getChart('{chart}')"), chart
    assert page.locator("#stat-record").inner_text() == "4"

    page.get_by_role("link", name="Holder", exact=True).click()
    page.wait_for_url("**sort=name**")
    assert page.locator("th[aria-sort=ascending]").inner_text().startswith("Holder")

    page.select_option("#id_country", "DE")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**country=DE**")
    assert page.locator("#cap-table tbody tr td:first-child a").all_inner_texts() == ["Bob Brandt"]

    page.get_by_role("link", name="Bob Brandt").click()
    page.wait_for_selector("#holder-lots")
    assert page.locator("#holder-quantity").inner_text().startswith("250")
    assert reg.bob.user.email in page.content()


def test_the_cap_table_fits_a_phone(cast, chain_settings, registry, live_server, browser, settings):
    settings.ALLOWED_HOSTS = ["*"]
    reg = register_build(cast, offering_open(cast.issuer, cast.admin))
    page = _signed_in(browser, live_server, cast.agent, width=390, height=844)
    page.goto(f"{live_server.url}/issuers/harbor/offerings/{reg.offering.public_id}/cap-table/")
    page.wait_for_selector("#cap-table")
    # The page itself does not scroll sideways; the wide table scrolls inside its own box.
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.locator("#holder-count-policy").count() == 0  # the transfer agent reads only
