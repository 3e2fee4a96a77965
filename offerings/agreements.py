"""The signed subscription agreement as a PDF: what was accepted, by whom, when, from where."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from core.money import Money

if TYPE_CHECKING:
    from offerings.models import OfferingDocument, Subscription


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def signed_agreement_pdf(
    *, subscription: Subscription, documents: Sequence[OfferingDocument], signed_at: dt.datetime
) -> bytes:
    offering = subscription.offering
    investor = subscription.investor
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        title=f"Subscription agreement — {offering.title}",
        author="Tessera",
        leftMargin=0.9 * inch,
        rightMargin=0.9 * inch,
    )
    body = styles["BodyText"]
    story = [
        Paragraph(_escape(f"Subscription agreement — {offering.title}"), styles["Title"]),
        Paragraph(_escape(f"Issuer: {offering.issuer.legal_name or offering.issuer.name}"), body),
        Spacer(1, 12),
        Paragraph(
            _escape(
                f"{investor.legal_name or investor.user.email} subscribes for {subscription.quantity:,} "
                f"{offering.token_symbol} tokens ({offering.get_security_type_display().lower()}) at "
                f"{Money(offering.price_minor, offering.currency)} each, for a total of "
                f"{Money(subscription.amount_minor, subscription.currency)}, offered under "
                f"{offering.get_exemption_display()}."
            ),
            body,
        ),
        Spacer(1, 8),
        Paragraph(
            "By clicking “Sign” the investor accepted each document below, identified by its SHA-256 hash, "
            "and agreed to be bound by the subscription agreement.",
            body,
        ),
        Spacer(1, 12),
    ]
    rows = [["Document", "Version", "SHA-256"]]
    rows += [[_escape(d.title), str(d.version), Paragraph(d.sha256, styles["Code"])] for d in documents]
    table = Table(rows, colWidths=[2.3 * inch, 0.7 * inch, 3.7 * inch])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("GRID", (0, 0), (-1, -1), 0.25, "#999999"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [table, Spacer(1, 16)]
    facts = [
        ["Signed by", _escape(f"{investor.legal_name} <{investor.user.email}>")],
        ["Investor reference", investor.reference],
        ["Signed at (UTC)", signed_at.astimezone(dt.UTC).isoformat(timespec="seconds")],
        ["IP address", subscription.signed_ip or "unknown"],
        ["Browser", Paragraph(_escape(subscription.signed_user_agent or "unknown"), body)],
        ["Subscription", str(subscription.public_id)],
        ["Payment reference", subscription.wire_reference],
        ["Token wallet", subscription.wallet_address],
    ]
    details = Table(facts, colWidths=[1.6 * inch, 5.1 * inch])
    details.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold")]))
    story.append(details)
    pdf.build(story)
    return buffer.getvalue()
