"""From sign-up to a verified wallet on-chain: an investor in one browser, platform compliance in another.

The investor's browser has an EIP-1193 provider injected whose `personal_sign` is done in Python
with a test key (eth_account), as a wallet extension would do it. The chain is a real anvil with
the portal's registry deployed by a real Celery worker, which also sends the registration.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import expect

from core.mfa import totp_code
from core.models import Role
from core.tests.factories import TEST_PASSWORD, TEST_TOTP_SECRET, IssuerFactory, MembershipFactory, UserFactory
from core.tests.files import pdf_bytes, png_bytes
from investors.models import InvestorProfile, KycStatus
from tokens.models import ContractDeployment, ContractKind
from tokens.selectors import registry_wallet_states
from tokens.tests.support import DEV_ACCOUNTS, DEV_KEYS, contract_view, personal_sign, wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.chain,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]

WALLET, WALLET_KEY = DEV_ACCOUNTS[3], DEV_KEYS[3]
OFAC_FIXTURE = Path(__file__).resolve().parent.parent / "compliance" / "fixtures" / "ofac"

PROVIDER = """
(() => {
  const address = "%s";
  window.ethereum = {
    request: async ({ method, params }) => {
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [address];
      if (method === "eth_chainId") return "0x7a69";
      if (method === "personal_sign") return await window.tesseraTestSign(params[0], params[1]);
      throw Object.assign(new Error(`unsupported method ${method}`), { code: 4200 });
    },
  };
})();
"""


def _sign(data_hex: str, address: str) -> str:
    assert address.lower() == WALLET.lower()
    message = bytes.fromhex(data_hex.removeprefix("0x")).decode()
    return personal_sign(message, WALLET_KEY)


def _registry_is_verified(anvil_node, wallet: str) -> bool:
    registry = ContractDeployment.objects.get(kind=ContractKind.REGISTRY)
    return bool(contract_view(anvil_node.rpc_url, "InvestorRegistry", registry.address, "isVerified", wallet))


@pytest.fixture
def chain(anvil_node, settings, celery_worker_process):
    """The portal pointed at anvil, with its registry deployed by a worker."""
    from tokens.services import registry_deploy
    from tokens.tasks import outbox_watch_task

    snapshot = anvil_node.rpc("evm_snapshot")
    settings.CHAIN_RPC_URL = anvil_node.rpc_url
    settings.CHAIN_ID = 31337
    settings.CHAIN_CONFIRMATIONS = 1
    celery_worker_process("onboarding", {"CHAIN_RPC_URL": anvil_node.rpc_url, "CHAIN_ID": "31337"})
    deployment = registry_deploy()
    wait_until(
        lambda: (
            ContractDeployment.objects.get(pk=deployment.pk).address != ""
            and ContractDeployment.objects.get(pk=deployment.pk).deploy_transaction.status == "confirmed"
        ),
        what="the registry deployment",
        tick=outbox_watch_task.delay,
    )
    yield anvil_node
    anvil_node.rpc("evm_revert", [snapshot])


def _choose_country(page, label: str, typed: str, country: str) -> None:
    """Country selects are searchable: by keyboard, as a person who tabs through the form would, focus the
    field (its list opens), type part of the name, take the first match with Enter and leave the field.

    Not by mouse: a click in the field focuses it on a timer of the widget's own, which a loaded browser may run
    after the field was left, opening its list again over the next fields."""
    box = page.get_by_role("combobox", name=label)
    listbox = page.get_by_role("listbox", name=label)
    box.focus()
    listbox.wait_for()
    page.keyboard.type(typed)
    expect(listbox.get_by_role("option").first).to_have_text(country)
    page.keyboard.press("Enter")
    page.locator(".ts-wrapper", has=box).locator(".item", has_text=country).wait_for()
    box.blur()
    listbox.wait_for(state="hidden")


def test_an_investor_onboards_and_their_wallet_is_verified_on_chain(chain, live_server, browser) -> None:
    from compliance.services.sanctions import sanctions_files_fetch, sanctions_list_load
    from tokens.tasks import outbox_watch_task

    sanctions_list_load(
        files=sanctions_files_fetch(source=str(OFAC_FIXTURE)), source="fixture", actor=None, rescreen_after_commit=False
    )
    issuer = IssuerFactory.create(name="Harbor Street Capital", slug="harbor")
    officer = UserFactory.create(email="identity@tessera.example", platform_compliance=True, mfa=True)
    issuer_officer = MembershipFactory.create(
        issuer=issuer, role=Role.COMPLIANCE_OFFICER, user__email="co@harbor.example"
    ).user

    investor_context = browser.new_context(viewport={"width": 1280, "height": 900})
    investor_context.expose_function("tesseraTestSign", _sign)
    investor_context.add_init_script(PROVIDER % WALLET)
    page = investor_context.new_page()
    page.set_default_timeout(15_000)

    # Sign up and verify the e-mail address.
    page.goto(live_server.url + "/accounts/signup/")
    page.get_by_label("Email").fill("alice.marchetti@example.com")
    page.locator("#id_password1").fill(TEST_PASSWORD)
    page.locator("#id_password2").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.get_by_role("heading", name="Verify Your Email Address").wait_for()
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+", str(mail.outbox[-1].body))
    assert link, mail.outbox[-1].body
    page.goto(link[0])
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Welcome").wait_for()

    # Onboarding, step by step, with the progress indicator.
    page.get_by_role("link", name="Start onboarding").click()
    assert page.get_by_text("Step 1 of 7").is_visible()
    page.get_by_label("Individual").check()
    page.get_by_role("button", name="Save and continue").click()

    page.get_by_label("Full legal name").fill("Alice Marchetti")
    page.get_by_label("Date of birth").fill("2999-01-01")
    page.get_by_label("Residential address").fill("12 Harbor Street")
    page.get_by_label("City").fill("Boston")
    page.get_by_label("Postal code").fill("02110")
    _choose_country(page, "Country of residence", "united states of", "United States of America")
    _choose_country(page, "Citizenship", "united states of", "United States of America")
    page.get_by_label("Phone").fill("+1 617 555 0100")
    page.get_by_label("Identification number").select_option("ssn")
    page.get_by_label("Number", exact=True).fill("123-45-6789")
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_text("Date of birth cannot be in the future.").wait_for()
    page.get_by_label("Date of birth").fill("1980-05-17")
    page.get_by_role("button", name="Save and continue").click()

    page.get_by_role("heading", name="Identity documents").wait_for()
    page.get_by_label("Document", exact=True).select_option("passport")
    page.get_by_label("File (PDF, JPEG or PNG)").set_input_files(
        files=[{"name": "passport.png", "mimeType": "image/png", "buffer": png_bytes()}]
    )
    page.get_by_label("Document number").fill("X1234567")
    _choose_country(page, "Issuing country", "united states of", "United States of America")
    page.get_by_label("Expiry date").fill((dt.date.today() + dt.timedelta(days=2000)).isoformat())
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("The document was uploaded.").wait_for()
    page.get_by_label("Document", exact=True).select_option("proof_of_address")
    page.get_by_label("File (PDF, JPEG or PNG)").set_input_files(
        files=[{"name": "bill.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}]
    )
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("Everything the review needs is here.").wait_for()
    page.get_by_role("link", name="Continue to accreditation").click()
    page.get_by_role("link", name="Continue to tax form").click()

    page.get_by_role("heading", name="Tax form: W-9").wait_for()
    page.locator("#id_tin_certified").check()
    page.locator("#id_signer_name").fill("Alice Marchetti")
    page.locator("#id_signed_on").fill(dt.date.today().isoformat())
    page.get_by_role("button", name="Sign").click()

    page.get_by_role("heading", name="Wallets").wait_for()
    page.get_by_role("button", name="Link a wallet by signing").click()
    page.get_by_text(f"Wallet {WALLET} is linked to your account.").wait_for()
    page.wait_for_load_state("load")
    page.locator(f'tr[data-wallet="{WALLET}"]').wait_for()
    page.get_by_role("link", name="Continue to submit").click()

    page.get_by_label("Harbor Street Capital").check()
    page.get_by_label("Everything I entered is true and complete.").check()
    page.get_by_role("button", name="Submit for review").click()
    page.get_by_role("heading", name="Your investor status").wait_for()
    assert page.locator('[data-status="kyc"]').inner_text().startswith("Under review")
    investor = InvestorProfile.objects.get(user__email="alice.marchetti@example.com")
    assert investor.screening_status == "clear"

    # Platform compliance signs in with their authenticator code and approves the identity.
    officer_context = browser.new_context(viewport={"width": 1280, "height": 900})
    review = officer_context.new_page()
    review.set_default_timeout(15_000)
    review.goto(f"{live_server.url}/platform/compliance/")
    review.get_by_label("Email").fill(officer.email)
    review.locator("#id_password").fill(TEST_PASSWORD)
    review.get_by_role("button", name="Sign In").click()
    review.get_by_label("Code").fill(totp_code(secret=TEST_TOTP_SECRET))
    review.get_by_role("button", name="Sign In").click()
    review.get_by_role("heading", name="Identity reviews").wait_for()
    review.get_by_role("link", name="Review Alice Marchetti").click()
    review.get_by_role("heading", name="Alice Marchetti").wait_for()
    # The passport shows inline (served to platform compliance only); wait for the image to arrive.
    review.wait_for_function(
        "() => { const img = document.querySelector('img.doc-preview'); "
        "return img !== null && img.complete && img.naturalWidth > 0; }"
    )
    review.locator("#kyc-decision").select_option("approve")
    review.get_by_role("button", name="Record KYC decision").click()
    review.get_by_text("KYC approved. The investor is registered on-chain for every issuer's tokens.").wait_for()
    investor.refresh_from_db()
    assert investor.kyc_status == KycStatus.APPROVED

    # The issuer's compliance officer decides only whether the issuer admits her.
    issuer_context = browser.new_context(viewport={"width": 1280, "height": 900})
    desk = issuer_context.new_page()
    desk.set_default_timeout(15_000)
    desk.goto(f"{live_server.url}/issuers/harbor/compliance/")
    desk.get_by_label("Email").fill(issuer_officer.email)
    desk.locator("#id_password").fill(TEST_PASSWORD)
    desk.get_by_role("button", name="Sign In").click()
    desk.get_by_label("Code").fill(totp_code(secret=TEST_TOTP_SECRET))
    desk.get_by_role("button", name="Sign In").click()
    desk.get_by_role("heading", name="Applicants").wait_for()
    desk.get_by_role("link", name="Review Alice Marchetti").click()
    desk.get_by_role("heading", name="Alice Marchetti").wait_for()
    assert desk.locator("#kyc-decision").count() == 0
    desk.locator("#application-decision").select_option("admit")
    desk.get_by_role("button", name="Record admission decision").click()
    desk.get_by_text("Alice Marchetti is admitted to Harbor Street Capital's offerings.").wait_for()
    issuer_context.close()

    # The worker registers the wallet; the watcher confirms it.
    wait_until(
        lambda: (
            getattr(registry_wallet_states(investor_ref=investor.reference).get(WALLET), "state", "") == "confirmed"
        ),
        what="the wallet's registration to be confirmed",
        tick=outbox_watch_task.delay,
    )
    assert _registry_is_verified(chain, WALLET)

    page.goto(f"{live_server.url}/onboarding/status/")
    row = page.locator(f'tr[data-wallet="{WALLET}"]')
    assert row.locator('[data-registry-state="confirmed"]').inner_text() == "verified"
    tx_hash = registry_wallet_states(investor_ref=investor.reference)[WALLET].tx_hash
    assert tx_hash and tx_hash in row.inner_text()
    assert page.get_by_text("Eligible to invest").is_visible()
    investor_context.close()
    officer_context.close()
