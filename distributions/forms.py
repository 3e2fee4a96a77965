"""The declare form: amounts typed in major units, turned into exact minor units of the chosen currency."""

from __future__ import annotations

from typing import Any

from django import forms

from core.forms import FormStyleMixin
from core.money import CURRENCY_EXPONENTS, AmountInvalid, amount_parse
from distributions.models import AmountBasis, DistributionKind, PaymentMethod
from distributions.services.declaring import DistributionInput

CURRENCY_CHOICES = [(c, c) for c in CURRENCY_EXPONENTS if c != "USDC"]
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class DistributionDeclareForm(FormStyleMixin, forms.Form):
    mark_optional = True

    kind = forms.ChoiceField(choices=DistributionKind.choices)
    amount_basis = forms.ChoiceField(label="The amount is", choices=AmountBasis.choices, widget=forms.RadioSelect)
    amount = forms.CharField(
        max_length=40,
        help_text="In major units, e.g. 250000.00 in total or 0.15 per token.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES, initial="USD")
    record_date = forms.DateField(
        widget=DATE, help_text="Holders at the end of this day (UTC) are entitled; the token records it on-chain."
    )
    payment_date = forms.DateField(widget=DATE)
    payment_method = forms.ChoiceField(choices=PaymentMethod.choices, widget=forms.RadioSelect)
    excluded_wallets = forms.CharField(
        label="Wallets excluded (the issuer's own treasury wallets)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="One address per line. Units in these wallets take no part and receive nothing.",
    )
    reinvestment_price = forms.CharField(
        label="Reinvestment price per token",
        required=False,
        max_length=40,
        help_text="Holders who elected reinvestment receive tokens at this price. Leave empty to pay everyone cash.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def _minor(self, name: str, label: str, currency: str, data: dict[str, Any]) -> int | None:
        raw = (data.get(name) or "").strip()
        if not raw:
            return None
        try:
            return amount_parse(raw, currency, label=label)
        except AmountInvalid as exc:
            self.add_error(name, exc.message)
            return None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        currency = data.get("currency") or "USD"
        data["amount_minor"] = self._minor("amount", "amount", currency, data)
        if data["amount_minor"] == 0:
            self.add_error("amount", "The amount must be above zero.")
        data["reinvestment_price_minor"] = self._minor("reinvestment_price", "reinvestment price", currency, data)
        if data["reinvestment_price_minor"] == 0:
            self.add_error("reinvestment_price", "The reinvestment price must be above zero, or left empty.")
        record, payment = data.get("record_date"), data.get("payment_date")
        if record and payment and payment < record:
            self.add_error("payment_date", "The payment date cannot be before the record date.")
        return data

    def to_input(self) -> DistributionInput:
        d = self.cleaned_data
        return DistributionInput(
            kind=d["kind"],
            amount_basis=d["amount_basis"],
            amount_minor=d["amount_minor"],
            currency=d["currency"],
            record_date=d["record_date"],
            payment_date=d["payment_date"],
            payment_method=d["payment_method"],
            excluded_wallets=(d.get("excluded_wallets") or "").split(),
            reinvestment_price_minor=d["reinvestment_price_minor"],
        )


class PayingAccountForm(FormStyleMixin, forms.Form):
    """The issuer's own account a payment run is paid from; the service checks the numbers."""

    holder_name = forms.CharField(label="Account holder", max_length=200)
    scheme = forms.ChoiceField(
        label="Kind of account",
        choices=[("iban", "IBAN and BIC"), ("aba", "US routing number (ABA) and account number")],
        widget=forms.RadioSelect,
        initial="iban",
    )
    iban = forms.CharField(label="IBAN", required=False, max_length=50)
    bic = forms.CharField(label="BIC", required=False, max_length=20)
    routing_number = forms.CharField(label="ABA routing number", required=False, max_length=20)
    account_number = forms.CharField(label="Account number", required=False, max_length=30)


class BankConfirmationForm(FormStyleMixin, forms.Form):
    file = forms.FileField(
        label="The bank's confirmation",
        help_text="camt.054 debit notification, pain.002 status report, or a CSV with end_to_end_id, status, "
        "reason_code, reason and bank_reference columns.",
    )


class PayerDetailsForm(FormStyleMixin, forms.Form):
    """The issuer's EIN and address as its information returns name the payer."""

    mark_optional = True

    tax_id = forms.CharField(
        label="EIN", max_length=11, required=False, help_text="The issuer's employer identification number."
    )
    address_line1 = forms.CharField(label="Address", max_length=200, required=False)
    address_line2 = forms.CharField(label="Address (line 2)", max_length=200, required=False)
    city = forms.CharField(label="City or town", max_length=100, required=False)
    region = forms.CharField(label="State or region", max_length=100, required=False)
    postal_code = forms.CharField(label="ZIP or postal code", max_length=20, required=False)
