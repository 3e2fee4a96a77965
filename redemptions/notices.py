"""What a holder is told as their redemption request moves (`core.notifications`).

One notice per request and step (frozen, not frozen, cancelled, left out by the gate, priced, burned,
paid), keyed by both: a step reached again after a reorg, or a run that looks at the request again,
tells no one twice. Callers pass every request that may have moved; those already told are skipped
with one query."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from core.models import Notification, NotificationKind
from core.money import money_text
from core.notifications import Message, notify
from redemptions.models import RedemptionRequest, RequestState

_SUBJECTS: dict[str, str] = {
    RequestState.PENDING: "your redemption request is in",
    RequestState.FAILED: "your redemption request could not be taken",
    RequestState.CANCELLED: "your redemption request is cancelled",
    RequestState.GATED: "your redemption request was not filled",
    RequestState.PRICED: "your redemption is priced",
    RequestState.BURNED: "your redeemed tokens are burned",
    RequestState.PAID: "your redemption is paid",
}


def _key(request_id: int, state: str) -> str:
    return f"redemption:{request_id}:{state}"


def redemption_requests_notify(*, requests: Iterable[RedemptionRequest]) -> int:
    """Tell each holder the step their request is at now, unless they were told it already."""
    rows = [r for r in requests if r.state in _SUBJECTS]
    if not rows:
        return 0
    told = set(
        Notification.objects.filter(event_key__in=[_key(r.pk, r.state) for r in rows]).values_list(
            "event_key", flat=True
        )
    )
    fresh = [r for r in rows if _key(r.pk, r.state) not in told]
    loaded = (
        RedemptionRequest.objects.filter(pk__in=[r.pk for r in fresh])
        .select_related("investor__user", "offering__issuer", "dealing_day")
        .order_by("pk")
    )
    count = 0
    for request in loaded:
        offering, day = request.offering, request.dealing_day
        currency = day.currency
        count += notify(
            recipients=[request.investor.user],
            event_key=_key(request.pk, request.state),
            message=Message(
                kind=NotificationKind.REDEMPTION_STEP,
                subject=f"{offering.title}: {_SUBJECTS[request.state]}",
                template="redemptions/notifications/step.txt",
                context={
                    "request": request,
                    "offering": offering,
                    "day": day,
                    "gross": money_text(request.gross_minor, currency),
                    "fee": money_text(request.fee_minor, currency),
                    "net": money_text(request.net_minor, currency),
                },
                path=reverse("investor_redemptions"),
                action_label="See your redemptions",
            ),
            issuer=offering.issuer,
        )
    return count


def dealing_day_notify(*, day_id: int) -> int:
    """Every request of a dealing day that moved (after pricing, after each settling run)."""
    return redemption_requests_notify(
        requests=RedemptionRequest.objects.filter(dealing_day_id=day_id).only("pk", "state")
    )
