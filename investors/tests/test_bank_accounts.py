"""An investor's bank details for cash distributions: checked before they are kept, shown masked, replaced by
new details (the old ones kept, never edited), and seen by nobody else."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from core.errors import ApplicationError
from core.models import AuditEvent
from investors.bank_details import aba_routing_valid
from investors.models import BankAccount
from investors.services.bank_accounts import BankAccountInput, bank_account_add
from investors.tests.support import verified_investor

pytestmark = pytest.mark.django_db

URL = reverse("investor_bank_account")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _iban(**overrides: Any) -> dict[str, str]:
    values = {
        "holder_name": "Alice Example",
        "scheme": "iban",
        "iban": "DE89 3704 0044 0532 0130 00",
        "bic": "",
        "routing_number": "",
        "account_number": "",
        "currency": "EUR",
    }
    values.update(overrides)
    return values


def test_an_investor_adds_an_iban_and_sees_only_its_last_four_digits(cast) -> None:
    investor = verified_investor(user=cast.investor, wallet=None)

    response = _client(cast.investor).post(URL, _iban(), follow=True)

    account = BankAccount.objects.get(investor=investor)
    assert (account.iban, account.bic, account.last4) == ("DE89370400440532013000", "COBADEFFXXX", "3000")
    page = response.content.decode()
    assert "•••• 3000" in page and "DE89370400440532013000" not in page and "0532 0130" not in page
    assert "now paid to the account ending 3000" in page
    event = AuditEvent.objects.get(action="investor.bank_account_added")
    assert event.after is not None and event.after["last4"] == "3000"
    assert "DE89370400440532013000" not in str(event.after)


def test_new_details_supersede_the_old_ones_which_are_kept_unchanged(cast) -> None:
    investor = verified_investor(user=cast.investor, wallet=None)
    client = _client(cast.investor)
    client.post(URL, _iban())

    client.post(
        URL, _iban(scheme="aba", iban="", routing_number="021000021", account_number="123456789", currency="USD")
    )

    old, new = BankAccount.objects.filter(investor=investor).order_by("pk")
    assert old.superseded_at is not None and old.iban == "DE89370400440532013000"
    assert new.superseded_at is None and (new.routing_number, new.account_number) == ("021000021", "123456789")
    assert AuditEvent.objects.filter(action="investor.bank_account_replaced").exists()
    page = client.get(URL).content.decode()
    assert "Earlier details" in page and "•••• 6789" in page and "123456789" not in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"iban": "DE89370400440532013001"}, "That IBAN is not valid"),
        ({"iban": "hello"}, "That IBAN is not valid"),
        ({"bic": "XYZ"}, "That BIC is not valid"),
        ({"bic": "BNPAFRPPXXX"}, "The BIC is of a bank in FR, the IBAN of an account in DE"),
        ({"iban": "GB82WEST12345698765432"}, "enter its BIC as well"),
        ({"scheme": "aba", "routing_number": "021000022", "account_number": "123456"}, "routing number is not valid"),
        (
            {"scheme": "aba", "routing_number": "021000021", "account_number": "12", "currency": "USD"},
            "The account number must be 4 to 17 digits",
        ),
        ({"scheme": "aba", "routing_number": "021000021", "account_number": "123456"}, "pays in USD"),
        ({"holder_name": "   "}, "holder"),
    ],
)
def test_wrong_bank_details_are_refused_with_a_clear_error_and_nothing_is_kept(
    cast, overrides: dict[str, str], message: str
) -> None:
    verified_investor(user=cast.investor, wallet=None)

    response = _client(cast.investor).post(URL, _iban(**overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not BankAccount.objects.exists()


def test_an_investor_sees_only_their_own_bank_details(cast) -> None:
    mine = verified_investor(user=cast.investor, wallet=None)
    theirs = verified_investor(name="Bob Other", wallet=None)
    bank_account_add(investor=mine, actor=cast.investor, data=BankAccountInput(**_iban()))
    bank_account_add(
        investor=theirs,
        actor=theirs.user,
        data=BankAccountInput(**_iban(holder_name="Bob Other", iban="NL91ABNA0417164300")),
    )

    page = _client(cast.investor).get(URL).content.decode()
    other = _client(theirs.user).get(URL).content.decode()

    assert "•••• 3000" in page and "4300" not in page and "Bob Other" not in page
    assert "•••• 4300" in other and "3000" not in other


def test_a_transfer_agent_never_opens_the_bank_details_page(cast) -> None:
    assert _client(cast.agent).get(URL).status_code == 403


def test_one_active_account_per_investor_is_kept_by_the_database(cast) -> None:
    investor = verified_investor(user=cast.investor, wallet=None)
    first = bank_account_add(investor=investor, actor=cast.investor, data=BankAccountInput(**_iban()))
    with pytest.raises(IntegrityError), transaction.atomic():
        BankAccount.objects.create(
            investor=investor,
            holder_name="x",
            scheme="iban",
            iban=first.iban,
            bic=first.bic,
            last4="3000",
            country="DE",
            currency="EUR",
            added_by=cast.investor,
        )


@pytest.mark.parametrize(
    ("routing", "valid"),
    [("011000015", True), ("121000358", True), ("011000016", False), ("12345678", False), ("01100001a", False)],
)
def test_aba_routing_numbers_are_checked_by_their_checksum(routing: str, valid: bool) -> None:
    assert aba_routing_valid(routing) is valid


def test_the_service_refuses_an_unknown_kind_of_account(cast) -> None:
    investor = verified_investor(user=cast.investor, wallet=None)
    with pytest.raises(ApplicationError) as refused:
        bank_account_add(investor=investor, actor=cast.investor, data=BankAccountInput(**_iban(scheme="swift")))
    assert refused.value.code == "invalid_scheme"
