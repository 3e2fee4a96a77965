"""The holder's transfer form, the exception request form, and the issuer's decision on a request."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms

from core.forms import FormStyleMixin
from transfers.models import ExceptionKind

OTHER = "other"


class _Tokened(FormStyleMixin, forms.Form):
    """A one-time token: the same form sent twice finds what the first made."""

    form_token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["form_token"].initial = str(uuid.uuid4())


def _wallet_label(address: str, units: int, symbol: str, custodian: str) -> str:
    held = f"{units:,} {symbol}"
    return f"{address} — {held}" + (f" (held by {custodian})" if custodian else " (your own wallet)")


class TransferForm(_Tokened):
    from_wallet = forms.ChoiceField(label="From", choices=[])
    destination = forms.ChoiceField(
        label="To",
        choices=[],
        help_text="Another verified investor's wallet, or another wallet of your own.",
    )
    to_address = forms.CharField(
        label="Receiving wallet address",
        required=False,
        max_length=80,
        help_text="Ask the receiving investor for a wallet registered to them in the portal (0x…).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "0x…"}),
    )
    quantity = forms.IntegerField(label="Quantity", min_value=1, max_value=2**127)
    field_order = ["from_wallet", "destination", "to_address", "quantity"]

    def __init__(self, *args: Any, senders: list[Any], own: list[str], symbol: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from_wallet"].choices = [  # type: ignore[attr-defined]
            (w.address, _wallet_label(w.address, w.units, symbol, w.custodian_name)) for w in senders
        ]
        self.fields["destination"].choices = [  # type: ignore[attr-defined]
            (OTHER, "Another investor's wallet (type its address below)"),
            *((address, f"My wallet {address}") for address in own),
        ]
        self.fields["quantity"].widget.attrs.update({"inputmode": "numeric"})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("destination") == OTHER:
            if not (data.get("to_address") or "").strip():
                self.add_error("to_address", "Enter the receiving wallet's address.")
            data["to_wallet"] = (data.get("to_address") or "").strip()
        else:
            data["to_wallet"] = data.get("destination", "")
        return data


class ExceptionRequestForm(_Tokened):
    kind = forms.ChoiceField(
        label="Why the transfer is allowed", choices=ExceptionKind.choices, widget=forms.RadioSelect
    )
    from_wallet = forms.ChoiceField(label="From (the wallet holding the units)", choices=[])
    to_wallet = forms.CharField(
        label="To (the receiving wallet)",
        max_length=80,
        help_text="For a lost wallet: the new wallet of yours, linked and registered. Otherwise the receiver's wallet.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "0x…"}),
    )
    quantity = forms.IntegerField(
        label="Quantity",
        min_value=1,
        max_value=2**127,
        required=False,
        help_text="For a lost wallet everything in it moves; leave it empty.",
    )
    explanation = forms.CharField(
        label="Explain the transfer",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Who receives the units and why the exception applies; the issuer reads it.",
    )
    document = forms.FileField(
        label="Supporting document",
        help_text="PDF, PNG or JPEG: e.g. the receiver's accreditation letter, the trust deed, the court order, "
        "or the custodian's notice of a lost key.",
    )
    field_order = ["kind", "from_wallet", "to_wallet", "quantity", "explanation", "document"]

    def __init__(self, *args: Any, wallets: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from_wallet"].choices = [(w, w) for w in wallets]  # type: ignore[attr-defined]


class RequestDecisionForm(FormStyleMixin, forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Approve: propose the transfer to another issuer admin"), ("refuse", "Refuse")],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="Reason (for a refusal)",
        required=False,
        max_length=500,
        help_text="The holder reads it.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
