"""Forms of the register's pages. Token administration forms carry a one-time form token: submitting one
twice makes one action. The cap table's filter form reads the query string; the 12(g) statement is the issuer's.
Transfer agents' pages: the point a register is read at, a journal's period, API tokens."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django import forms
from django.utils import timezone

from compliance.exemptions import Exemption
from core.countries import country_choices
from core.forms import AmountField, FormStyleMixin
from offerings.models import Offering
from registry.exporters import ExportParams, exporters
from registry.exporters.base import FORMAT_LABELS
from registry.selectors.cap_table import PAGE_SIZES, Accreditation, CapTableQuery, Lockup
from registry.selectors.ledger import NOW, AsOf
from registry.selectors.master_file import DIFFERENCE_STATES, as_of_end_of_day

REASON_HELP = "Kept in the audit log with the action."


class TokenAdminForm(FormStyleMixin, forms.Form):
    """Each form on a page has its own prefix; the page's forms post an unprefixed `operation` naming theirs."""

    form_token = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500, help_text=REASON_HELP)

    operation_name = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        prefix = kwargs.pop("prefix", None) or self.operation_name
        super().__init__(*args, prefix=prefix, **kwargs)
        if not self.is_bound:
            self.fields["form_token"].initial = str(uuid.uuid4())


def _wallet_choices(wallets: list[str]) -> list[tuple[str, str]]:
    return [(w, w) for w in wallets]


class FreezeWalletForm(TokenAdminForm):
    operation_name = "freeze_wallet"
    wallet = forms.ChoiceField(choices=[])
    frozen = forms.TypedChoiceField(
        label="Action",
        choices=[("1", "Freeze the wallet (it can neither send nor receive)"), ("0", "Unfreeze the wallet")],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
        initial="1",
    )
    field_order = ["wallet", "frozen", "reason"]

    def __init__(self, *args: Any, wallets: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["wallet"].choices = _wallet_choices(wallets)  # type: ignore[attr-defined]


class FreezeAddressForm(TokenAdminForm):
    """Any wallet by its address, also one no investor of the portal has linked (a stolen or unknown wallet)."""

    operation_name = "freeze_address"
    wallet = forms.CharField(max_length=42, label="Wallet address", help_text="0x and 40 hex digits.")
    frozen = forms.TypedChoiceField(
        label="Action",
        choices=[("1", "Freeze the wallet"), ("0", "Unfreeze the wallet")],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
        initial="1",
    )
    field_order = ["wallet", "frozen", "reason"]


class FreezeAmountForm(TokenAdminForm):
    operation_name = "freeze_amount"
    wallet = forms.ChoiceField(choices=[])
    frozen = forms.TypedChoiceField(
        label="Action",
        choices=[("1", "Freeze units"), ("0", "Unfreeze units")],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
        initial="1",
    )
    quantity = forms.IntegerField(min_value=1, label="Units", help_text="At most what the wallet holds unfrozen.")
    field_order = ["wallet", "frozen", "quantity", "reason"]

    def __init__(self, *args: Any, wallets: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["wallet"].choices = _wallet_choices(wallets)  # type: ignore[attr-defined]


DOCUMENT_HELP = "The court order, instruction or evidence behind it: PDF, JPEG or PNG, at most 20 MB."


class ForcedTransferForm(TokenAdminForm):
    operation_name = "forced_transfer"
    from_wallet = forms.ChoiceField(choices=[], label="From wallet")
    to_wallet = forms.CharField(
        label="To wallet", max_length=42, help_text="A registered wallet of an eligible investor (0x…)."
    )
    quantity = forms.IntegerField(min_value=1, label="Units")
    document = forms.FileField(label="Supporting document", help_text=DOCUMENT_HELP, required=False)
    field_order = ["from_wallet", "to_wallet", "quantity", "reason", "document"]

    def __init__(self, *args: Any, wallets: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from_wallet"].choices = _wallet_choices(wallets)  # type: ignore[attr-defined]
        self.fields["to_wallet"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})


class RecoveryForm(TokenAdminForm):
    operation_name = "recovery"
    lost_wallet = forms.ChoiceField(choices=[], label="Lost wallet")
    new_wallet = forms.ChoiceField(
        choices=[], label="New wallet", help_text="The investor's own wallet, confirmed in the registry and empty."
    )
    document = forms.FileField(label="Supporting document", help_text=DOCUMENT_HELP, required=False)
    field_order = ["lost_wallet", "new_wallet", "reason", "document"]

    def __init__(self, *args: Any, wallets: list[str], targets: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lost_wallet"].choices = _wallet_choices(wallets)  # type: ignore[attr-defined]
        self.fields["new_wallet"].choices = _wallet_choices(targets)  # type: ignore[attr-defined]


class PauseForm(TokenAdminForm):
    """`paused` is what the admin saw the button do (pause or unpause), not worked out again on submit: if
    another admin paused the token meanwhile, a second "Pause" is refused rather than turned into an unpause."""

    operation_name = "pause"
    paused = forms.TypedChoiceField(
        choices=[("1", "Pause"), ("0", "Unpause")], coerce=lambda v: v == "1", widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, paused: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["paused"].initial = "1" if paused else "0"


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject"), ("withdraw", "Withdraw")])
    note = forms.CharField(max_length=500, required=False)


class ExportRequestForm(FormStyleMixin, forms.Form):
    offering = forms.ModelChoiceField(queryset=Offering.objects.none(), label="Token", empty_label=None)
    exporter = forms.ChoiceField(label="Export")
    format = forms.ChoiceField(label="Format")
    as_of_date = forms.DateField(
        label="As of the end of (UTC)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty for now. Used by the master file, control book and record differences.",
    )
    as_of_block = forms.IntegerField(
        label="Or as of block",
        required=False,
        min_value=0,
        help_text="Master file and cap table; leave empty for the latest.",
    )
    since = forms.DateField(label="Journal from", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(
        label="Journal to (inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    include_closed = forms.BooleanField(
        label="Also list lots emptied by then, with their cancellation date", required=False
    )
    tax_year = forms.IntegerField(
        label="Tax year",
        required=False,
        min_value=2000,
        max_value=9999,
        help_text="Forms 1099 and 1042-S: the calendar year the payments were made in.",
    )
    # One distribution's register is asked for from that distribution's page, which fills this in.
    distribution = forms.UUIDField(required=False, widget=forms.HiddenInput)
    # Likewise one ballot's result, from that ballot's page.
    ballot = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, offerings: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["offering"].queryset = offerings  # type: ignore[attr-defined]
        self.fields["exporter"].choices = [(e.identifier, e.verbose_name) for e in exporters().values()]  # type: ignore[attr-defined]
        formats = sorted({f for e in exporters().values() for f in e.formats}, key=list(FORMAT_LABELS).index)
        self.fields["format"].choices = [(f, FORMAT_LABELS[f]) for f in formats]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        exporter = exporters().get(data.get("exporter", ""))
        if exporter is None:
            return data
        fmt = data.get("format")
        if fmt and fmt not in exporter.formats:
            names = ", ".join(FORMAT_LABELS[f] for f in exporter.formats)
            self.add_error("format", f"{exporter.verbose_name} is available as {names}.")
        if "period" not in exporter.takes and (data.get("since") or data.get("until")):
            self.add_error("since", f"{exporter.verbose_name} is as of a point, not for a period.")
        if "as_of" not in exporter.takes and (data.get("as_of_date") or data.get("as_of_block") is not None):
            self.add_error("as_of_date", f"{exporter.verbose_name} covers a period: use the journal dates.")
        if data.get("as_of_block") is not None and "block" not in exporter.takes:
            self.add_error("as_of_block", f"{exporter.verbose_name} is read as of a date, not a block.")
        if "tax_year" in exporter.takes and data.get("tax_year") is None:
            self.add_error("tax_year", f"{exporter.verbose_name} is for a tax year: enter one.")
        if "distribution" in exporter.takes and data.get("distribution") is None:
            self.add_error(
                "exporter",
                f"{exporter.verbose_name} is of one distribution: ask for it from that distribution's page "
                "(Distributions, on the token's register).",
            )
        if "ballot" in exporter.takes and data.get("ballot") is None:
            self.add_error("exporter", f"{exporter.verbose_name} is of one ballot: ask for it from that ballot's page.")
        return data

    def params(self) -> ExportParams:
        d = self.cleaned_data
        exporter = exporters()[d["exporter"]]
        return ExportParams(
            as_of_block=d.get("as_of_block") if "block" in exporter.takes else None,
            as_of_date=d.get("as_of_date") if "as_of" in exporter.takes else None,
            since=d.get("since") if "period" in exporter.takes else None,
            until=d.get("until") if "period" in exporter.takes else None,
            include_closed=bool(d.get("include_closed")) and "closed" in exporter.takes,
            tax_year=d.get("tax_year") if "tax_year" in exporter.takes else None,
            distribution=d.get("distribution") if "distribution" in exporter.takes else None,
            ballot=d.get("ballot") if "ballot" in exporter.takes else None,
        )


SORT_CHOICES = [
    ("-quantity", "Largest holdings first"),
    ("quantity", "Smallest holdings first"),
    ("name", "Name, A to Z"),
    ("-name", "Name, Z to A"),
    ("country", "Country, A to Z"),
    ("-country", "Country, Z to A"),
    ("acquired", "Acquired, oldest first"),
    ("-acquired", "Acquired, newest first"),
]


class CapTableFilterForm(FormStyleMixin, forms.Form):
    """Read from the query string; a field that does not clean falls back to its default and says why."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "Name, e-mail or wallet", "type": "search"}),
    )
    exemption = forms.ChoiceField(label="Exemption", required=False, choices=[("", "Any"), *Exemption.choices])
    country = forms.CharField(label="Country", required=False, max_length=2)
    accreditation = forms.ChoiceField(
        label="Accreditation", required=False, choices=[("", "Any"), *Accreditation.LABELS.items()]
    )
    lockup = forms.ChoiceField(label="Lock-up", required=False, choices=[("", "Any"), *Lockup.LABELS.items()])
    as_of = forms.DateField(
        label="As of", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    sort = forms.ChoiceField(label="Sort", required=False, choices=SORT_CHOICES)
    per_page = forms.TypedChoiceField(
        label="Per page", required=False, coerce=int, choices=[(n, str(n)) for n in PAGE_SIZES], empty_value=None
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any country is a valid filter; the list offered is narrowed to the holders' countries later.
        self.fields["country"] = forms.ChoiceField(
            label="Country", required=False, choices=[("", "Any"), *country_choices()]
        )
        self.fields["country"].widget.attrs["class"] = "form-select"

    def countries_offer(self, countries: list[tuple[str, str]]) -> None:
        """The country filter lists the countries holders are in (known once the census is read)."""
        field = self.fields["country"]
        assert isinstance(field, forms.ChoiceField)
        chosen = self.cleaned_data.get("country") if hasattr(self, "cleaned_data") else None
        if chosen and chosen not in dict(countries):
            countries = [*countries, (chosen, dict(country_choices()).get(chosen, chosen))]
        field.choices = [("", "Any"), *countries]

    def clean_as_of(self) -> dt.date | None:
        value: dt.date | None = self.cleaned_data.get("as_of")
        if value is not None and value >= timezone.now().astimezone(dt.UTC).date():
            return None  # today or later is the register as it stands now
        return value

    def to_query(self) -> CapTableQuery:
        data: dict[str, Any] = {}
        if self.is_bound:
            self.is_valid()  # fields that fail are left out of cleaned_data and keep their defaults
            data = self.cleaned_data
        sort = data.get("sort") or "-quantity"
        return CapTableQuery(
            sort=sort.lstrip("-"),
            descending=sort.startswith("-"),
            page=data.get("page") or 1,
            per_page=data.get("per_page") or PAGE_SIZES[0],
            search=(data.get("q") or "").strip(),
            exemption=data.get("exemption") or "",
            country=data.get("country") or "",
            accreditation=data.get("accreditation") or "",
            lockup=data.get("lockup") or "",
            as_of=data.get("as_of"),
        )


class HolderCountPolicyForm(FormStyleMixin, forms.Form):
    total_assets = AmountField(
        currency="USD",
        label="Total assets at the last fiscal year end (USD)",
        required=False,
        help_text="Leave empty if not known yet; registration under 12(g) needs total assets over $10 million.",
    )
    reg_cf_excluded = forms.BooleanField(
        label="Exclude Reg CF holders (Rule 12g-6)",
        required=False,
        help_text="Only if the issuer is current in its annual reports, uses a registered transfer agent and had "
        "total assets of $25 million or less at the last fiscal year end.",
    )
    reg_a_tier2_excluded = forms.BooleanField(
        label="Exclude Reg A Tier 2 holders (Rule 12g5-1(a)(7))",
        required=False,
        help_text="Only if the issuer is current in its periodic reports, uses a registered transfer agent and has "
        "a public float under $75 million (or revenue under $50 million without one).",
    )


# --------------------------------------------------------------------------- transfer agents' pages

# A block number must fit the database's 64-bit integer.
MAX_BLOCK = 2**63 - 1


class AsOfForm(FormStyleMixin, forms.Form):
    """The register as of the end of a date, at a block, or (both empty) now."""

    mark_optional = True
    date = forms.DateField(
        required=False, label="As of date", widget=forms.DateInput(attrs={"type": "date"}), help_text="End of day, UTC."
    )
    block = forms.IntegerField(required=False, min_value=0, max_value=MAX_BLOCK, label="As of block")
    q = forms.CharField(required=False, max_length=100, label="Search", help_text="Holder name, reference or wallet.")

    def as_of(self) -> AsOf:
        if not self.is_valid():
            return NOW
        day, block = self.cleaned_data.get("date"), self.cleaned_data.get("block")
        return AsOf(block=block, at=as_of_end_of_day(day) if day else None)


class PeriodForm(FormStyleMixin, forms.Form):
    """A journal period: from the start of `since` to the end of `until` (UTC); either may be left open."""

    mark_optional = True
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("The period starts after it ends: swap the dates.")
        return data

    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        if not self.is_valid():
            return None, None
        since, until = self.cleaned_data.get("since"), self.cleaned_data.get("until")
        start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC) if since else None
        end = dt.datetime.combine(until, dt.time.max, tzinfo=dt.UTC) if until else None
        return start, end


class DifferenceFilterForm(forms.Form):
    state = forms.ChoiceField(choices=list(DIFFERENCE_STATES.items()), required=False)

    def state_value(self) -> str:
        return (self.cleaned_data.get("state") if self.is_valid() else "") or "open"


class ApiTokenForm(FormStyleMixin, forms.Form):
    mark_optional = True
    name = forms.CharField(max_length=100, help_text="What will use the token, e.g. “nightly reconciliation”.")
    expires_on = forms.DateField(
        required=False,
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The token stops working at the start of this day (UTC). Leave empty for no expiry.",
    )

    def clean_expires_on(self) -> dt.date | None:
        day = self.cleaned_data.get("expires_on")
        if day is not None and day <= timezone.now().date():
            raise forms.ValidationError("Choose a day after today.")
        return day

    def expires_at(self) -> dt.datetime | None:
        day = self.cleaned_data.get("expires_on")
        return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC) if day else None


class AuthorizationForm(FormStyleMixin, forms.Form):
    """The control book's issuer authorization (17Ad-9): the total authorized, its date, what it is, the document."""

    authorized_quantity = forms.IntegerField(
        label="Units authorized",
        min_value=0,
        max_value=10**15,
        help_text="The total the token may have from this authorization on (not an addition).",
    )
    authorized_on = forms.DateField(label="Date of the authorization", widget=forms.DateInput(attrs={"type": "date"}))
    description = forms.CharField(
        max_length=300, label="What it is", help_text="For example: Written consent of the board, resolution 2026-04."
    )
    document = forms.FileField(
        label="Signed document",
        help_text="PDF, or a JPEG or PNG scan; at most 25 MB.",
        widget=forms.FileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
    )


# An uploaded package is read here, in the request, and never stored.
OCF_UPLOAD_MAX_BYTES = 25 << 20


class OcfCompareForm(FormStyleMixin, forms.Form):
    """An Open Cap Format package to set beside the register (read only, kept nowhere)."""

    package = forms.FileField(
        label="Open Cap Format package",
        help_text="An .ocf.zip with its Manifest.ocf.json (OCF 1.2.0); at most 25 MB.",
        widget=forms.FileInput(attrs={"accept": ".zip,application/zip"}),
    )

    def clean_package(self) -> Any:
        upload = self.cleaned_data["package"]
        if upload.size > OCF_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / (1 << 20):.1f} MB; a package of at most 25 MB is read here."
            )
        return upload


class ErasureForm(FormStyleMixin, forms.Form):
    """Platform staff confirm an investor's erasure request."""

    confirmed = forms.BooleanField(
        label="The holder asked for their data to be erased, and the request is verified.",
        help_text="Their account is closed and their personal data blanked; this cannot be undone.",
    )
