"""Onboarding forms: they parse what the browser sent; the services decide whether it is acceptable."""

from __future__ import annotations

from typing import Any

from django import forms

from core.countries import country_choices
from core.forms import AmountField, FormStyleMixin
from investors.models import (
    AccreditationMethod,
    Chapter4Status,
    DocumentKind,
    EntityType,
    InvestorKind,
    LetterSigner,
    LicenceType,
    OwnerRole,
    TaxFormKind,
    TaxIdKind,
)

COUNTRY_FIELD_CHOICES = [("", "Choose a country"), *country_choices()]
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
UPLOAD = forms.FileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"})


def _country(label: str, *, required: bool = True, help_text: str = "") -> forms.CharField:
    # Any value is passed on so the service, not the form, answers with the rule.
    return forms.CharField(
        label=label,
        required=required,
        help_text=help_text,
        # Some 250 countries: searchable by typing (static/js/tessera.js), still a plain select without script.
        widget=forms.Select(choices=COUNTRY_FIELD_CHOICES, attrs={"data-searchable": ""}),
    )


class KindForm(FormStyleMixin, forms.Form):
    kind = forms.ChoiceField(label="I am investing as", choices=InvestorKind.choices, widget=forms.RadioSelect)


class IndividualDetailsForm(FormStyleMixin, forms.Form):
    legal_name = forms.CharField(
        label="Full legal name", max_length=200, help_text="As printed on your passport or ID."
    )
    date_of_birth = forms.DateField(label="Date of birth", widget=DATE)
    address_line1 = forms.CharField(label="Residential address", max_length=200)
    address_line2 = forms.CharField(label="Address (line 2)", max_length=200, required=False)
    city = forms.CharField(max_length=100)
    region = forms.CharField(label="State or region", max_length=100, required=False)
    postal_code = forms.CharField(max_length=20)
    country = _country("Country of residence")
    citizenship = _country("Citizenship")
    phone = forms.CharField(label="Phone", max_length=32, help_text="With the country code, e.g. +1 212 555 0100.")
    tax_id_kind = forms.ChoiceField(
        label="Identification number",
        choices=[(k, v) for k, v in TaxIdKind.choices if k != TaxIdKind.EIN],
        help_text="US persons give their SSN or ITIN; others a foreign tax number, passport or ID number.",
    )
    tax_id = forms.CharField(label="Number", max_length=40, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    tax_id_country = _country("Issuing country (foreign numbers)", required=False)


class EntityDetailsForm(FormStyleMixin, forms.Form):
    legal_name = forms.CharField(label="Registered name of the entity", max_length=200)
    entity_type = forms.ChoiceField(label="Entity type", choices=EntityType.choices)
    registration_number = forms.CharField(label="Registration number", max_length=64)
    formation_country = _country("Country of formation")
    address_line1 = forms.CharField(label="Principal place of business", max_length=200)
    address_line2 = forms.CharField(label="Address (line 2)", max_length=200, required=False)
    city = forms.CharField(max_length=100)
    region = forms.CharField(label="State or region", max_length=100, required=False)
    postal_code = forms.CharField(max_length=20)
    country = _country("Country")
    phone = forms.CharField(label="Phone", max_length=32)
    tax_id_kind = forms.ChoiceField(
        label="Tax identification",
        choices=[(TaxIdKind.EIN, TaxIdKind.EIN.label), (TaxIdKind.FOREIGN_TIN, TaxIdKind.FOREIGN_TIN.label)],
    )
    tax_id = forms.CharField(label="Number", max_length=40, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    tax_id_country = _country("Issuing country (foreign numbers)", required=False)


class OwnerForm(FormStyleMixin, forms.Form):
    role = forms.ChoiceField(choices=OwnerRole.choices)
    full_name = forms.CharField(label="Full legal name", max_length=200)
    date_of_birth = forms.DateField(label="Date of birth", widget=DATE)
    address = forms.CharField(label="Residential address", max_length=300)
    country = _country("Country of residence")
    citizenship = _country("Citizenship")
    ownership_percent = forms.DecimalField(
        label="Ownership (%)",
        min_value=0,
        max_value=100,
        decimal_places=2,
        initial=0,
        help_text="Zero for a controlling person who owns nothing.",
    )
    id_kind = forms.ChoiceField(
        label="Identification number", choices=[(k, v) for k, v in TaxIdKind.choices if k != TaxIdKind.EIN]
    )
    id_number = forms.CharField(label="Number", max_length=40, widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def owner_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["ownership_bps"] = int(data.pop("ownership_percent") * 100)  # exact: two decimal places at most
        return data


class DocumentForm(FormStyleMixin, forms.Form):
    kind = forms.ChoiceField(label="Document", choices=[])
    owner = forms.TypedChoiceField(label="Whose document", coerce=int, required=False, choices=[])
    file = forms.FileField(label="File (PDF, JPEG or PNG)", widget=UPLOAD)
    document_number = forms.CharField(label="Document number", max_length=40, required=False)
    issuing_country = _country("Issuing country", required=False)
    expires_on = forms.DateField(label="Expiry date", required=False, widget=DATE)

    def __init__(self, *args: Any, owners: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from investors.models import IDENTITY_KINDS

        self.fields["kind"].choices = [(k, v) for k, v in DocumentKind.choices if k in IDENTITY_KINDS]  # type: ignore[attr-defined]
        if owners:
            self.fields["owner"].choices = [("", "The entity"), *owners]  # type: ignore[attr-defined]
        else:
            del self.fields["owner"]


# The fields each basis asks for (Rule 501(a)); the page shows only those of the basis chosen.
FIELDS_BY_METHOD: dict[str, tuple[str, ...]] = {
    AccreditationMethod.INCOME: ("income_two_years_ago", "income_last_year", "income_expected"),
    AccreditationMethod.JOINT_INCOME: ("income_two_years_ago", "income_last_year", "income_expected"),
    AccreditationMethod.NET_WORTH: ("net_worth",),
    AccreditationMethod.PROFESSIONAL_LICENCE: ("licence_type", "licence_crd_number"),
    AccreditationMethod.ENTITY_TEST: ("entity_assets",),
    AccreditationMethod.THIRD_PARTY_LETTER: ("letter_signer", "letter_date"),
    AccreditationMethod.SELF_CERTIFICATION: (),
}
# Bases that only a natural person, or only an entity, can claim (investors.services.accreditation says why).
PERSON_ONLY = frozenset(
    {
        AccreditationMethod.INCOME,
        AccreditationMethod.JOINT_INCOME,
        AccreditationMethod.NET_WORTH,
        AccreditationMethod.PROFESSIONAL_LICENCE,
    }
)
ENTITY_ONLY = frozenset({AccreditationMethod.ENTITY_TEST})


class AccreditationForm(FormStyleMixin, forms.Form):
    method = forms.ChoiceField(label="How you qualify", choices=AccreditationMethod.choices, widget=forms.RadioSelect)
    income_two_years_ago = AmountField(currency="USD", label="Income two years ago (USD)", required=False)
    income_last_year = AmountField(currency="USD", label="Income last year (USD)", required=False)
    income_expected = AmountField(currency="USD", label="Expected income this year (USD)", required=False)
    net_worth = AmountField(currency="USD", label="Net worth excluding primary residence (USD)", required=False)
    entity_assets = AmountField(currency="USD", label="Entity's total assets (USD)", required=False)
    licence_type = forms.ChoiceField(label="Licence", choices=[("", "—"), *LicenceType.choices], required=False)
    licence_crd_number = forms.CharField(label="CRD number", max_length=20, required=False)
    letter_signer = forms.ChoiceField(
        label="Letter written by", choices=[("", "—"), *LetterSigner.choices], required=False
    )
    letter_date = forms.DateField(label="Date of the letter", required=False, widget=DATE)
    attested = forms.BooleanField(
        label="The information is true, and no third party finances my purchase.", required=False
    )

    def __init__(self, *args: Any, is_entity: bool | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if is_entity is not None:
            barred = PERSON_ONLY if is_entity else ENTITY_ONLY
            self.fields["method"].choices = [  # type: ignore[attr-defined]
                (value, label) for value, label in AccreditationMethod.choices if value not in barred
            ]

    def basis_fields(self) -> list[tuple[str, list[forms.BoundField]]]:
        """Each set of fields with the bases (space-separated) that ask for it, for the page to show only
        those of the basis chosen."""
        groups: dict[tuple[str, ...], list[str]] = {}
        for value, _label in self.fields["method"].choices:  # type: ignore[attr-defined]
            names = FIELDS_BY_METHOD.get(value, ())
            if names:
                groups.setdefault(names, []).append(str(value))
        return [(" ".join(methods), [self[name] for name in names]) for names, methods in groups.items()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # Only the chosen basis's fields count: figures typed for another basis and then hidden are dropped.
        wanted = set(FIELDS_BY_METHOD.get(data.get("method", ""), ()))
        for names in FIELDS_BY_METHOD.values():
            for name in names:
                if name not in wanted:
                    data.pop(name, None)
                    if self._errors and name in self._errors:
                        del self._errors[name]
        return data

    def figures(self) -> dict[str, Any]:
        """Dollars typed in the form, as USD cents for the service."""
        data = self.cleaned_data
        cents = {
            f"{name}_cents": data[name]
            for name in ("income_two_years_ago", "income_last_year", "income_expected", "net_worth", "entity_assets")
            if data.get(name) is not None
        }
        return {
            **cents,
            "licence_type": data.get("licence_type", ""),
            "licence_crd_number": data.get("licence_crd_number", ""),
            "letter_signer": data.get("letter_signer", ""),
            "letter_date": data.get("letter_date"),
        }


class EvidenceForm(FormStyleMixin, forms.Form):
    kind = forms.ChoiceField(label="Evidence", choices=[])
    file = forms.FileField(label="File (PDF, JPEG or PNG)", widget=UPLOAD)
    document_date = forms.DateField(label="Date of the document", required=False, widget=DATE)

    def __init__(self, *args: Any, kinds: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k, DocumentKind(k).label) for k in (kinds or [])]  # type: ignore[attr-defined]


class TaxFormForm(FormStyleMixin, forms.Form):
    signer_name = forms.CharField(label="Signature (type your full name)", max_length=200)
    signed_on = forms.DateField(label="Date signed", widget=DATE)
    tin_certified = forms.BooleanField(
        label="Under penalties of perjury, the taxpayer identification number shown is correct.", required=False
    )
    not_subject_to_backup_withholding = forms.BooleanField(
        label="I am not subject to backup withholding.", required=False
    )
    foreign_tin = forms.CharField(label="Foreign tax identifying number", max_length=40, required=False)
    treaty_country = _country("Treaty country (to claim a reduced rate)", required=False)
    treaty_article = forms.CharField(label="Treaty article", max_length=32, required=False)
    treaty_rate_percent = forms.DecimalField(
        label="Treaty withholding rate (%)", required=False, min_value=0, max_value=100, decimal_places=2
    )
    chapter_4_status = forms.ChoiceField(
        label="Chapter 4 (FATCA) status",
        choices=[("", "Choose the status your entity certifies"), *Chapter4Status.choices],
        required=False,
        help_text=(
            "Line 5 of Form W-8BEN-E: the status under FATCA, which differs from the entity type. A foreign financial"
            " institution (FFI) holds financial accounts for others (a bank, a custodian, most investment funds);"
            " any other entity is a non-financial foreign entity (NFFE). An NFFE is active when less than 50% of its"
            " income is passive (such as dividends and interest) and less than 50% of its assets produce it;"
            " otherwise it is passive. Ask your tax adviser if you are unsure."
        ),
    )

    def __init__(self, *args: Any, kind: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only an entity's W-8BEN-E certifies a chapter 4 status, and it must.
        self.fields["chapter_4_status"].required = kind == TaxFormKind.W8BENE

    def treaty_rate_bps(self) -> int | None:
        rate = self.cleaned_data.get("treaty_rate_percent")
        return None if rate is None else int(rate * 100)


class CustodialWalletForm(FormStyleMixin, forms.Form):
    address = forms.CharField(label="Wallet address", max_length=42)
    custodian_name = forms.CharField(label="Custodian", max_length=200)


class BankAccountForm(FormStyleMixin, forms.Form):
    """New bank details for cash distributions; the service checks the numbers."""

    holder_name = forms.CharField(label="Account holder's name", max_length=200, help_text="As your bank knows it.")
    scheme = forms.ChoiceField(
        label="Kind of account",
        choices=[("iban", "IBAN and BIC"), ("aba", "US routing number (ABA) and account number")],
        widget=forms.RadioSelect,
        initial="iban",
    )
    iban = forms.CharField(label="IBAN", required=False, max_length=50)
    bic = forms.CharField(
        label="BIC (SWIFT code)",
        required=False,
        max_length=20,
        help_text="Optional when your bank can be found from the IBAN.",
    )
    routing_number = forms.CharField(label="ABA routing number", required=False, max_length=20)
    account_number = forms.CharField(label="Account number", required=False, max_length=30)
    currency = forms.ChoiceField(
        label="Currency of the account", choices=[(c, c) for c in ("USD", "EUR", "GBP", "CHF", "JPY")], initial="USD"
    )
