"""An investor elects, or withdraws, reinvestment of a token's distributions.

An election stands for every later distribution of the token declared with a reinvestment price, until
withdrawn. What counts for one distribution is the election open at its record moment (the cut-off):
`reinvestment_elected(offering=…, at=distribution.record_at)`.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError, Conflict
from core.models import User
from distributions.models import ReinvestmentElection
from distributions.selectors import reinvestment_offered
from investors.models import InvestorProfile
from offerings.models import Offering


def _locked_investor(investor: InvestorProfile) -> InvestorProfile:
    # One investor's elections change one at a time: a double click records one election.
    return InvestorProfile.objects.select_for_update().only("pk").get(pk=investor.pk)


@transaction.atomic
def reinvestment_elect(*, investor: InvestorProfile, offering: Offering, actor: User) -> ReinvestmentElection:
    """Open an election; returns the one already open if there is one (asking twice changes nothing)."""
    _locked_investor(investor)
    current = ReinvestmentElection.objects.filter(investor=investor, offering=offering, withdrawn_at__isnull=True)
    existing = current.first()
    if existing is not None:
        return existing
    if not reinvestment_offered(offering=offering):
        raise ApplicationError(
            f"{offering.token_symbol} does not offer reinvestment: its issuer has declared no distribution with a "
            "reinvestment price.",
            code="reinvestment_not_offered",
        )
    try:
        with transaction.atomic():
            election = ReinvestmentElection.objects.create(investor=investor, offering=offering)
    except IntegrityError as exc:
        raise Conflict("An election was recorded meanwhile; reload the page.", code="election_open") from exc
    audit_record(
        actor=actor,
        action="distribution.reinvestment_elected",
        obj=election,
        issuer=offering.issuer,
        after={"offering": offering.pk, "investor": investor.pk, "elected_at": election.elected_at.isoformat()},
    )
    return election


@transaction.atomic
def reinvestment_withdraw(*, investor: InvestorProfile, offering: Offering, actor: User) -> ReinvestmentElection | None:
    """Withdraw the open election; returns None when there was none (nothing to withdraw)."""
    _locked_investor(investor)
    election = (
        ReinvestmentElection.objects.select_for_update()
        .filter(investor=investor, offering=offering, withdrawn_at__isnull=True)
        .first()
    )
    if election is None:
        return None
    election.withdrawn_at = timezone.now()
    election.save(update_fields=["withdrawn_at"])
    audit_record(
        actor=actor,
        action="distribution.reinvestment_withdrawn",
        obj=election,
        issuer=offering.issuer,
        before={"elected_at": election.elected_at.isoformat()},
        after={"withdrawn_at": election.withdrawn_at.isoformat()},
    )
    return election
