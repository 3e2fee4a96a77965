"""Each role signs in and walks its main journey at a desktop and a phone viewport. On every page: nothing runs
past the viewport (`scrollWidth <= innerWidth`), axe-core (from npm, put into the page by the test) finds no
serious or critical violation, the console shows no error (a Content-Security-Policy refusal is one), no word is
said twice in a row nor a help line twice (core.tests.words), no button breaks a word across lines, and the role's
home shows its work. Screenshots of each home go to var/screenshots/ (not committed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from core.approvals import four_eyes_threshold_propose
from core.models import Role
from core.tests.factories import MembershipFactory
from core.tests.support import Cast
from core.tests.words import page_problems
from investors.tests.support import verified_investor
from offerings.services.wires import wire_receipt_record
from offerings.tests.support import bank_reference_new, offering_open, subscribed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@dataclass
class World:
    cast: Cast
    offering_id: str
    subscription_id: str


@pytest.fixture
def world(cast: Cast, settings) -> World:
    settings.ALLOWED_HOSTS = ["*"]
    offering = offering_open(cast.issuer, cast.admin, title="Harbor Street Class A")
    investor = verified_investor(user=cast.investor, name="Alice Marchetti", accreditation="verified")
    subscription = subscribed(offering, investor, 2_000_00)
    wire_receipt_record(
        issuer=cast.issuer,
        actor=cast.admin,
        reference="UNKNOWN-REF",
        amount_minor=1_500_00,
        currency="USD",
        received_on=timezone.localdate(),
        bank_reference=bank_reference_new(),
    )
    second = MembershipFactory.create(issuer=cast.issuer, role=Role.ISSUER_ADMIN).user
    four_eyes_threshold_propose(issuer=cast.issuer, actor=second, threshold_minor=1_000_000_00)
    return World(cast=cast, offering_id=str(offering.public_id), subscription_id=str(subscription.public_id))


@dataclass
class Findings:
    console: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_as(browser, live_server, viewport: str) -> Iterator[object]:
    contexts = []

    def open_as(user) -> tuple[object, Findings]:
        client = Client()
        client.force_login(user)
        context = browser.new_context(viewport=VIEWPORTS[viewport])
        # axe-core from npm, put into every page before its own scripts (the page's policy does not apply to it).
        context.add_init_script(path=str(AXE))
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        findings = Findings()
        page.on("console", lambda m: findings.console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: findings.console.append(str(e)))
        return page, findings

    yield open_as
    for context in contexts:
        context.close()


def _check(page, findings: Findings, path: str) -> None:
    """The page's own problems, gathered for one assertion at the end of the journey."""
    page.wait_for_load_state("load")
    where = f"{path} ({page.viewport_size['width']}px)"
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1]:
        # What sticks out past the right edge outside any scrolling box: the first few, to say where to look.
        wide = page.evaluate(
            """() => {
              const clipped = (e) => { for (let p = e.parentElement; p; p = p.parentElement) {
                if (getComputedStyle(p).overflowX !== 'visible') return true; } return false; };
              return [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !clipped(e))
                .slice(0, 3).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').trim().slice(0, 40));
            }"""
        )
        findings.problems.append(f"{where}: {width[0]}px wide in a {width[1]}px viewport: {wide}")
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .filter(v => v.impact === 'serious' || v.impact === 'critical')
             .map(v => v.id + ': ' + v.nodes.slice(0, 2).map(n => n.target.join(' ')).join(' | '))"""
    )
    findings.problems += [f"{where}: axe {v}" for v in violations]
    findings.problems += [f"{where}: console {c}" for c in findings.console]
    findings.problems += [f"{where}: {p}" for p in page_problems(page.content())]
    # A button's label may wrap between words, never inside one: each word of it sits on one line. The API
    # documentation's operation rows (Swagger UI's buttons, each an endpoint's whole path) are left out: a path
    # longer than a phone is wide has to wrap inside itself.
    broken = page.evaluate(
        """() => [...document.querySelectorAll('.btn, button')]
           .filter(b => b.offsetParent !== null && !b.closest('.swagger-ui')).flatMap(b => {
             const found = [];
             const walker = document.createTreeWalker(b, NodeFilter.SHOW_TEXT);
             for (let node = walker.nextNode(); node; node = walker.nextNode()) {
               for (const m of node.textContent.matchAll(/\\S+/g)) {
                 const range = document.createRange();
                 range.setStart(node, m.index);
                 range.setEnd(node, m.index + m[0].length);
                 const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                 if (tops.size > 1) found.push(b.textContent.trim().slice(0, 40) + ' breaks ' + m[0]);
               }
             }
             return found;
           })"""
    )
    findings.problems += [f"{where}: button {b}" for b in broken]
    findings.console.clear()


def _walk(page, findings: Findings, base: str, paths: list[str]) -> None:
    for path in paths:
        response = page.goto(base + path)
        assert response is not None and response.status < 400, f"{path}: {response and response.status}"
        _check(page, findings, path)


def _home(page, findings: Findings, base: str, role: str, viewport: str) -> None:
    page.goto(base + "/dashboard/")
    _check(page, findings, "/dashboard/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"home-{role}-{viewport}.png"), full_page=True)


def test_an_investor_walks_from_home_to_an_offering_and_their_portfolio(world, live_server, open_as, viewport):
    page, findings = open_as(world.cast.investor)
    _home(page, findings, live_server.url, "investor", viewport)
    assert page.get_by_role("heading", name="Your investor account").is_visible()
    _walk(
        page,
        findings,
        live_server.url,
        [
            "/offerings/",
            f"/offerings/{world.offering_id}/",
            f"/offerings/{world.offering_id}/subscribe/",
            "/portfolio/",
        ],
    )
    page.goto(f"{live_server.url}/offerings/{world.offering_id}/subscribe/")
    assert page.locator("#in-progress-next").inner_text() == "Pay"
    assert not findings.problems, "\n".join(findings.problems)


def test_an_issuer_admin_sees_what_waits_for_them_and_reaches_it(world, live_server, open_as, viewport):
    page, findings = open_as(world.cast.admin)
    _home(page, findings, live_server.url, "issuer-admin", viewport)
    waiting = page.locator(f"#home-{world.cast.issuer.slug}-waiting")
    assert "1 wire to match" in waiting.inner_text() and "second person" in waiting.inner_text()
    assert "Harbor Street Class A" in page.locator("[data-raising]").first.inner_text()
    slug = world.cast.issuer.slug
    _walk(
        page,
        findings,
        live_server.url,
        [
            f"/issuers/{slug}/offerings/{world.offering_id}/dashboard/",
            f"/issuers/{slug}/offerings/",
            f"/issuers/{slug}/wires/",
            f"/issuers/{slug}/approvals/",
            f"/issuers/{slug}/",
        ],
    )
    assert not findings.problems, "\n".join(findings.problems)


def test_a_compliance_officer_lands_on_the_review_queue(world, live_server, open_as, viewport):
    page, findings = open_as(world.cast.compliance)
    _home(page, findings, live_server.url, "compliance-officer", viewport)
    assert page.locator('[data-home-panel="review-queue"]').is_visible()
    _walk(page, findings, live_server.url, [f"/issuers/{world.cast.issuer.slug}/compliance/"])
    assert not findings.problems, "\n".join(findings.problems)


def test_a_transfer_agent_lands_on_the_registers(world, live_server, open_as, viewport):
    page, findings = open_as(world.cast.agent)
    _home(page, findings, live_server.url, "transfer-agent", viewport)
    assert page.url.endswith("/registry/") and page.get_by_role("heading", name="Registers").is_visible()
    slug = world.cast.issuer.slug
    _walk(page, findings, live_server.url, [f"/issuers/{slug}/registry/{world.offering_id}/holdings/"])
    assert not findings.problems, "\n".join(findings.problems)


def test_staff_land_on_the_platform_console_and_read_the_api_documentation(world, live_server, open_as, viewport):
    page, findings = open_as(world.cast.staff)
    _home(page, findings, live_server.url, "staff", viewport)
    assert page.url.endswith("/staff/")
    _walk(page, findings, live_server.url, ["/staff/chain/", "/api/docs/", "/offerings/"])
    assert not findings.problems, "\n".join(findings.problems)


def test_platform_compliance_lands_on_the_identity_queue(world, live_server, open_as, viewport):
    page, findings = open_as(world.cast.platform_compliance)
    _home(page, findings, live_server.url, "platform-compliance", viewport)
    assert page.url.endswith("/platform/compliance/")
    assert not findings.problems, "\n".join(findings.problems)
