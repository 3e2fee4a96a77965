"""Reviewer and submission forms. They parse input; the services hold the rules."""

from __future__ import annotations

from typing import Any

from django import forms

from core.forms import FormStyleMixin
from core.models import Issuer


class DecisionForm(FormStyleMixin, forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("reject", "Reject"), ("request_info", "Request more information")]
    )
    note = forms.CharField(
        label="Reason or request (the investor reads it)", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class HitDecisionForm(FormStyleMixin, forms.Form):
    decision = forms.ChoiceField(choices=[("clear", "Not the listed person"), ("confirm", "Confirmed match")])
    note = forms.CharField(label="What the decision rests on", widget=forms.Textarea(attrs={"rows": 2}))


class OwnerDecisionForm(FormStyleMixin, forms.Form):
    decision = forms.ChoiceField(choices=[("verify", "Verified"), ("reject", "Not verified")])
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ApplicationDecisionForm(FormStyleMixin, forms.Form):
    decision = forms.ChoiceField(
        choices=[("admit", "Admit to our offerings"), ("decline", "Decline"), ("note", "Add a note only")]
    )
    note = forms.CharField(
        label="Note (only your team sees it)", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class SubmitForm(FormStyleMixin, forms.Form):
    issuers = forms.ModelMultipleChoiceField(
        label="Issuers to apply to",
        queryset=Issuer.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Platform compliance verifies your identity once; each issuer then decides whether to admit you.",
    )
    confirm = forms.BooleanField(label="Everything I entered is true and complete.", required=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["issuers"].queryset = Issuer.objects.order_by("name")  # type: ignore[attr-defined]
