"""Redemption forms: the issuer's terms, a dealing day's NAV, and a holder's request. They only parse input;
the services decide."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms

from distributions.models import PaymentMethod
from redemptions.models import DealingFrequency, RedemptionTerms
from redemptions.services.terms import MAX_NOTICE_DAYS, TermsInput

MAX_UNITS = 10**15


class TermsForm(forms.Form):
    active = forms.BooleanField(label="Take redemption requests", required=False, initial=True)
    frequency = forms.ChoiceField(label="Dealing frequency", choices=DealingFrequency.choices)
    cutoff_time = forms.TimeField(
        label="Cut-off time", help_text="Requests for a dealing day are taken until then (24-hour clock, e.g. 16:00)."
    )
    cutoff_timezone = forms.CharField(label="Time zone of the cut-off", initial="UTC", max_length=64)
    notice_days = forms.IntegerField(
        label="Notice period (days)",
        min_value=0,
        max_value=MAX_NOTICE_DAYS,
        initial=0,
        help_text="A request counts for the first dealing day at least this far off.",
    )
    minimum_units = forms.IntegerField(label="Minimum per request (units)", min_value=1, max_value=MAX_UNITS, initial=1)
    fee_bps = forms.IntegerField(
        label="Redemption fee (basis points)",
        min_value=0,
        max_value=10_000,
        initial=0,
        help_text="25 is 0.25% of the gross; rounded half up to the cent.",
    )
    gate_bps = forms.IntegerField(
        label="Gate (basis points of supply per dealing day)",
        min_value=1,
        max_value=10_000,
        required=False,
        help_text="Leave empty for no gate. Beyond it every request is scaled pro rata.",
    )
    allowed_countries = forms.CharField(
        label="Jurisdictions allowed",
        required=False,
        help_text="ISO country codes separated by commas (US, DE); empty: every country.",
    )
    lockups_apply = forms.BooleanField(
        label="Lock-ups apply",
        required=False,
        initial=True,
        help_text="Units still locked up at a dealing day's cut-off cannot be asked for. Untick it to buy back "
        "locked-up units too.",
    )
    payout_method = forms.ChoiceField(label="Payout", choices=PaymentMethod.choices)

    @classmethod
    def initial_of(cls, terms: RedemptionTerms | None) -> dict[str, Any]:
        if terms is None:
            return {
                "frequency": DealingFrequency.DAILY,
                "cutoff_time": "16:00",
                "payout_method": PaymentMethod.STABLECOIN,
                "lockups_apply": True,
            }
        return {
            "active": terms.active,
            "frequency": terms.frequency,
            "cutoff_time": terms.cutoff_time.strftime("%H:%M"),
            "cutoff_timezone": terms.cutoff_timezone,
            "notice_days": terms.notice_days,
            "minimum_units": terms.minimum_units,
            "fee_bps": terms.fee_bps,
            "gate_bps": terms.gate_bps,
            "allowed_countries": ", ".join(terms.allowed_countries),
            "payout_method": terms.payout_method,
            "lockups_apply": terms.lockups_apply,
        }

    def to_input(self) -> TermsInput:
        data = self.cleaned_data
        return TermsInput(
            active=bool(data["active"]),
            frequency=data["frequency"],
            cutoff_time=data["cutoff_time"],
            cutoff_timezone=data["cutoff_timezone"].strip(),
            notice_days=data["notice_days"],
            minimum_units=data["minimum_units"],
            fee_bps=data["fee_bps"],
            gate_bps=data["gate_bps"],
            allowed_countries=[c for c in data["allowed_countries"].replace(";", ",").split(",") if c.strip()],
            payout_method=data["payout_method"],
            lockups_apply=bool(data["lockups_apply"]),
        )


class NavForm(forms.Form):
    nav = forms.CharField(label="NAV per unit", max_length=40, help_text="In the token's currency, e.g. 1.02345678.")
    source = forms.CharField(
        label="Source", max_length=300, help_text="Where it comes from: the administrator's NAV statement of the day."
    )


class RequestForm(forms.Form):
    """A holder's request for one token; `wallets` are the holder's wallets holding it, largest first."""

    offering = forms.UUIDField(widget=forms.HiddenInput)
    form_token = forms.UUIDField(widget=forms.HiddenInput)
    # The dealing day the page offered: a request sent after its cut-off is refused, not moved to the next one.
    dealing_date = forms.DateField(widget=forms.HiddenInput, required=False)
    wallet = forms.ChoiceField(label="From wallet")
    quantity = forms.IntegerField(label="Units to redeem", min_value=1, max_value=MAX_UNITS)

    def __init__(self, *args: Any, wallets: list[tuple[str, int]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        wallet = self.fields["wallet"]
        assert isinstance(wallet, forms.ChoiceField)
        wallet.choices = [(w, f"{w[:10]}…{w[-4:]} ({n:,} units)") for w, n in wallets]
        if not self.is_bound:
            self.initial.setdefault("form_token", uuid.uuid4())
