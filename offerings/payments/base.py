"""The interface every payment provider implements.

A provider takes money for a subscription (`start`), gives it back (`refund`) and hears from its
vendor (`webhook`). It never changes a subscription itself: it reports money movements to the
ledger services in `offerings.services.payments` (`payment_received`, `payment_failed`,
`payment_expired`, `refund_recorded`, `refund_failed`, `dispute_recorded`), which lock, check,
write the immutable `PaymentEntry` and move the subscription along. A refund is booked only when
the provider says it succeeded (`RefundResult.settled`, or later `refund_state`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from django.http import HttpRequest, HttpResponse

from core.audit import audit_record
from core.errors import ApplicationError

if TYPE_CHECKING:
    from offerings.models import Offering, Payment, Refund, Subscription


class PaymentError(ApplicationError):
    """The provider could not do what was asked; `message` is written for the person who asked."""

    status_code = 502
    code = "payment_error"


def payment_change_audit(payment: Payment, *, action: str, after: dict[str, object] | None = None) -> None:
    """The audit event of a provider's write to its `Payment` row; call it in the transaction of the write."""
    subscription = payment.subscription
    audit_record(
        actor=subscription.investor.user,
        action=action,
        obj=payment,
        issuer=subscription.offering.issuer,
        after={"provider": payment.provider, "amount_minor": payment.amount_minor, **(after or {})},
    )


@dataclass(frozen=True)
class RefundResult:
    """`sent`: the money is on its way and `external_ref` names the movement at the provider;
    `settled` when the provider already says it arrived, `failed` when it already says it did not.
    Not sent: a person must send it (a wire) and record it with `refund_mark_sent`."""

    sent: bool
    external_ref: str = ""
    settled: bool = False
    failed: bool = False
    failure_reason: str = ""


@dataclass(frozen=True)
class RefundState:
    """How a refund handed to the provider stands now: pending, succeeded or failed."""

    status: str
    amount_minor: int | None = None
    reason: str = ""


class PaymentProvider(ABC):
    identifier: ClassVar[str]
    verbose_name: ClassVar[str]
    description: ClassVar[str] = ""
    # Template that shows an investor what to do next on the subscription's status page.
    instructions_template: ClassVar[str] = ""

    def is_enabled(self) -> bool:
        return True

    def supports(self, offering: Offering) -> bool:
        """Whether investors may pay for this offering with this provider (currency, configuration)."""
        return self.is_enabled()

    @abstractmethod
    def start(self, subscription: Subscription, *, return_url: str) -> Payment:
        """Create (or return the open) `Payment` for the subscription's outstanding amount.

        `payment.redirect_url`, when set, is where the investor's browser goes next.
        """

    @abstractmethod
    def refund(
        self, payment: Payment, *, amount_minor: int, idempotency_key: str, refund: Refund | None = None
    ) -> RefundResult:
        """Send `amount_minor` of what `payment` took back to the investor. Safe to call twice with one key.

        `refund` is the portal's row, whose id the provider keeps with the movement where it can.
        """

    def refund_state(self, refund: Refund) -> RefundState:
        """Ask the provider how a pending refund stands. Providers that settle at once never have one pending."""
        return RefundState(status="pending")

    def webhook(self, request: HttpRequest) -> HttpResponse:
        """Verify and process a vendor notification. Providers without webhooks answer 404."""
        return HttpResponse(status=404)
