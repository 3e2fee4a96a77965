"""The ballot form (options one a line, the quorum as a percentage) and the vote form."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils import timezone

from core.forms import FormStyleMixin
from governance.models import BallotOption
from governance.services.ballots import BallotInput
from offerings.models import Offering

MOMENT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class BallotCreateForm(FormStyleMixin, forms.Form):
    offering = forms.ModelChoiceField(queryset=Offering.objects.none(), label="Token", empty_label=None)
    question = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    options = forms.CharField(
        label="Options",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One option per line, at least two (e.g. For, Against, Abstain).",
    )
    record_at = forms.DateTimeField(
        label="Record date and time",
        widget=MOMENT,
        help_text="Each holder's voting power is what all their wallets held then; the token records it on-chain.",
    )
    opens_at = forms.DateTimeField(label="Voting opens", widget=MOMENT, help_text="At or after the record date.")
    closes_at = forms.DateTimeField(label="Voting closes", widget=MOMENT)
    quorum = forms.CharField(
        label="Quorum (% of the voting power)",
        max_length=8,
        initial="50",
        help_text="The share of the voting power at the record date that must vote, e.g. 33.33.",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )

    def __init__(self, *args: Any, offerings: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["offering"].queryset = offerings  # type: ignore[attr-defined]

    def clean_quorum(self) -> int:
        try:
            percent = Decimal(self.cleaned_data["quorum"].strip().rstrip("%"))
        except InvalidOperation as exc:
            raise forms.ValidationError("Write the quorum as a percentage, e.g. 50 or 33.33.") from exc
        bps = percent * 100
        if bps != bps.to_integral_value() or not 0 <= bps <= 10_000:
            raise forms.ValidationError("The quorum is between 0% and 100%, to two decimals at most.")
        return int(bps)

    def to_input(self) -> BallotInput:
        d = self.cleaned_data
        return BallotInput(
            question=d["question"],
            options=d["options"].splitlines(),
            record_at=timezone.localtime(d["record_at"]).replace(second=0, microsecond=0),
            opens_at=d["opens_at"],
            closes_at=d["closes_at"],
            quorum_bps=d["quorum"],
        )


class VoteForm(FormStyleMixin, forms.Form):
    option = forms.TypedChoiceField(label="Your vote", coerce=int, widget=forms.RadioSelect)

    def __init__(self, *args: Any, options: list[BallotOption], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["option"].choices = [(o.position, o.label) for o in options]  # type: ignore[attr-defined]
