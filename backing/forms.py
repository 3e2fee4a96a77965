"""Pages' forms for backing: the profile with its custodians, the rule, a reserve statement with its lines,
a CSV import. They read input; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms

from backing.models import AttestorKind, BackingAsset, CustodianRole, HolderClaim, LegalStructure
from backing.quantities import QuantityInvalid, amount_parse
from core.forms import FormStyleMixin

DATE = forms.DateInput(attrs={"type": "date"})
PDF_INPUT = forms.FileInput(attrs={"accept": "application/pdf"})


class ProfileForm(FormStyleMixin, forms.Form):
    asset_kind = forms.ChoiceField(label="What backs the token", choices=BackingAsset.choices)
    asset_details = forms.CharField(
        label="Details of the assets",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: US Treasury bills maturing within 3 months; 400 oz LBMA gold bars.",
    )
    legal_structure = forms.ChoiceField(label="Legal structure", choices=LegalStructure.choices)
    structure_name = forms.CharField(label="Name of the SPV, trust or fund", max_length=200, required=False)
    holder_claim = forms.ChoiceField(label="What a holder has", choices=HolderClaim.choices)
    reserves_segregated = forms.TypedChoiceField(
        label="Are the reserves segregated from the issuer's own assets?",
        choices=[("yes", "Yes"), ("no", "No")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    redemption_terms = forms.CharField(
        label="Redemption terms, in words", widget=forms.Textarea(attrs={"rows": 4}), max_length=5000
    )


class CustodianForm(FormStyleMixin, forms.Form):
    name = forms.CharField(label="Custodian", max_length=200, required=False)
    role = forms.ChoiceField(label="Role", choices=CustodianRole.choices, required=False)


CustodianFormSet = forms.formset_factory(CustodianForm, extra=3, max_num=20)


class RuleForm(FormStyleMixin, forms.Form):
    unit_code = forms.CharField(
        label="Reserve unit", max_length=12, help_text="A currency code such as USD, or a unit such as g or oz."
    )
    unit_scale = forms.IntegerField(
        label="Decimal places counted",
        min_value=0,
        max_value=18,
        help_text="2 counts cents of USD; 3 counts milligrams when the unit is g.",
    )
    reserve_per_token = forms.CharField(
        label="Reserve required per token",
        max_length=40,
        help_text="In the unit: 1.00 for one dollar per token, 1 for one gram; a fraction such as 1/3 is exact too.",
    )
    staleness_days = forms.IntegerField(
        label="Staleness limit (days)",
        min_value=1,
        max_value=3660,
        help_text="Mints stop when the latest approved attestation is older than this.",
    )


class StatementForm(FormStyleMixin, forms.Form):
    as_of = forms.DateField(label="Reserves as of", widget=DATE)
    period_start = forms.DateField(label="Period from", widget=DATE)
    period_end = forms.DateField(label="Period to", widget=DATE)
    attestor_name = forms.CharField(label="Attestor", max_length=200, help_text="The firm or custodian that signed.")
    attestor_kind = forms.ChoiceField(label="Kind of attestor", choices=AttestorKind.choices)
    document = forms.FileField(label="Attestation or audit report (PDF)", widget=PDF_INPUT, help_text="PDF only.")


class LineForm(FormStyleMixin, forms.Form):
    asset_kind = forms.ChoiceField(label="Asset type", choices=[("", "—"), *BackingAsset.choices], required=False)
    custodian = forms.CharField(label="Custodian", max_length=200, required=False)
    amount = forms.CharField(label="Amount", max_length=40, required=False)

    def __init__(self, *args: Any, scale: int = 2, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scale = scale

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        filled = [bool(data.get(k)) for k in ("asset_kind", "custodian", "amount")]
        if any(filled) and not all(filled):
            raise forms.ValidationError("Give the asset type, the custodian and the amount, or leave the line empty.")
        if all(filled):
            try:
                data["amount_counts"] = amount_parse(data["amount"], scale=self.scale, label="amount")
            except QuantityInvalid as exc:
                self.add_error("amount", exc.message)
        return data


LineFormSet = forms.formset_factory(LineForm, extra=6, max_num=200)


class ImportForm(FormStyleMixin, forms.Form):
    csv_file = forms.FileField(
        label="Statement (CSV)",
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
        help_text="One row per composition line; columns as_of, period_start, period_end, attestor_name, "
        "attestor_kind, asset_type, custodian, amount.",
    )
    document = forms.FileField(label="Attestation or audit report (PDF)", widget=PDF_INPUT, help_text="PDF only.")


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("decline", "Decline")])
    note = forms.CharField(max_length=500, required=False)


class NavTermsForm(FormStyleMixin, forms.Form):
    scale = forms.IntegerField(
        label="Decimal places of the NAV",
        min_value=0,
        max_value=18,
        help_text="8 publishes a NAV per unit like 1.02345678 USD. Fixed once a NAV is entered.",
    )
    cutoff = forms.TimeField(
        label="Dealing cut-off (UTC)",
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text="A subscription paid in full before it on a business day deals on that day; after it, on the next.",
    )
    priced_at_nav = forms.TypedChoiceField(
        label="Are subscriptions issued at the NAV of their dealing day?",
        choices=[("no", "No: at the offering's fixed price"), ("yes", "Yes: forward pricing at NAV")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        help_text="Decided before the first subscription.",
    )


class NavOracleForm(FormStyleMixin, forms.Form):
    address = forms.CharField(
        label="Address of the oracle's contract",
        max_length=42,
        required=False,
        help_text="An AggregatorV3 feed on this chain (Chainlink's interface) that publishes the NAV per unit. Leave "
        "it empty to stop reading an oracle.",
    )


class NavPointForm(FormStyleMixin, forms.Form):
    dealing_day = forms.DateField(label="Dealing day", widget=DATE)
    nav = forms.CharField(label="NAV per unit", max_length=40, help_text="In the offering's currency, e.g. 1.02345678.")
    source = forms.CharField(
        label="Published by", max_length=200, help_text="Who struck the NAV: the fund administrator, the manager."
    )
    document = forms.FileField(label="NAV statement (PDF)", widget=PDF_INPUT, help_text="PDF only.")
