"""Every URL pattern × every role gets the status the access rules promise.

A URL that is not listed here (or covered by the admin rule) fails this test, so nothing is
published without someone deciding who may open it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from core.tests.support import ROLES, Cast

#                       anonymous investor other_admin admin compliance agent staff platform_compliance
PUBLIC = dict(zip(ROLES, (200, 200, 200, 200, 200, 200, 200, 200), strict=True))
SIGNED_IN = dict(zip(ROLES, (302, 200, 200, 200, 200, 200, 200, 200), strict=True))
ISSUER_MEMBERS = dict(zip(ROLES, (302, 403, 403, 200, 200, 200, 200, 403), strict=True))
ISSUER_AUDIT = dict(zip(ROLES, (302, 403, 403, 200, 200, 403, 200, 403), strict=True))
ISSUER_TEAM = dict(zip(ROLES, (302, 403, 403, 200, 403, 403, 403, 403), strict=True))
ISSUER_TEAM_POST = dict(zip(ROLES, (302, 403, 403, 302, 403, 403, 403, 403), strict=True))
STAFF_ONLY = dict(zip(ROLES, (302, 403, 403, 403, 403, 403, 200, 403), strict=True))
API_SIGNED_IN = dict(zip(ROLES, (403, 200, 200, 200, 200, 200, 200, 200), strict=True))
API_ISSUER_MEMBERS = dict(zip(ROLES, (403, 403, 403, 200, 200, 200, 200, 403), strict=True))
# Pages for visitors who are not signed in: a signed-in user is sent on to the dashboard.
SIGNED_OUT = dict(zip(ROLES, (200, 302, 302, 302, 302, 302, 302, 302), strict=True))
# Account pages that need a sign-in but no role.
ACCOUNT = SIGNED_IN
# allauth's MFA management asks for a fresh sign-in first (a forced login in a test is not one).
REAUTHENTICATE = dict(zip(ROLES, (302, 302, 302, 302, 302, 302, 302, 302), strict=True))
# No recovery codes were generated for anyone in the cast, so there is nothing to show.
NO_RECOVERY_CODES = dict(zip(ROLES, (302, 404, 404, 404, 404, 404, 404, 404), strict=True))
# Onboarding steps that send a user who has not chosen individual/entity back to the first step.
ONBOARDING_LATER_STEP = dict(zip(ROLES, (302, 302, 302, 302, 302, 302, 302, 302), strict=True))
# An investor's own object that does not exist (any signed-in user gets 404 for someone else's too).
OWN_OBJECT_POST = dict(zip(ROLES, (302, 404, 404, 404, 404, 404, 404, 404), strict=True))
# Compliance pages of the issuer: its admin and compliance officer only (staff do not review).
COMPLIANCE = dict(zip(ROLES, (302, 403, 403, 200, 200, 403, 403, 403), strict=True))
# The same for one applicant: the cast's investor has not applied, so the officers get 404.
COMPLIANCE_APPLICANT = dict(zip(ROLES, (302, 403, 403, 404, 404, 403, 403, 403), strict=True))
# Identity decisions: platform compliance only (not issuer officers, not staff).
PLATFORM_COMPLIANCE = dict(zip(ROLES, (302, 403, 403, 403, 403, 403, 403, 200), strict=True))
# The same for one investor: the cast's investor has not submitted onboarding, so it is 404.
PLATFORM_COMPLIANCE_INVESTOR = dict(zip(ROLES, (302, 403, 403, 403, 403, 403, 403, 404), strict=True))
API_POST_EMPTY = dict(zip(ROLES, (403, 400, 400, 400, 400, 400, 400, 400), strict=True))
# Offerings: an object that does not exist, behind the rule that names who may open it.
NO_SUCH_OWN = dict(zip(ROLES, (302, 404, 404, 404, 404, 404, 404, 404), strict=True))
OFFERING_MANAGE = dict(zip(ROLES, (302, 403, 403, 200, 403, 403, 403, 403), strict=True))
OFFERING_MANAGE_MISSING = dict(zip(ROLES, (302, 403, 403, 404, 403, 403, 403, 403), strict=True))
OFFERING_VIEW_MISSING = dict(zip(ROLES, (302, 403, 403, 404, 404, 404, 404, 403), strict=True))
# Money desk: the issuer's admins only (compliance officers do not record payments).
PAYMENTS_DESK = dict(zip(ROLES, (302, 403, 403, 200, 403, 403, 403, 403), strict=True))
PAYMENTS_DESK_MISSING = dict(zip(ROLES, (302, 403, 403, 404, 403, 403, 403, 403), strict=True))
# Distributions: the issuer's admins only, for an offering or distribution that does not exist.
DISTRIBUTIONS_MISSING = dict(zip(ROLES, (302, 403, 403, 404, 403, 403, 403, 403), strict=True))
# Four eyes: the issuer's admins approve what another admin proposed.
APPROVALS = PAYMENTS_DESK
# Token administration: the issuer's admins; the offering or action in the URL does not exist.
TOKEN_ADMIN_MISSING = dict(zip(ROLES, (302, 403, 403, 404, 403, 403, 403, 403), strict=True))
# The register: the issuer's admins and transfer agents read it (compliance officers and staff do not).
REGISTRY_VIEW_MISSING = dict(zip(ROLES, (302, 403, 403, 404, 403, 404, 403, 403), strict=True))
API_MISSING = dict(zip(ROLES, (403, 404, 404, 404, 404, 404, 404, 404), strict=True))
# The register's exports: its admins and transfer agents (REGISTRY_VIEW); not compliance officers, not staff.
REGISTRY = dict(zip(ROLES, (302, 403, 403, 200, 403, 200, 403, 403), strict=True))
REGISTRY_MISSING = dict(zip(ROLES, (302, 403, 403, 404, 403, 404, 403, 403), strict=True))
REGISTRY_POST_EMPTY = dict(zip(ROLES, (302, 403, 403, 400, 403, 400, 403, 403), strict=True))
# Registers: whoever reads an issuer's register somewhere (its admins and transfer agents); each register
# then checks the role at its own issuer.
REGISTRY_READERS = dict(zip(ROLES, (302, 403, 200, 200, 403, 200, 403, 403), strict=True))
REGISTRY_READERS_MISSING = dict(zip(ROLES, (302, 403, 404, 404, 403, 404, 403, 403), strict=True))
REGISTER_MISSING = dict(zip(ROLES, (302, 403, 403, 404, 403, 404, 403, 403), strict=True))
# The registry API takes a token, so a caller without one is asked for it (401).
API_REGISTRY_READERS = dict(zip(ROLES, (401, 403, 200, 200, 403, 200, 403, 403), strict=True))
API_REGISTER_MISSING = dict(zip(ROLES, (401, 404, 404, 404, 404, 404, 404, 404), strict=True))
# Django's admin: staff with MFA only; everyone else is sent to the portal's login.
ADMIN = dict(zip(ROLES, (302, 302, 302, 302, 302, 302, 200, 302), strict=True))


def _all(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def read_only_refused(statuses: dict[str, int]) -> dict[str, int]:
    """A page that writes (on a post, or when opened, like onboarding): refused to a transfer agent, whose
    role only reads (core.access.READ_ONLY_ROLES)."""
    return {**statuses, "agent": 403}


# (method, expectations) per URL name.
MATRIX: dict[str, tuple[str, dict[str, int]]] = {
    "landing": ("GET", PUBLIC),
    # A home that is one page of its own sends its owner there: a transfer agent to the registers, staff to
    # the platform console, platform compliance to the identity queue.
    "home": ("GET", dict(zip(ROLES, (302, 200, 200, 200, 200, 302, 302, 302), strict=True))),
    "issuer_overview": ("GET", ISSUER_MEMBERS),
    "issuer_team": ("GET", ISSUER_TEAM),
    "issuer_team_remove": ("POST", ISSUER_TEAM_POST),
    "issuer_audit_log": ("GET", ISSUER_AUDIT),
    "issuer_approvals": ("GET", APPROVALS),
    "issuer_approval_decide": ("POST", PAYMENTS_DESK_MISSING),
    # An empty threshold is sent back to the approvals page with a message.
    "issuer_four_eyes_threshold": ("POST", dict(zip(ROLES, (302, 403, 403, 302, 403, 403, 403, 403), strict=True))),
    "staff_console": ("GET", STAFF_ONLY),
    # Anyone signed in has a notification list; another person's (or no) notification is 404.
    "notification_list": ("GET", SIGNED_IN),
    "notifications_read": ("POST", dict(zip(ROLES, (302, 302, 302, 302, 302, 302, 302, 302), strict=True))),
    "notification_open": ("GET", dict(zip(ROLES, (302, 404, 404, 404, 404, 404, 404, 404), strict=True))),
    # Invitations of an issuer that do not exist: its admins get 404, everyone else the usual refusal.
    "issuer_invitation_resend": ("POST", dict(zip(ROLES, (302, 403, 403, 404, 403, 403, 403, 403), strict=True))),
    "issuer_invitation_revoke": ("POST", dict(zip(ROLES, (302, 403, 403, 404, 403, 403, 403, 403), strict=True))),
    # Staff forms posted empty are shown again with their errors; unknown invitations are 404.
    "staff_invitation_create": ("POST", STAFF_ONLY),
    "staff_mfa_reset": ("POST", STAFF_ONLY),
    "staff_investor_erasure": ("GET", dict(zip(ROLES, (302, 403, 403, 403, 403, 403, 404, 403), strict=True))),
    "staff_invitation_resend": ("POST", dict(zip(ROLES, (302, 403, 403, 403, 403, 403, 404, 403), strict=True))),
    "staff_invitation_revoke": ("POST", dict(zip(ROLES, (302, 403, 403, 403, 403, 403, 404, 403), strict=True))),
    # The link is the proof, so no sign-in is needed; a token that matches nothing is 404 for everyone.
    "invitation_accept": ("GET", _all(404)),
    # How a privileged account without a factor gets one (the page explains; it enrols nothing).
    "mfa_required": ("GET", SIGNED_IN),
    "chain_transactions": ("GET", STAFF_ONLY),
    # A chain without a block explorer: any signed-in user reads a transaction (this one is unknown) or address.
    "chain_transaction_detail": ("GET", NO_SUCH_OWN),
    "chain_address_detail": ("GET", SIGNED_IN),
    "stablecoin_receipts": ("GET", STAFF_ONLY),
    "stablecoin_receipt_return": ("POST", dict(zip(ROLES, (302, 403, 403, 403, 403, 403, 404, 403), strict=True))),
    "chain_transaction_retry": ("POST", dict(zip(ROLES, (302, 403, 403, 403, 403, 403, 404, 403), strict=True))),
    "chain_transaction_fill": ("POST", dict(zip(ROLES, (302, 403, 403, 403, 403, 403, 404, 403), strict=True))),
    "health": ("GET", _all(200)),
    # Prometheus scrapes with a bearer token; a person needs the staff role (anonymous: 401, not a sign-in page).
    "metrics": ("GET", dict(zip(ROLES, (401, 403, 403, 403, 403, 403, 200, 403), strict=True))),
    "api_me": ("GET", API_SIGNED_IN),
    "api_issuer_list": ("GET", API_SIGNED_IN),
    "api_issuer_team": ("GET", API_ISSUER_MEMBERS),
    "api_schema": ("GET", PUBLIC),
    "api_docs": ("GET", PUBLIC),
    # investor onboarding (investors/) and compliance review (compliance/)
    "onboarding_start": ("GET", read_only_refused(SIGNED_IN)),
    "onboarding_details": ("GET", read_only_refused(ONBOARDING_LATER_STEP)),
    "onboarding_owners": ("GET", read_only_refused(ONBOARDING_LATER_STEP)),
    "onboarding_owner_remove": ("POST", read_only_refused(OWN_OBJECT_POST)),
    "onboarding_documents": ("GET", read_only_refused(ONBOARDING_LATER_STEP)),
    "onboarding_document_remove": ("POST", read_only_refused(OWN_OBJECT_POST)),
    "investor_document_file": ("GET", read_only_refused(OWN_OBJECT_POST)),
    "onboarding_accreditation": ("GET", read_only_refused(ONBOARDING_LATER_STEP)),
    "onboarding_tax": ("GET", read_only_refused(ONBOARDING_LATER_STEP)),
    "onboarding_wallets": ("GET", read_only_refused(SIGNED_IN)),
    "onboarding_wallet_remove": ("POST", read_only_refused(OWN_OBJECT_POST)),
    "investor_status": ("GET", read_only_refused(SIGNED_IN)),
    # An investor's own bank details (opening the page starts their investor record, as onboarding does).
    "investor_bank_account": ("GET", read_only_refused(SIGNED_IN)),
    "onboarding_submit": ("GET", read_only_refused(SIGNED_IN)),
    "api_wallet_challenge": ("POST", read_only_refused(API_POST_EMPTY)),
    "api_wallet_link": ("POST", read_only_refused(API_POST_EMPTY)),
    "compliance_queue": ("GET", COMPLIANCE),
    "compliance_investor": ("GET", COMPLIANCE_APPLICANT),
    "compliance_application_decide": ("POST", COMPLIANCE_APPLICANT),
    "compliance_document_file": ("GET", COMPLIANCE_APPLICANT),
    "identity_queue": ("GET", PLATFORM_COMPLIANCE),
    "identity_investor": ("GET", PLATFORM_COMPLIANCE_INVESTOR),
    "identity_kyc_decide": ("POST", PLATFORM_COMPLIANCE_INVESTOR),
    "identity_accreditation_decide": ("POST", PLATFORM_COMPLIANCE_INVESTOR),
    "identity_hit_decide": ("POST", PLATFORM_COMPLIANCE_INVESTOR),
    "identity_owner_decide": ("POST", PLATFORM_COMPLIANCE_INVESTOR),
    "identity_custodial_wallet": ("POST", PLATFORM_COMPLIANCE_INVESTOR),
    "identity_document_file": ("GET", PLATFORM_COMPLIANCE_INVESTOR),
    # Vendor webhook: no session; an unsigned delivery is refused whoever sends it.
    "kyc_webhook": ("POST", _all(401)),
    # offerings, subscriptions, payments and closing (offerings/)
    "offering_list": ("GET", PUBLIC),
    "offering_detail": ("GET", _all(404)),
    "offering_document_file": ("GET", _all(404)),
    "subscription_start": ("GET", NO_SUCH_OWN),
    "subscription_status": ("GET", NO_SUCH_OWN),
    "subscription_sign": ("GET", NO_SUCH_OWN),
    "subscription_pay": ("GET", NO_SUCH_OWN),
    "subscription_cancel": ("POST", read_only_refused(NO_SUCH_OWN)),
    "subscription_reconfirm": ("GET", NO_SUCH_OWN),
    "subscription_agreement": ("GET", NO_SUCH_OWN),
    "portfolio": ("GET", SIGNED_IN),
    "registry_exports": ("GET", REGISTRY),
    "registry_export_create": ("POST", REGISTRY_POST_EMPTY),
    "registry_ocf_compare": ("GET", REGISTRY),
    "registry_export_status": ("GET", REGISTRY_MISSING),
    "registry_export_download": ("GET", REGISTRY_MISSING),
    "registry_master_file_csv": ("GET", REGISTRY_MISSING),
    "cap_table": ("GET", REGISTRY_VIEW_MISSING),
    "holder_detail": ("GET", REGISTRY_VIEW_MISSING),
    "holder_count_policy": ("POST", OFFERING_MANAGE_MISSING),
    # transfer agents' registers, read-only (registry/views/transfer_agent.py, registry/api.py)
    "transfer_agent_home": ("GET", REGISTRY_READERS),
    "api_tokens": ("GET", REGISTRY_READERS),
    "api_token_revoke": ("POST", REGISTRY_READERS_MISSING),
    "registry_holdings": ("GET", REGISTER_MISSING),
    "registry_journal": ("GET", REGISTER_MISSING),
    "registry_control_book": ("GET", REGISTER_MISSING),
    "registry_authorization_document": ("GET", REGISTER_MISSING),
    "registry_differences": ("GET", REGISTER_MISSING),
    "api_registry_issuers": ("GET", API_REGISTRY_READERS),
    "api_registry_holders": ("GET", API_REGISTER_MISSING),
    "api_registry_holdings": ("GET", API_REGISTER_MISSING),
    "api_registry_journal": ("GET", API_REGISTER_MISSING),
    "api_registry_control_book": ("GET", API_REGISTER_MISSING),
    "api_registry_control_book_entries": ("GET", API_REGISTER_MISSING),
    "api_registry_control_book_authorizations": ("GET", API_REGISTER_MISSING),
    "api_registry_authorization_document": ("GET", API_REGISTER_MISSING),
    "api_registry_differences": ("GET", API_REGISTER_MISSING),
    "api_registry_exports": ("GET", API_REGISTER_MISSING),
    "api_registry_export": ("GET", API_REGISTER_MISSING),
    "api_registry_export_download": ("GET", API_REGISTER_MISSING),
    # registry: the control book (read by the register's readers, authorized by the issuer's admins only)
    "control_book": ("GET", REGISTRY_MISSING),
    "control_book_authorize": ("POST", TOKEN_ADMIN_MISSING),
    "control_book_document": ("GET", REGISTRY_MISSING),
    "difference_reports": ("GET", REGISTRY),
    "issuer_offerings": ("GET", ISSUER_MEMBERS),
    "offering_create": ("GET", OFFERING_MANAGE),
    "offering_edit": ("GET", OFFERING_MANAGE_MISSING),
    "offering_documents": ("GET", OFFERING_MANAGE_MISSING),
    "offering_publish": ("POST", OFFERING_MANAGE_MISSING),
    "offering_close": ("POST", OFFERING_MANAGE_MISSING),
    "offering_dashboard": ("GET", OFFERING_VIEW_MISSING),
    "offering_progress_json": ("GET", OFFERING_VIEW_MISSING),
    "mint_batch_retry": ("POST", OFFERING_MANAGE_MISSING),
    "offering_subscriptions": ("GET", OFFERING_VIEW_MISSING),
    "subscription_reject": ("POST", OFFERING_MANAGE_MISSING),
    "wire_receipts": ("GET", PAYMENTS_DESK),
    # An empty import is sent back to the wires page with a message.
    "wire_import": ("POST", dict(zip(ROLES, (302, 403, 403, 302, 403, 403, 403, 403), strict=True))),
    "wire_resolve": ("POST", PAYMENTS_DESK_MISSING),
    "refund_sent": ("POST", PAYMENTS_DESK_MISSING),
    "refund_retry": ("POST", PAYMENTS_DESK_MISSING),
    "payment_cases": ("GET", PAYMENTS_DESK),
    "payment_case_resolve": ("POST", OFFERING_MANAGE_MISSING),
    "overpayment_refund": ("POST", PAYMENTS_DESK_MISSING),
    "webhook_event_reviewed": ("POST", PAYMENTS_DESK_MISSING),
    # Provider webhooks: no session; a provider that is not configured does not exist.
    "payment_webhook": ("POST", _all(404)),
    # Token administration (registry/): the issuer's admins only; not its transfer agent or compliance officer.
    "token_admin": ("GET", TOKEN_ADMIN_MISSING),
    "token_admin_holder": ("GET", TOKEN_ADMIN_MISSING),
    "token_admin_action": ("GET", TOKEN_ADMIN_MISSING),
    "token_admin_action_progress": ("GET", TOKEN_ADMIN_MISSING),
    "token_admin_action_decide": ("POST", TOKEN_ADMIN_MISSING),
    "token_admin_action_document": ("GET", TOKEN_ADMIN_MISSING),
    # distributions (distributions/): the issuer's admins only; transfer agents and compliance officers are refused.
    "distribution_list": ("GET", DISTRIBUTIONS_MISSING),
    "distribution_declare": ("GET", DISTRIBUTIONS_MISSING),
    "distribution_detail": ("GET", DISTRIBUTIONS_MISSING),
    "distribution_compute": ("POST", DISTRIBUTIONS_MISSING),
    "distribution_propose": ("POST", DISTRIBUTIONS_MISSING),
    "distribution_decide": ("POST", DISTRIBUTIONS_MISSING),
    "distribution_cancel": ("POST", DISTRIBUTIONS_MISSING),
    "distribution_payment_progress": ("GET", DISTRIBUTIONS_MISSING),
    "distribution_retry": ("POST", DISTRIBUTIONS_MISSING),
    # the investor's own distributions and tax summary; nobody in the cast has been paid, or is an investor
    "investor_distributions": ("GET", SIGNED_IN),
    "investor_tax_summary": ("GET", NO_SUCH_OWN),
    # distribution registers and the IRS forms' files: whoever reads the register (its admins, transfer agents)
    "registry_distributions": ("GET", REGISTER_MISSING),
    "registry_distribution": ("GET", REGISTER_MISSING),
    "distribution_register_file": ("GET", REGISTER_MISSING),
    "registry_tax_form_file": ("GET", REGISTER_MISSING),
    # the issuer's EIN and address on those forms: its admins only
    "registry_payer_details": ("POST", DISTRIBUTIONS_MISSING),
    # Payment by bank file: the issuer's admins only; the files carry holders' full account numbers.
    "distribution_paying_account": ("POST", DISTRIBUTIONS_MISSING),
    "distribution_bank_run_create": ("POST", DISTRIBUTIONS_MISSING),
    "distribution_bank_run_file": ("GET", DISTRIBUTIONS_MISSING),
    "distribution_bank_confirmation": ("POST", DISTRIBUTIONS_MISSING),
    "distribution_bank_mark_paid": ("POST", DISTRIBUTIONS_MISSING),
    # ballots (governance/): the register's readers see them, only the issuer's admins change them.
    "ballot_list": ("GET", REGISTRY),
    "ballot_create": ("GET", OFFERING_MANAGE),
    "ballot_detail": ("GET", REGISTRY_MISSING),
    "ballot_power_read": ("POST", DISTRIBUTIONS_MISSING),
    "ballot_close": ("POST", DISTRIBUTIONS_MISSING),
    # the investor's own ballots: only those of tokens they held at the record date (the cast holds none)
    "investor_votes": ("GET", SIGNED_IN),
    "investor_ballot": ("GET", NO_SUCH_OWN),
    "api_ballot_vote_message": ("GET", API_MISSING),
    "api_ballot_signed_vote": ("POST", read_only_refused(API_MISSING)),
    # transfers (transfers/): the holder's own transfers and exception requests (the cast holds nothing and has
    # none); the requests made to an issuer: the register's readers see them, its admins decide them.
    "investor_transfers": ("GET", SIGNED_IN),
    "investor_transfer_new": ("GET", NO_SUCH_OWN),
    "investor_transfer_request_new": ("GET", NO_SUCH_OWN),
    "investor_transfer": ("GET", NO_SUCH_OWN),
    "investor_transfer_confirm": ("POST", read_only_refused(OWN_OBJECT_POST)),
    "investor_transfer_cancel": ("POST", read_only_refused(OWN_OBJECT_POST)),
    "investor_transfer_request": ("GET", NO_SUCH_OWN),
    "investor_transfer_request_withdraw": ("POST", read_only_refused(OWN_OBJECT_POST)),
    "api_transfer_prepare": ("POST", read_only_refused(API_MISSING)),
    "api_transfer_submitted": ("POST", read_only_refused(API_MISSING)),
    "issuer_transfer_requests": ("GET", REGISTRY),
    "issuer_transfer_request": ("GET", REGISTRY_MISSING),
    # The transfer agent decides only where the issuer lets it (off here: refused like the other readers).
    "issuer_transfer_request_decide": ("POST", TOKEN_ADMIN_MISSING),
    # Who decides them is the issuer admins' to say.
    "issuer_transfer_agent_decisions": ("POST", ISSUER_TEAM_POST),
    "issuer_transfer_request_document": ("GET", REGISTRY_MISSING),
    # backing (backing/): read by whoever reads the issuer's pages; changed by its admins only.
    "backing_overview": ("GET", OFFERING_VIEW_MISSING),
    "backing_profile_edit": ("GET", OFFERING_MANAGE_MISSING),
    "backing_rule_edit": ("GET", OFFERING_MANAGE_MISSING),
    "reserve_statements": ("GET", OFFERING_VIEW_MISSING),
    "reserve_statement_new": ("GET", OFFERING_MANAGE_MISSING),
    "reserve_statement_import": ("GET", OFFERING_MANAGE_MISSING),
    "reserve_statement_detail": ("GET", OFFERING_VIEW_MISSING),
    "reserve_statement_decide": ("POST", OFFERING_MANAGE_MISSING),
    "reserve_statement_document": ("GET", OFFERING_VIEW_MISSING),
    # A token's transparency report: public, no sign-in; a token without one (here: none exists) is 404.
    "transparency_page": ("GET", _all(404)),
    "transparency_document": ("GET", _all(404)),
    "api_transparency": ("GET", _all(404)),
    # NAV pages: read by whoever reads the issuer's pages, changed by its admins; its documents follow the offering.
    "nav_overview": ("GET", OFFERING_VIEW_MISSING),
    "nav_terms_edit": ("GET", OFFERING_MANAGE_MISSING),
    "nav_point_new": ("GET", OFFERING_MANAGE_MISSING),
    "nav_oracle_edit": ("GET", OFFERING_MANAGE_MISSING),
    "nav_point_detail": ("GET", OFFERING_VIEW_MISSING),
    "nav_point_decide": ("POST", OFFERING_MANAGE_MISSING),
    "nav_point_document": ("GET", OFFERING_VIEW_MISSING),
    "transparency_nav_document": ("GET", _all(404)),
    # An investor's reinvestment election for a token that does not exist (only investors have one at all).
    "reinvestment_election": ("GET", NO_SUCH_OWN),
    # redemptions (redemptions/): terms and dealing days for the issuer's admins only; the holder's own requests.
    "redemption_terms": ("GET", DISTRIBUTIONS_MISSING),
    "dealing_day_detail": ("GET", DISTRIBUTIONS_MISSING),
    "dealing_day_nav": ("POST", DISTRIBUTIONS_MISSING),
    "dealing_day_propose": ("POST", DISTRIBUTIONS_MISSING),
    "dealing_day_decide": ("POST", DISTRIBUTIONS_MISSING),
    "dealing_day_retry": ("POST", DISTRIBUTIONS_MISSING),
    "dealing_day_request_cancel": ("POST", DISTRIBUTIONS_MISSING),
    "dealing_day_progress": ("GET", DISTRIBUTIONS_MISSING),
    "dealing_day_bank_run": ("POST", DISTRIBUTIONS_MISSING),
    "dealing_day_bank_file": ("GET", DISTRIBUTIONS_MISSING),
    "dealing_day_bank_confirmation": ("POST", DISTRIBUTIONS_MISSING),
    "investor_redemptions": ("GET", SIGNED_IN),
    "investor_redemption_cancel": ("POST", read_only_refused(OWN_OBJECT_POST)),
    "api_offering_list": ("GET", API_SIGNED_IN),
    "api_offering_eligibility": ("POST", read_only_refused(API_MISSING)),
    "api_subscription_create": ("POST", read_only_refused(API_MISSING)),
    # django-allauth
    "account_login": ("GET", SIGNED_OUT),
    "account_signup": ("GET", SIGNED_OUT),
    "account_logout": ("GET", dict(zip(ROLES, (302, 200, 200, 200, 200, 200, 200, 200), strict=True))),
    "account_inactive": ("GET", PUBLIC),
    "account_reauthenticate": ("GET", ACCOUNT),
    "account_email": ("GET", ACCOUNT),
    "account_email_verification_sent": ("GET", PUBLIC),
    "account_change_password": ("GET", ACCOUNT),
    "account_set_password": ("GET", dict(zip(ROLES, (302, 302, 302, 302, 302, 302, 302, 302), strict=True))),
    "account_reset_password": ("GET", PUBLIC),
    "account_confirm_login_code": ("GET", dict(zip(ROLES, (302, 302, 302, 302, 302, 302, 302, 302), strict=True))),
    "account_confirm_email": ("GET", PUBLIC),
    "account_reset_password_from_key_done": ("GET", PUBLIC),
    "account_reset_password_from_key": ("GET", PUBLIC),
    "account_reset_password_done": ("GET", PUBLIC),
    "mfa_index": ("GET", ACCOUNT),
    "mfa_authenticate": ("GET", REAUTHENTICATE),  # only during a login that is waiting for its code
    # Re-entering a code needs an authenticator: the investor has none and is sent on.
    "mfa_reauthenticate": ("GET", dict(zip(ROLES, (302, 302, 200, 200, 200, 200, 200, 200), strict=True))),
    "mfa_activate_totp": ("GET", REAUTHENTICATE),
    # The investor has no TOTP to deactivate.
    "mfa_deactivate_totp": ("GET", dict(zip(ROLES, (302, 404, 302, 302, 302, 302, 302, 302), strict=True))),
    "mfa_view_recovery_codes": ("GET", NO_RECOVERY_CODES),
    "mfa_generate_recovery_codes": ("GET", REAUTHENTICATE),
    "mfa_download_recovery_codes": ("GET", NO_RECOVERY_CODES),
    "mfa_list_webauthn": ("GET", ACCOUNT),
    "mfa_add_webauthn": ("GET", REAUTHENTICATE),
    "mfa_reauthenticate_webauthn": ("GET", REAUTHENTICATE),
    "mfa_remove_webauthn": ("GET", REAUTHENTICATE),
    "mfa_edit_webauthn": ("GET", REAUTHENTICATE),
}

# Admin URLs whose answer for staff differs from a plain 200, with the reason.
ADMIN_STAFF_EXCEPTIONS: dict[str, int] = {
    "admin:logout": 405,  # Django 5 signs out only on POST
    "admin:login": 302,  # sign-in goes through the portal's login; staff already signed in go home
    "admin:core_auditevent_add": 403,  # the audit chain is append-only through services
    "admin:core_auditevent_delete": 403,
    "admin:view_on_site": 404,  # issuers have no public URL on the model
    "admin:autocomplete": 403,  # answers only the admin's own widget requests, with their parameters
    "admin:?": 302,  # the object URL without /change/ redirects to it
    # Read-only onboarding records: the cast has none, so the admin sends staff back to its index.
    **{
        f"admin:{model}_change": 302
        for model in (
            "investors_investorprofile",
            "investors_accreditationclaim",
            "investors_taxform",
            "investors_wallet",
            "investors_issuerapplication",
            "compliance_kyccheck",
            "compliance_sanctionslist",
            "compliance_screeninghit",
            "offerings_offering",
            "offerings_offeringdocument",
            "offerings_subscription",
            "offerings_payment",
            "offerings_paymententry",
            "offerings_refund",
            "offerings_webhookevent",
            "offerings_wirereceipt",
            "offerings_mintbatch",
            "investors_holderrecordversion",
            "registry_ledgerposting",
            "registry_lot",
            "registry_lotmovement",
            "registry_issuerauthorization",
            "registry_controlbookentry",
            "registry_recorddifference",
            "registry_reconciliation",
            "registry_recorddifferencereport",
        )
    },
}


def _walk(patterns: list, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        else:
            yield f"{namespace}{pattern.name or '?'}", prefix + str(pattern.pattern), pattern


ALL_PATTERNS = list(_walk(get_resolver().url_patterns))


def _concrete_path(route: str, name: str, cast: Cast) -> str:
    """Turn a route into a real path, filling every parameter with an object of the cast."""
    object_id = "0"
    admin_model = re.match(r"admin:(\w+)_(change|delete|history)$", name)
    if admin_model is None and name == "admin:?" and "object_id" in route:
        admin_model = re.match(r"(\w+)", "_".join(route.split("/")[1:3]))
    if admin_model:
        models = [m for m in admin.site._registry if f"{m._meta.app_label}_{m._meta.model_name}" == admin_model[1]]
        obj = models[0]._default_manager.order_by("pk").first() if models else None
        object_id = str(obj.pk) if obj else "0"
    values = {
        "slug": cast.issuer.slug,
        "membership_id": str(cast.agent_membership.pk),
        "tx_id": "999999",
        "tx_hash": "0x" + "ab" * 32,
        "address": "0x" + "12" * 20,
        "object_id": object_id,
        "id": str(cast.investor.pk),
        "pk": "999999",
        "key": "not-a-real-key",
        "uidb36": "zz",
        "app_label": "core",
        "content_type_id": str(ContentType.objects.get_for_model(type(cast.issuer)).pk),
        "url": "no-such-page/",
        "owner_id": "999999",
        "wallet_id": "999999",
        "hit_id": "999999",
        "public_id": "00000000-0000-4000-8000-000000000000",
        "claim_id": "00000000-0000-4000-8000-000000000001",
        "document_id": "00000000-0000-4000-8000-000000000002",
        "provider": "vendor",
        "subscription_id": "00000000-0000-4000-8000-000000000003",
        "receipt_id": "999999",
        "refund_id": "999999",
        "case_id": "999999",
        "event_id": "999999",
        "batch_id": "999999",
        "approval_id": "999999",
        "investor_id": "00000000-0000-4000-8000-000000000004",
        "action_id": "00000000-0000-4000-8000-000000000005",
        "job_id": "00000000-0000-4000-8000-000000000006",
        "invitation_id": "999999",
        "token": "not-a-real-token",
        "distribution_id": "00000000-0000-4000-8000-000000000007",
        "ballot_id": "00000000-0000-4000-8000-000000000009",
        "holder": "0x000000000000000000000000000000000000dead",
        "token_id": "999999",
        "authorization_id": "999999",
        "year": "2026",
        "fmt": "csv",
        "form": "form_1099_div",
        "run_id": "00000000-0000-4000-8000-000000000008",
        "kind": "xml",
        "statement_id": "00000000-0000-4000-8000-00000000000a",
        "transfer_id": "00000000-0000-4000-8000-00000000000d",
        "notification_id": "999999",
        "day_id": "00000000-0000-4000-8000-00000000000b",
        "request_id": "00000000-0000-4000-8000-00000000000c",
        "point_id": "00000000-0000-4000-8000-00000000000d",
    }
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m[1]], route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m[1]], path)
    return "/" + path.replace("^", "").replace("$", "")


def _schedule_objects() -> None:
    """Rows for the admin's object pages of the beat schedule models."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    every = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    CrontabSchedule.objects.create(minute="0", hour="3")
    PeriodicTask.objects.create(name="heartbeat", task="core.tasks.worker_heartbeat", interval=every)


def _expected(name: str, route: str) -> tuple[str, dict[str, int]] | None:
    if name in MATRIX:
        return MATRIX[name]
    if route.startswith("admin/"):
        staff = ADMIN_STAFF_EXCEPTIONS.get(name, 200)
        if name == "admin:?" and route.endswith("(?P<url>.*)$"):
            staff = 404  # the admin's catch-all for unknown paths
        return "GET", {**ADMIN, "staff": staff}
    return None


@pytest.mark.parametrize(("name", "route"), [(n, r) for n, r, _ in ALL_PATTERNS], ids=[r for _, r, _ in ALL_PATTERNS])
def test_every_url_answers_each_role_as_the_access_rules_say(name: str, route: str, cast: Cast) -> None:
    _schedule_objects()
    expectation = _expected(name, route)
    assert expectation is not None, f"URL {route!r} ({name}) has no access rule in the matrix: add one."
    method, statuses = expectation
    path = _concrete_path(route, name, cast)
    got: dict[str, int] = {}
    for role in ROLES:
        client = Client()
        user = cast.by_role(role)
        if user is not None:
            client.force_login(user)
        with transaction.atomic():
            response = client.post(path) if method == "POST" else client.get(path)
            transaction.set_rollback(True)  # a POST by one role must not change what the next role sees
        got[role] = response.status_code
    assert got == statuses, f"{method} {path}"


def test_privileged_roles_without_mfa_are_told_how_to_get_a_factor(cast: Cast) -> None:
    from allauth.mfa.models import Authenticator

    Authenticator.objects.filter(user=cast.admin).delete()
    client = Client()
    client.force_login(cast.admin)
    response = client.get(f"/issuers/{cast.issuer.slug}/")
    assert response.status_code == 302
    assert response["Location"] == "/two-factor/needed/"
    api = client.get(f"/api/v1/issuers/{cast.issuer.slug}/team/")
    assert api.status_code == 403
    assert "two-factor" in api.json()["error"]["message"]
    # Investor pages stay open: MFA is required for the role's pages, not for the account.
    assert client.get("/dashboard/").status_code == 200


@pytest.mark.parametrize("role", ["admin", "compliance", "agent", "staff", "platform_compliance"])
def test_allauths_enrolment_pages_refuse_privileged_roles_without_a_factor(role: str, cast: Cast) -> None:
    from allauth.mfa.models import Authenticator

    user = cast.by_role(role)
    assert user is not None
    Authenticator.objects.filter(user=user).delete()
    client = Client()
    client.force_login(user)
    for name in ("mfa_activate_totp", "mfa_add_webauthn"):
        path = next(_concrete_path(r, n, cast) for n, r, _ in ALL_PATTERNS if n == name)
        assert client.get(path).status_code == 403, path
        assert client.post(path, {"code": "123456"}).status_code == 403, path
    assert not Authenticator.objects.filter(user=user).exists()
