"""Kernel forms, and how every form of the portal is drawn: Bootstrap classes on the widgets, set here,
and one field template (`core/field.html`) chosen by the renderer in `FORM_RENDERER`."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.forms.renderers import TemplatesSetting

from core.countries import country_code, is_country
from core.models import InvitationRole, Role
from core.money import AmountInvalid, amount_parse


class AmountField(forms.CharField):
    """A money amount typed in major units ("250,000" or "250000.50"), cleaned to minor units of
    `currency` by core.money's one parser; empty is None when the field is optional."""

    def __init__(self, *, currency: str, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(**kwargs)
        self.currency = currency

    def clean(self, value: Any) -> int | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            return amount_parse(text, self.currency, label=amount_label(str(self.label or "amount")))
        except AmountInvalid as exc:
            raise forms.ValidationError(exc.message, code="invalid_amount") from exc


def amount_label(label: str) -> str:
    """A field's label as the amount errors name it: "Income last year (USD)" → "income last year" (the
    currency is in the message already), acronyms kept."""
    text = re.sub(r"\s*\([A-Z]{3}\)$", "", label.strip())
    return text[:1].lower() + text[1:] if text[1:2].islower() or len(text) == 1 else text


class PortalFormRenderer(TemplatesSetting):
    """`{{ form }}` and `{{ field.as_field_group }}` draw through the site's templates (Django 5)."""

    form_template_name = "core/form.html"
    field_template_name = "core/field.html"


def widget_css_class(widget: forms.Widget) -> str:
    if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
        return "form-check-input"
    if isinstance(widget, forms.Select):
        return "form-select"
    return "form-control"


class FormStyleMixin:
    """Bootstrap classes on every visible widget, and `is-invalid` on each field that has an error."""

    # Label optional fields "(optional)"; forms whose optional fields depend on other answers leave it off.
    mark_optional = False

    fields: dict[str, forms.Field]
    _errors: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if widget.is_hidden:
                continue
            css = widget.attrs.get("class", "")
            widget.attrs["class"] = f"{widget_css_class(widget)} {css}".strip()

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)  # type: ignore[misc]
        for name in self._errors or {}:
            widget = self.fields[name].widget if name in self.fields else None
            if widget is not None and "is-invalid" not in widget.attrs.get("class", "").split():
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


class MemberAddForm(FormStyleMixin, forms.Form):
    email = forms.EmailField(label="E-mail address")
    role = forms.ChoiceField(choices=Role.choices)


class PlatformInviteForm(FormStyleMixin, forms.Form):
    email = forms.EmailField(label="E-mail address")
    role = forms.ChoiceField(
        choices=[
            (InvitationRole.PLATFORM_COMPLIANCE.value, InvitationRole.PLATFORM_COMPLIANCE.label),
            (InvitationRole.PLATFORM_STAFF.value, InvitationRole.PLATFORM_STAFF.label),
        ]
    )


class MfaResetForm(FormStyleMixin, forms.Form):
    email = forms.EmailField(label="E-mail address of the account")
    reason = forms.CharField(
        max_length=300, help_text="How the person proved who they are (a ticket number, a call back on file)."
    )


class InvitationAcceptForm(FormStyleMixin, forms.Form):
    """Asks only for what this acceptance needs: a password for an account without one, a code for a new factor."""

    full_name = forms.CharField(label="Your name (optional)", max_length=200, required=False)
    password1 = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="Password again", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, password: bool, factor: bool, new_account: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not new_account:
            del self.fields["full_name"]
        if not password:
            del self.fields["password1"], self.fields["password2"]
        if not factor:
            del self.fields["code"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "password1" in self.fields and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


class IssuerCreateForm(FormStyleMixin, forms.Form):
    name = forms.CharField(max_length=200)
    legal_name = forms.CharField(max_length=200)
    jurisdiction = forms.CharField(max_length=100, help_text="State or country of incorporation, e.g. Delaware.")
    formation_date = forms.DateField(
        label="Date of incorporation",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="As on the certificate of incorporation or formation; the cap table exports carry it.",
    )
    country = forms.CharField(
        max_length=2, min_length=2, help_text="Two-letter ISO country code of the principal place of business."
    )
    admin_email = forms.EmailField(label="First issuer admin (e-mail address)")

    def clean_country(self) -> str:
        value = country_code(self.cleaned_data["country"])
        if not is_country(value):
            raise forms.ValidationError("Use a two-letter ISO country code such as US or DE.")
        return value


class FourEyesThresholdForm(forms.Form):
    # Typed as money, like every amount of the portal; the threshold is kept in minor units.
    threshold_minor = AmountField(currency="USD", label="Threshold", max_length=40)
