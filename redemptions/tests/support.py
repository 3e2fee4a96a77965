"""Building redemptions in tests: terms as an issuer admin sets them, a request as a holder makes it, and the
chain and ledger brought up to date as the workers and the beat do."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from core.models import User
from distributions.models import PaymentMethod
from investors.models import InvestorProfile
from offerings.models import Offering
from redemptions.models import RedemptionRequest, RedemptionTerms, RequestState
from redemptions.services.requesting import redemption_request, redemption_requests_advance
from redemptions.services.terms import TermsInput, redemption_terms_set
from registry.services.ledger import ledger_sync
from registry.tests.conftest import Closed
from tokens.models import ChainTransaction, TxStatus
from tokens.tests.support import chain_indexed, drain


def terms_set(offering: Offering, actor: User, **overrides: Any) -> RedemptionTerms:
    values: dict[str, Any] = {
        "frequency": "daily",
        "cutoff_time": dt.time(20, 0),
        "cutoff_timezone": "UTC",
        "payout_method": PaymentMethod.STABLECOIN,
        "fee_bps": 25,
    }
    values.update(overrides)
    return redemption_terms_set(offering=offering, actor=actor, data=TermsInput(**values))


def requested(offering: Offering, investor: InvestorProfile, wallet: str, quantity: int) -> RedemptionRequest:
    return redemption_request(
        offering=offering,
        investor=investor,
        actor=investor.user,
        wallet=wallet,
        quantity=quantity,
        idempotency_key=str(uuid.uuid4()),
    )


def settled_on_chain(closed: Closed, rounds: int = 6) -> None:
    """Sign, send and confirm what is queued, index it, post it and follow the requests (workers and beat), until
    no request waits for the chain (the burner's deployment and grant come first, then the freeze batch)."""
    for _ in range(rounds):
        drain()
        chain_indexed(closed.rpc_url)
        ledger_sync(offering=closed.offering)
        redemption_requests_advance()
        in_flight = RedemptionRequest.objects.filter(state__in=(RequestState.FREEZING, RequestState.CANCELLING))
        if not in_flight.exists() and not ChainTransaction.objects.filter(status=TxStatus.PENDING).exists():
            break
    drain()
    chain_indexed(closed.rpc_url)
    ledger_sync(offering=closed.offering)
