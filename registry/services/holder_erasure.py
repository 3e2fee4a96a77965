"""An investor's personal data erased at their request, the way platform staff act on such a request.

17Ad-10(f): the holder record current until the erasure is ended, not deleted, and kept six years after
(then the purge task removes it), so the master file and the cap table as of the dates it was current
still name the holder as registered then. A holder of record cannot be erased: the register must keep
whoever holds units, so the request waits until they hold none.
"""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError
from core.models import User
from investors.models import BeneficialOwner, HolderRecordCause, HolderRecordVersion, InvestorProfile
from investors.services.holder_records import holder_record_end
from registry.models import HolderPosition

ERASED_NAME = "(erased)"


def investor_erased(investor: InvestorProfile) -> bool:
    """Erased before: no current holder record, the last one ended by the erasure."""
    records = HolderRecordVersion.objects.filter(investor=investor)
    last = records.order_by("-valid_from", "-id").first()
    return last is not None and last.valid_to is not None and last.ended_by == HolderRecordCause.ERASED


@transaction.atomic
def investor_erase(*, investor: InvestorProfile, actor: User) -> InvestorProfile:
    """Blank the investor's personal data and close their account; their holder record is kept six years."""
    investor = InvestorProfile.objects.select_for_update().select_related("user").get(pk=investor.pk)
    if investor_erased(investor):
        return investor  # the same request twice erases once
    held = HolderPosition.objects.filter(investor=investor).values_list("offering__token_symbol", flat=True)
    if held:
        raise ApplicationError(
            f"{investor.reference} is a holder of record of {', '.join(sorted(held))}: the register must keep "
            "them while they hold units. Erase the data once they hold none.",
            code="holder_of_record",
        )
    now = timezone.now()
    holder_record_end(investor=investor, cause=HolderRecordCause.ERASED, at=now)
    InvestorProfile.objects.filter(pk=investor.pk).update(
        legal_name=ERASED_NAME,
        date_of_birth=None,
        address_line1="",
        address_line2="",
        city="",
        region="",
        postal_code="",
        phone="",
        tax_id="",
        registration_number="",
        updated_at=now,
    )
    BeneficialOwner.objects.filter(investor=investor).update(full_name=ERASED_NAME, address="", id_number="")
    user = investor.user
    user.is_active = False
    user.email = f"erased-{investor.reference}@erased.invalid"
    user.save(update_fields=["is_active", "email"])
    EmailAddress.objects.filter(user=user).delete()
    kept = HolderRecordVersion.objects.filter(investor=investor).order_by("-valid_from", "-id").first()
    # Which investor and until when the record is kept, never the data itself: the chain holds no personal data.
    audit_record(
        actor=actor,
        action="investor.erased",
        obj=investor,
        after={
            "investor": investor.reference,
            "account_closed": True,
            "holder_record_retained_until": kept.retain_until.isoformat() if kept and kept.retain_until else None,
        },
    )
    investor.refresh_from_db()
    return investor
