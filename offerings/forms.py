"""Browser forms. Amounts are typed as decimals and turned into exact minor units here."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from compliance.exemptions import DAY_SECONDS, Exemption
from core.countries import country_choices
from core.forms import FormStyleMixin
from core.money import CURRENCY_EXPONENTS, AmountInvalid, amount_parse
from offerings.models import DocumentKind, Offering, SecurityType
from offerings.services.offerings import OfferingInput

CURRENCY_CHOICES = [(c, c) for c in ("USD", "EUR", "GBP", "CHF", "JPY")]
DECIMAL = forms.TextInput(attrs={"inputmode": "decimal"})


def to_minor(value: str, currency: str, *, label: str) -> int:
    try:
        return amount_parse(value, currency, label=label)
    except AmountInvalid as exc:
        raise forms.ValidationError(exc.message) from exc


def from_minor(minor: int | None, currency: str) -> str:
    if minor is None:
        return ""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    if not exponent:
        return str(minor)
    whole, frac = divmod(minor, 10**exponent)
    return f"{whole}.{frac:0{exponent}d}"


class OfferingForm(FormStyleMixin, forms.Form):
    mark_optional = True

    title = forms.CharField(max_length=200)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    security_type = forms.ChoiceField(choices=SecurityType.choices)
    exemption = forms.ChoiceField(
        choices=Exemption.choices, help_text="Its rules are filled in from the table below; you may tighten them."
    )
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES, initial="USD")
    price = forms.CharField(label="Price per token", help_text="In the offering's currency, e.g. 10.00")
    min_investment = forms.CharField(label="Minimum investment")
    max_investment = forms.CharField(label="Maximum investment per investor", required=False)
    soft_cap = forms.CharField(label="Soft cap (minimum to close)")
    hard_cap = forms.CharField(label="Hard cap")
    opens_at = forms.DateTimeField(
        label="Opens (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    closes_at = forms.DateTimeField(
        label="Closes (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    allowed_countries = forms.MultipleChoiceField(
        choices=country_choices,
        required=False,
        help_text="Leave empty to allow every country not blocked.",
        widget=forms.SelectMultiple(attrs={"size": 6, "data-searchable": ""}),
    )
    blocked_countries = forms.MultipleChoiceField(
        choices=country_choices,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6, "data-searchable": ""}),
    )
    token_name = forms.CharField(max_length=64)
    token_symbol = forms.CharField(max_length=11, help_text="2 to 11 letters or digits.")
    payment_due_business_days = forms.IntegerField(
        label="Time to pay (business days)",
        required=False,
        min_value=1,
        max_value=30,
        help_text="An unpaid reservation ends this long after it was made; empty: 5.",
    )
    lockup_days = forms.IntegerField(
        label="Lock-up (days)",
        required=False,
        min_value=0,
        max_value=36_500,
        help_text="Leave empty for the exemption's lock-up.",
    )
    max_non_accredited = forms.IntegerField(
        label="Non-accredited purchasers at most",
        required=False,
        min_value=0,
        max_value=100_000,
        help_text="Rule 506(b) only; leave empty for the exemption's figure.",
    )
    accredited_only = forms.BooleanField(label="Accredited investors only", required=False)
    accreditation_verified = forms.BooleanField(label="Require verified accreditation", required=False)
    exclude_us_persons = forms.BooleanField(label="Exclude US persons", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        currency = data.get("currency") or "USD"
        for name, label, required in (
            ("price", "price per token", True),
            ("min_investment", "minimum investment", True),
            ("max_investment", "maximum investment", False),
            ("soft_cap", "soft cap", True),
            ("hard_cap", "hard cap", True),
        ):
            raw = data.get(name)
            if not raw and not required:
                data[f"{name}_minor"] = None
                continue
            if raw is None:
                continue
            try:
                data[f"{name}_minor"] = to_minor(raw, currency, label=label)
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        return data

    def to_input(self) -> OfferingInput:
        d = self.cleaned_data
        rules: dict[str, Any] = {}
        if d.get("lockup_days") is not None:
            rules["lockup_seconds"] = d["lockup_days"] * DAY_SECONDS
        if d.get("max_non_accredited") is not None:
            rules["max_non_accredited"] = d["max_non_accredited"]
        if d.get("accredited_only"):
            rules["accredited_only"] = True
        if d.get("accreditation_verified"):
            rules["accreditation_verified"] = True
        if d.get("exclude_us_persons"):
            rules["us_persons_allowed"] = False
        return OfferingInput(
            title=d["title"],
            summary=d.get("summary", ""),
            security_type=d["security_type"],
            exemption=d["exemption"],
            currency=d["currency"],
            price_minor=d["price_minor"],
            min_investment_minor=d["min_investment_minor"],
            max_investment_minor=d.get("max_investment_minor"),
            soft_cap_minor=d["soft_cap_minor"],
            hard_cap_minor=d["hard_cap_minor"],
            opens_at=_aware(d["opens_at"]),
            closes_at=_aware(d["closes_at"]),
            allowed_countries=tuple(d.get("allowed_countries") or ()),
            blocked_countries=tuple(d.get("blocked_countries") or ()),
            token_name=d["token_name"],
            token_symbol=d["token_symbol"],
            rules=rules,
            payment_due_business_days=d.get("payment_due_business_days"),
        )

    @classmethod
    def initial_for(cls, offering: Offering) -> dict[str, Any]:
        from compliance.exemptions import exemption_profile

        profile = exemption_profile(offering.exemption)
        cur = offering.currency
        return {
            "title": offering.title,
            "summary": offering.summary,
            "security_type": offering.security_type,
            "exemption": offering.exemption,
            "currency": cur,
            "price": from_minor(offering.price_minor, cur),
            "min_investment": from_minor(offering.min_investment_minor, cur),
            "max_investment": from_minor(offering.max_investment_minor, cur),
            "soft_cap": from_minor(offering.soft_cap_minor, cur),
            "hard_cap": from_minor(offering.hard_cap_minor, cur),
            "opens_at": offering.opens_at,
            "closes_at": offering.closes_at,
            "allowed_countries": offering.allowed_countries,
            "blocked_countries": offering.blocked_countries,
            "token_name": offering.token_name,
            "token_symbol": offering.token_symbol,
            "payment_due_business_days": offering.payment_due_business_days,
            "lockup_days": offering.lockup_seconds // DAY_SECONDS
            if offering.lockup_seconds != profile.lockup_seconds
            else None,
            "max_non_accredited": offering.max_non_accredited
            if offering.max_non_accredited != profile.max_non_accredited
            else None,
            "accredited_only": offering.accredited_only and not profile.accredited_only,
            "accreditation_verified": offering.accreditation_verified and not profile.accreditation_verified,
            "exclude_us_persons": not offering.us_persons_allowed and profile.us_persons_allowed,
        }


def _aware(value: dt.datetime) -> dt.datetime:
    return value if timezone.is_aware(value) else timezone.make_aware(value, dt.UTC)


class DocumentUploadForm(FormStyleMixin, forms.Form):
    mark_optional = True

    kind = forms.ChoiceField(choices=DocumentKind.choices, label="Document")
    title = forms.CharField(max_length=200, required=False, help_text="Leave empty to use the document's kind.")
    file = forms.FileField(label="PDF file", widget=forms.FileInput(attrs={"accept": "application/pdf"}))
    material = forms.BooleanField(
        required=False,
        label="This is a material change",
        help_text="Investors with open subscriptions are told; Reg CF commitments must be reconfirmed.",
    )
    change_note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="What changed")

    def __init__(self, *args: Any, offering: Offering, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Form C belongs to Regulation Crowdfunding offerings (Reg CF 227.201); other offerings are not offered it.
        if offering.exemption != Exemption.REG_CF:
            self.fields["kind"].choices = [  # type: ignore[attr-defined]
                (k, label) for k, label in DocumentKind.choices if k != DocumentKind.FORM_C
            ]


class SubscribeForm(FormStyleMixin, forms.Form):
    mark_optional = True

    amount = forms.CharField(label="Amount to invest", widget=DECIMAL)
    annual_income = forms.CharField(
        label="Your annual income",
        required=False,
        help_text="Self-certified; used only for your investment limit.",
        widget=DECIMAL,
    )
    net_worth = forms.CharField(
        label="Your net worth", required=False, help_text="Excluding your primary residence.", widget=DECIMAL
    )

    def __init__(self, *args: Any, offering: Offering, needs_financials: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offering = offering
        self.fields["amount"].help_text = f"In {offering.currency}, a whole number of tokens."
        if not needs_financials:
            del self.fields["annual_income"]
            del self.fields["net_worth"]
        else:
            self.fields["annual_income"].required = True
            self.fields["net_worth"].required = True

    def clean_amount(self) -> int:
        minor = to_minor(self.cleaned_data["amount"], self.offering.currency, label="amount")
        if minor <= 0:
            raise forms.ValidationError("Enter an amount above zero.")
        if minor % self.offering.price_minor:
            from core.money import Money

            price = Money(self.offering.price_minor, self.offering.currency)
            below = minor - minor % self.offering.price_minor
            raise forms.ValidationError(
                f"The amount must buy a whole number of tokens at {price} each; "
                f"for example {Money(below, self.offering.currency) if below else price}."
            )
        return minor

    def clean_annual_income(self) -> int:
        return to_minor(self.cleaned_data["annual_income"], "USD", label="annual income")

    def clean_net_worth(self) -> int:
        return to_minor(self.cleaned_data["net_worth"], "USD", label="net worth")


class WireRecordForm(FormStyleMixin, forms.Form):
    mark_optional = True

    reference = forms.CharField(
        max_length=140, label="Payment reference", help_text="The investor's reference (TSR-…), as on the statement."
    )
    bank_reference = forms.CharField(
        max_length=200,
        label="Bank's reference",
        help_text="The bank's own id of the wire on the statement (transaction, IMAD or UETR number): the same "
        "wire is never credited twice.",
    )
    amount = forms.CharField()
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES, initial="USD")
    received_on = forms.DateField(
        label="Date received", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    payer = forms.CharField(max_length=200, required=False, label="Sent by")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("amount") and data.get("currency"):
            try:
                data["amount_minor"] = to_minor(data["amount"], data["currency"], label="amount")
                if data["amount_minor"] <= 0:
                    self.add_error("amount", "The amount received must be above zero.")
            except forms.ValidationError as exc:
                self.add_error("amount", exc)
        return data


class StatementImportForm(FormStyleMixin, forms.Form):
    statement = forms.FileField(
        label="Bank statement (CSV)",
        help_text="Columns: date, amount, currency, reference; optionally id, payer.",
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )


class ReasonForm(FormStyleMixin, forms.Form):
    mark_optional = True

    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
