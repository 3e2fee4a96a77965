from __future__ import annotations

from django import forms

from core.countries import country_code, is_country
from core.models import Role


class MemberAddForm(forms.Form):
    email = forms.EmailField(label="E-mail address of a registered user")
    role = forms.ChoiceField(choices=Role.choices)


class IssuerCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    legal_name = forms.CharField(max_length=200)
    jurisdiction = forms.CharField(max_length=100, help_text="State or country of incorporation, e.g. Delaware.")
    country = forms.CharField(
        max_length=2, min_length=2, help_text="Two-letter ISO country code of the principal place of business."
    )
    admin_email = forms.EmailField(label="First issuer admin (e-mail of a registered user)")

    def clean_country(self) -> str:
        value = country_code(self.cleaned_data["country"])
        if not is_country(value):
            raise forms.ValidationError("Use a two-letter ISO country code such as US or DE.")
        return value
