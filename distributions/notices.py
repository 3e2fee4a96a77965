"""What holders are told when their share of a distribution is paid (`core.notifications`).

One notice per line, whichever way it was paid (stablecoin to a wallet, a bank transfer, tokens
reinvested) and however often the payment is confirmed (a reorg that drops a payment and a new batch
that pays it again is still one payment to the holder)."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from core.models import Issuer, NotificationKind, User
from core.money import money_text
from core.notifications import Message, notify_events
from distributions.models import DistributionLine, LinePaymentState


def distribution_lines_paid_notify(*, line_ids: Iterable[int]) -> int:
    """Tell each holder of these lines (now paid or reinvested) what they received; returns how many were told.

    One statement writes the notices and one task per EVENTS_PER_EMAIL_TASK lines e-mails them: a batch of
    lines confirmed at once is one change, told to each holder under their line's own event."""
    lines = (
        DistributionLine.objects.filter(
            pk__in=list(line_ids), payment_state__in=(LinePaymentState.PAID, LinePaymentState.REINVESTED)
        )
        .select_related("investor__user", "distribution__offering__issuer")
        .order_by("pk")
    )
    path = reverse("investor_distributions")
    by_issuer: dict[int, tuple[Issuer, list[tuple[str, User, Message]]]] = {}
    for line in lines:
        distribution = line.distribution
        offering = distribution.offering
        if line.net_minor <= 0 and not line.reinvest_units:
            continue  # nothing was paid to tell of
        _, told = by_issuer.setdefault(offering.issuer_id, (offering.issuer, []))
        told.append(
            (
                f"distribution_line:{line.pk}:paid",
                line.investor.user,
                Message(
                    kind=NotificationKind.DISTRIBUTION_PAID,
                    subject=f"{offering.title}: your {distribution.get_kind_display().lower()} is paid",
                    template="distributions/notifications/line_paid.txt",
                    context={
                        "line": line,
                        "distribution": distribution,
                        "offering": offering,
                        "gross": money_text(line.gross_minor, distribution.currency),
                        "withheld": money_text(line.withheld_minor, distribution.currency),
                        "cash": money_text(line.cash_minor, distribution.currency),
                    },
                    path=path,
                    action_label="See your distributions",
                ),
            )
        )
    # Lines of one distribution share an issuer; lines of several each name their own.
    return sum(notify_events(told=told, issuer=issuer) for issuer, told in by_issuer.values())
