"""Bank details an investor's cash distributions are paid to: added, or replaced by new ones (the old stay on
file, superseded, never edited)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError
from core.models import User
from core.money import CURRENCY_EXPONENTS
from investors.bank_details import bank_account_check
from investors.models import BankAccount, BankScheme, InvestorProfile

BANK_CURRENCIES = tuple(c for c in CURRENCY_EXPONENTS if c != "USDC")


@dataclass(frozen=True)
class BankAccountInput:
    holder_name: str
    scheme: str
    currency: str
    iban: str = ""
    bic: str = ""
    routing_number: str = ""
    account_number: str = ""


@transaction.atomic
def bank_account_add(*, investor: InvestorProfile, actor: User, data: BankAccountInput) -> BankAccount:
    """Record new bank details as the investor's active ones; the previous details are superseded."""
    holder = " ".join((data.holder_name or "").split())
    if not holder:
        raise ApplicationError(
            "Enter the account holder's name as the bank knows it.",
            code="holder_missing",
            extra={"field": "holder_name"},
        )
    if len(holder) > 140:
        raise ApplicationError(
            "The account holder's name is longer than the 140 characters a payment carries.",
            code="holder_too_long",
            extra={"field": "holder_name"},
        )
    currency = (data.currency or "").upper()
    if currency not in BANK_CURRENCIES:
        raise ApplicationError(
            f"Choose the account's currency: one of {', '.join(BANK_CURRENCIES)}.",
            code="invalid_currency",
            extra={"field": "currency"},
        )
    checked = bank_account_check(
        scheme=data.scheme,
        iban=data.iban,
        bic=data.bic,
        routing_number=data.routing_number,
        account_number=data.account_number,
    )
    if checked.scheme == BankScheme.ABA and currency != "USD":
        raise ApplicationError(
            "A US routing number pays in USD: choose USD, or give an IBAN for an account in another currency.",
            code="aba_not_usd",
            extra={"field": "currency"},
        )
    # Lock the investor so two submissions at once leave one active account.
    InvestorProfile.objects.select_for_update().filter(pk=investor.pk).first()
    previous = BankAccount.objects.select_for_update().filter(investor=investor, superseded_at__isnull=True).first()
    now = timezone.now()
    if previous is not None:
        previous.superseded_at = now
        previous.save(update_fields=["superseded_at"])
    account = BankAccount.objects.create(
        investor=investor,
        holder_name=holder,
        scheme=checked.scheme,
        iban=checked.iban,
        bic=checked.bic,
        routing_number=checked.routing_number,
        account_number=checked.account_number,
        last4=checked.number[-4:],
        country=checked.country,
        currency=currency,
        added_by=actor,
    )
    audit_record(
        actor=actor,
        action="investor.bank_account_replaced" if previous else "investor.bank_account_added",
        obj=account,
        before={"bank_account": previous.public_id.hex, "last4": previous.last4} if previous else None,
        after={
            "bank_account": account.public_id.hex,
            "scheme": account.scheme,
            "last4": account.last4,
            "bic": account.bic,
            "routing_number": account.routing_number,
            "country": account.country,
            "currency": account.currency,
        },
    )
    return account
