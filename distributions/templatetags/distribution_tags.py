from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from distributions.models import WithholdingReason

register = template.Library()


@register.filter
def bps(rate: int | None) -> str:
    """Basis points as a percentage: 1500 → "15%", 1250 → "12.5%"."""
    if rate is None:
        return "—"
    whole, rest = divmod(int(rate), 100)
    return f"{whole}%" if not rest else f"{whole}.{rest:02d}".rstrip("0") + "%"


@register.filter
def withholding_reason(code: str) -> str:
    return WithholdingReason(code).label if code in WithholdingReason.values else code


@register.inclusion_tag("distributions/_records.html", takes_context=True)
def distribution_records(context: template.Context) -> dict[str, Any]:
    """The distribution page's files: its register and the tax forms' data for its payment year."""
    from distributions.records import FORMATS, TAX_FORMS
    from registry.exporters.base import FORMAT_LABELS

    distribution = context["distribution"]
    year = distribution.payment_date.year
    return {
        "issuer": context["issuer"],
        "offering": distribution.offering,
        "distribution": distribution,
        "csrf_token": context.get("csrf_token"),
        "record_formats": [(f, FORMAT_LABELS[f]) for f in FORMATS],
        "record_tax_forms": list(TAX_FORMS.items()),
        "record_tax_years": [year] if year <= timezone.now().year else [],
    }
