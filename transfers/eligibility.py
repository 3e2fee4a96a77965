"""May these units move from this wallet to that one? Asked of both sides before anything is signed.

The portal's side reads its own records: the investors on both ends (identity, screening, country and
accreditation, with the reason codes of `compliance.eligibility`), the holdings ledger (balance, frozen
wallets and amounts, pause, each lot's lock-up), the register's holder counts against the caps the token is
configured with. The token's side is its ERC-1404 answer, `detectTransferRestriction` with
`messageForTransferRestriction`, read from the chain.

Each portal reason that the token also enforces names the token's restriction code (`RESTRICTION_OF`); the
token reports only the first rule it meets, in the order its checks run (`CHECK_ORDER`), so the two sides
agree when the first portal reason in that order names the code the token answered. A few reasons are the
portal's alone (the issuer declined the receiver, a transfer to the same wallet): the token would let those
go, the portal does not.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from compliance.eligibility import (
    EligibilityContext,
    Reason,
    ReasonCode,
    accredited_status,
    subscription_eligibility,
)
from core.countries import country_name
from investors.models import (
    AccreditationClaim,
    AccreditationStatus,
    ApplicationStatus,
    InvestorProfile,
    IssuerApplication,
)
from investors.services.verification import investor_is_accredited
from offerings.models import Offering
from offerings.services.offerings import offering_terms
from registry.selectors.ledger import investor_totals, lots_held, restrictions
from registry.services.ledger import wallet_investors
from tokens.selectors import (
    TokenCaps,
    TransferRestriction,
    address_checksum,
    address_is_valid,
    chain_head_time,
    registry_wallets_confirmed,
    token_caps,
    token_deployment,
    token_transfer_restriction,
)
from tokens.services import CHAIN_TRANSIENT_ERRORS


class Restriction:
    """The token's ERC-1404 restriction codes (tokens/contracts/SecurityToken.sol)."""

    SUCCESS = 0
    PAUSED = 1
    SENDER_NOT_VERIFIED = 2
    RECEIVER_NOT_VERIFIED = 3
    COUNTRY_NOT_ALLOWED = 4
    FLAGS_NOT_ALLOWED = 5
    SENDER_FROZEN = 6
    RECEIVER_FROZEN = 7
    INSUFFICIENT_BALANCE = 8
    AMOUNT_FROZEN = 9
    TOKENS_LOCKED = 10
    MAX_INVESTORS = 11
    MAX_NON_ACCREDITED = 12
    MAX_BALANCE = 13
    # Only a mint can meet it (the supply would pass 2^128 - 1); a transfer never changes the supply.
    SUPPLY_LIMIT = 14


# The order the token's checks run in (`_transferRestriction`): it answers with the first that fails.
CHECK_ORDER = (
    Restriction.PAUSED,
    Restriction.SENDER_NOT_VERIFIED,
    Restriction.RECEIVER_NOT_VERIFIED,
    Restriction.COUNTRY_NOT_ALLOWED,
    Restriction.FLAGS_NOT_ALLOWED,
    Restriction.RECEIVER_FROZEN,
    Restriction.SENDER_FROZEN,
    Restriction.INSUFFICIENT_BALANCE,
    Restriction.AMOUNT_FROZEN,
    Restriction.TOKENS_LOCKED,
    Restriction.MAX_BALANCE,
    Restriction.MAX_INVESTORS,
    Restriction.MAX_NON_ACCREDITED,
)
MINT_ONLY = frozenset({Restriction.SUPPLY_LIMIT})

SENDER, RECEIVER, TOKEN, TRANSFER = "sender", "receiver", "token", "transfer"

_IDENTITY = frozenset(
    {
        ReasonCode.KYC_NOT_SUBMITTED,
        ReasonCode.KYC_PENDING,
        ReasonCode.KYC_MORE_INFO,
        ReasonCode.KYC_REJECTED,
        ReasonCode.KYC_EXPIRED,
        ReasonCode.KYC_UNVERIFIED,
        ReasonCode.SCREENING_NOT_CLEAR,
        ReasonCode.SCREENING_BLOCKED,
        ReasonCode.NO_REGISTERED_WALLET,
    }
)
# (party, reason code) → the restriction code the token answers for the same rule.
RESTRICTION_OF: dict[tuple[str, str], int] = {
    (TOKEN, ReasonCode.TOKEN_PAUSED): Restriction.PAUSED,
    **{(SENDER, code): Restriction.SENDER_NOT_VERIFIED for code in _IDENTITY},
    **{(RECEIVER, code): Restriction.RECEIVER_NOT_VERIFIED for code in _IDENTITY},
    (RECEIVER, ReasonCode.RECEIVER_UNKNOWN): Restriction.RECEIVER_NOT_VERIFIED,
    (RECEIVER, ReasonCode.COUNTRY_NOT_ALLOWED): Restriction.COUNTRY_NOT_ALLOWED,
    (RECEIVER, ReasonCode.COUNTRY_BLOCKED): Restriction.COUNTRY_NOT_ALLOWED,
    (RECEIVER, ReasonCode.ACCREDITATION_NOT_VERIFIED): Restriction.FLAGS_NOT_ALLOWED,
    (RECEIVER, ReasonCode.US_PERSON): Restriction.FLAGS_NOT_ALLOWED,
    (RECEIVER, ReasonCode.RECEIVER_FROZEN): Restriction.RECEIVER_FROZEN,
    (SENDER, ReasonCode.SENDER_FROZEN): Restriction.SENDER_FROZEN,
    (SENDER, ReasonCode.INSUFFICIENT_BALANCE): Restriction.INSUFFICIENT_BALANCE,
    (SENDER, ReasonCode.AMOUNT_FROZEN): Restriction.AMOUNT_FROZEN,
    (SENDER, ReasonCode.TOKENS_LOCKED): Restriction.TOKENS_LOCKED,
    (RECEIVER, ReasonCode.MAX_BALANCE): Restriction.MAX_BALANCE,
    (RECEIVER, ReasonCode.MAX_INVESTORS): Restriction.MAX_INVESTORS,
    (RECEIVER, ReasonCode.NON_ACCREDITED_PLACES_FULL): Restriction.MAX_NON_ACCREDITED,
}


@dataclass(frozen=True)
class TransferReason:
    """One reason the portal refuses the transfer: whose rule it is, the reason, and the token's code for it."""

    party: str
    reason: Reason

    @property
    def code(self) -> str:
        return str(self.reason.code)

    @property
    def message(self) -> str:
        return self.reason.message

    @property
    def restriction(self) -> int | None:
        """The token's restriction code for the same rule; None for a rule only the portal applies."""
        return RESTRICTION_OF.get((self.party, self.reason.code))

    def as_dict(self) -> dict[str, Any]:
        return {"party": self.party, **self.reason.as_dict(), "restriction": self.restriction}


@dataclass(frozen=True)
class TransferCheck:
    from_wallet: str
    to_wallet: str
    quantity: int
    sender: InvestorProfile | None
    receiver: InvestorProfile | None
    reasons: list[TransferReason] = field(default_factory=list)
    # The token's answer; None when it was not asked (a bad input) or could not be reached (`token_unread` says).
    token: TransferRestriction | None = None
    token_unread: str = ""

    @property
    def portal_restriction(self) -> int:
        """The restriction code of the first portal reason in the token's order of checks (0: none the token has)."""
        codes = {r.restriction for r in self.reasons} - {None}
        return next((code for code in CHECK_ORDER if code in codes), Restriction.SUCCESS)

    @property
    def agree(self) -> bool:
        return self.token is not None and self.token.code == self.portal_restriction

    @property
    def allowed(self) -> bool:
        return not self.reasons and self.token is not None and self.token.code == Restriction.SUCCESS

    def as_dict(self) -> dict[str, Any]:
        """What both sides said, as stored with a transfer instructed on it."""
        return {
            "reasons": [r.as_dict() for r in self.reasons],
            "token_code": self.token.code if self.token else None,
            "token_message": self.token.message if self.token else self.token_unread,
        }


def _units(n: int) -> str:
    return f"{n:,}"


def _day(moment: dt.datetime) -> str:
    return f"{timezone.localtime(moment):%d %B %Y}"


# The receiving investor's identity, said to the sender (eligibility's own sentences speak to the investor).
_RECEIVER_IDENTITY = {
    ReasonCode.KYC_EXPIRED: "The receiving investor's identity verification has expired.",
    ReasonCode.SCREENING_BLOCKED: "The receiving investor cannot hold these units (sanctions screening).",
    ReasonCode.SCREENING_NOT_CLEAR: "The receiving investor's sanctions screening is not clear yet.",
    ReasonCode.NO_REGISTERED_WALLET: "The receiving wallet is not registered on-chain for its investor (yet).",
}
_SENDER_IDENTITY = {
    ReasonCode.NO_REGISTERED_WALLET: "The sending wallet is no longer registered to you on-chain.",
}


def _identity(party: str, reasons: list[Reason]) -> list[TransferReason]:
    out: list[TransferReason] = []
    for r in reasons:
        if r.code not in _IDENTITY:
            continue
        if party == RECEIVER:
            message = _RECEIVER_IDENTITY.get(r.code, "The receiving investor's identity is not verified.")
        else:
            message = _SENDER_IDENTITY.get(r.code, r.message)
        out.append(TransferReason(party, Reason(r.code, message, r.params)))
    return out


def _eligibility(offering: Offering, investor: InvestorProfile) -> tuple[list[Reason], frozenset[str]]:
    """The investor as a holder of the offering's units (not a subscriber: the offering need not be open)."""
    registered = registry_wallets_confirmed(investor_refs=[investor.reference]).get(investor.reference, frozenset())
    declined = IssuerApplication.objects.filter(
        investor=investor, issuer_id=offering.issuer_id, status=ApplicationStatus.DECLINED
    ).exists()
    profile = InvestorProfile.objects.prefetch_related("accreditation_claims", "wallets").get(pk=investor.pk)
    terms = dataclasses.replace(offering_terms(offering), accepting=True, max_non_accredited=None)
    result = subscription_eligibility(
        investor=profile,
        terms=terms,
        amount_minor=offering.price_minor,
        context=EligibilityContext(declined_by_issuer=declined, registered_wallets=registered),
    )
    return result.reasons, registered


def _sender_reasons(offering: Offering, sender: InvestorProfile | None, wallet: str) -> list[TransferReason]:
    if sender is None:
        return [
            TransferReason(
                SENDER,
                Reason(ReasonCode.NO_INVESTOR_ACCOUNT, f"{wallet} is not the wallet of an investor of the portal."),
            )
        ]
    reasons, registered = _eligibility(offering, sender)
    out = _identity(SENDER, reasons)
    if wallet not in registered and not any(r.code == ReasonCode.NO_REGISTERED_WALLET for r in out):
        message = _SENDER_IDENTITY[ReasonCode.NO_REGISTERED_WALLET]
        out.append(TransferReason(SENDER, Reason(ReasonCode.NO_REGISTERED_WALLET, message)))
    return out


def _receiver_reasons(offering: Offering, receiver: InvestorProfile | None, wallet: str) -> list[TransferReason]:
    if receiver is None:
        return [
            TransferReason(
                RECEIVER,
                Reason(
                    ReasonCode.RECEIVER_UNKNOWN,
                    f"{wallet} is not the wallet of a verified investor of the portal: these units go only to "
                    "verified investors' registered wallets. Check the address with the person you transfer to.",
                ),
            )
        ]
    reasons, registered = _eligibility(offering, receiver)
    out = _identity(RECEIVER, reasons)
    if wallet not in registered and not any(r.code == ReasonCode.NO_REGISTERED_WALLET for r in out):
        message = _RECEIVER_IDENTITY[ReasonCode.NO_REGISTERED_WALLET]
        out.append(TransferReason(RECEIVER, Reason(ReasonCode.NO_REGISTERED_WALLET, message)))
    for r in reasons:
        if r.code in (ReasonCode.COUNTRY_NOT_ALLOWED, ReasonCode.COUNTRY_BLOCKED):
            country = country_name(r.params.get("country", "")) or "their country"
            message = f"{offering.token_symbol} may not be held by investors in {country}, where the receiver lives."
            out.append(TransferReason(RECEIVER, Reason(r.code, message, r.params)))
        elif r.code == ReasonCode.ACCREDITATION_NOT_VERIFIED:
            message = (
                f"{offering.token_symbol} ({offering.get_exemption_display()}) may be held only by accredited "
                "investors whose status was verified; the receiver's is not verified (or has expired)."
            )
            out.append(TransferReason(RECEIVER, Reason(r.code, message, r.params)))
        elif r.code == ReasonCode.US_PERSON:
            message = f"{offering.token_symbol} may not be held by US persons ({offering.get_exemption_display()})."
            out.append(TransferReason(RECEIVER, Reason(r.code, message, r.params)))
        elif r.code in (ReasonCode.NOT_ADMITTED, ReasonCode.ACCREDITATION_REQUIRED):
            # The portal's own rules: the token lets these through, the portal does not.
            message = (
                f"{offering.issuer.name} did not admit the receiving investor."
                if r.code == ReasonCode.NOT_ADMITTED
                else f"{offering.token_symbol} may be held only by accredited investors; the receiver is not one."
            )
            out.append(TransferReason(RECEIVER, Reason(r.code, message, r.params)))
    return out


def _locked_units(offering: Offering, wallet: str, now: dt.datetime) -> tuple[int, dt.datetime | None]:
    """Units of the wallet's lots still in their lock-up, and the latest release among them."""
    locked, until = 0, None
    for row in lots_held(offering=offering, wallet=wallet):
        release = row.lot.lockup_release
        if release is not None and release > now:
            locked += row.remaining
            until = release if until is None or release > until else until
    return locked, until


def _cap_reasons(
    offering: Offering,
    caps: TokenCaps,
    sender: InvestorProfile | None,
    receiver: InvestorProfile,
    quantity: int,
) -> list[TransferReason]:
    """The token's per-investor caps against the register: investors (persons) holding, each across wallets."""
    if sender is not None and sender.pk == receiver.pk:
        return []  # between one investor's wallets nobody's total changes
    totals = investor_totals(offering=offering)
    before = totals.get(receiver.pk, 0)
    out: list[TransferReason] = []
    if caps.max_balance is not None and before + quantity > caps.max_balance:
        message = (
            f"The receiver would hold {_units(before + quantity)} {offering.token_symbol} across their wallets; "
            f"the token allows at most {_units(caps.max_balance)} per investor."
        )
        out.append(TransferReason(RECEIVER, Reason(ReasonCode.MAX_BALANCE, message, {"max": caps.max_balance})))
    if before:
        return out  # already a holder: the counts do not change
    leaving = 1 if sender is not None and totals.get(sender.pk, 0) == quantity else 0
    holders = [i for i, units in totals.items() if i is not None and units > 0]
    if caps.max_investors is not None and len(holders) + 1 - leaving > caps.max_investors:
        message = (
            f"{offering.token_symbol} has {_units(len(holders))} holders, the most it allows "
            f"({_units(caps.max_investors)}); the receiver would be a new one (Exchange Act 12(g))."
        )
        out.append(TransferReason(RECEIVER, Reason(ReasonCode.MAX_INVESTORS, message, {"max": caps.max_investors})))
    if caps.max_non_accredited is not None and not investor_is_accredited(receiver):
        # Counted as the token counts them: holders without the registry's accredited flag (verified, unexpired).
        accredited = set(
            AccreditationClaim.objects.filter(
                investor_id__in=holders, status=AccreditationStatus.VERIFIED, expires_at__gt=timezone.now()
            ).values_list("investor_id", flat=True)
        )
        non_accredited = sum(1 for i in holders if i not in accredited)
        sender_leaving = leaving and sender is not None and sender.pk not in accredited
        if non_accredited + 1 - (1 if sender_leaving else 0) > caps.max_non_accredited:
            message = (
                f"{offering.token_symbol} allows at most {_units(caps.max_non_accredited)} holders who are not "
                "accredited, and has them; the receiver is not accredited."
            )
            reason = Reason(ReasonCode.NON_ACCREDITED_PLACES_FULL, message, {"max": caps.max_non_accredited})
            out.append(TransferReason(RECEIVER, reason))
    return out


def _chain_now() -> dt.datetime:
    """The chain's clock decides lock-ups (the token compares with its block time)."""
    now = timezone.now()
    try:
        return max(now, chain_head_time())
    except CHAIN_TRANSIENT_ERRORS:
        return now


def transfer_eligibility(*, offering: Offering, from_wallet: str, to_wallet: str, quantity: int) -> TransferCheck:
    """Both sides' answers on moving `quantity` units of the offering's token from one wallet to another.

    Every reason the portal has, not only the first; the token's one answer, or why it could not be asked."""
    if not address_is_valid(from_wallet or ""):
        raise ValueError("from_wallet is not an address")  # the holder's own wallet, chosen from a list
    source = address_checksum(from_wallet)
    target = address_checksum(to_wallet) if address_is_valid(to_wallet or "") else (to_wallet or "").strip()
    holders = wallet_investors([source, target] if address_is_valid(target) else [source])
    sender, receiver = holders.get(source), holders.get(target)
    reasons: list[TransferReason] = []
    if not address_is_valid(target):
        message = f"“{target[:60]}” is not a wallet address (0x and 40 hexadecimal digits)."
        reason = TransferReason(RECEIVER, Reason(ReasonCode.RECEIVER_UNKNOWN, message))
        return TransferCheck(source, target, quantity, sender, None, [reason], token_unread="Not asked: no address.")
    if quantity <= 0:
        reasons.append(TransferReason(TRANSFER, Reason(ReasonCode.AMOUNT_NOT_POSITIVE, "Enter a quantity above zero.")))
    if source == target:
        message = "The receiving wallet is the sending wallet: choose another wallet."
        reasons.append(TransferReason(TRANSFER, Reason(ReasonCode.SAME_WALLET, message)))
    state = restrictions(offering=offering)
    if state.paused:
        message = f"{offering.issuer.name} has paused {offering.token_symbol}: no holder can transfer until it resumes."
        reasons.append(TransferReason(TOKEN, Reason(ReasonCode.TOKEN_PAUSED, message)))
    reasons += _sender_reasons(offering, sender, source)
    reasons += _receiver_reasons(offering, receiver, target)
    if target in state.frozen_wallets:
        message = f"The receiving wallet {target} is frozen by {offering.issuer.name}: it cannot receive units."
        reasons.append(TransferReason(RECEIVER, Reason(ReasonCode.RECEIVER_FROZEN, message)))
    if source in state.frozen_wallets:
        message = f"Your wallet {source} is frozen by {offering.issuer.name}: nothing can leave it."
        reasons.append(TransferReason(SENDER, Reason(ReasonCode.SENDER_FROZEN, message)))
    now = _chain_now()
    held = sum(row.remaining for row in lots_held(offering=offering, wallet=source))
    frozen = state.frozen_amounts.get(source, 0)
    locked, until = _locked_units(offering, source, now)
    unfrozen = max(held - frozen, 0)
    if quantity > held:
        message = f"{source} holds {_units(held)} {offering.token_symbol}; you cannot send {_units(quantity)}."
        reasons.append(TransferReason(SENDER, Reason(ReasonCode.INSUFFICIENT_BALANCE, message, {"held": held})))
    elif quantity > unfrozen:
        message = (
            f"{_units(frozen)} of the {_units(held)} {offering.token_symbol} in {source} are frozen by "
            f"{offering.issuer.name}; at most {_units(unfrozen)} can move."
        )
        why = Reason(ReasonCode.AMOUNT_FROZEN, message, {"frozen": frozen, "unfrozen": unfrozen})
        reasons.append(TransferReason(SENDER, why))
    elif quantity > max(unfrozen - locked, 0) and until is not None:
        free = max(unfrozen - locked, 0)
        message = (
            f"{_units(locked)} of your {offering.token_symbol} in {source} are in their lock-up until {_day(until)} "
            f"({offering.get_exemption_display()}); {_units(free)} can move now."
        )
        why = Reason(ReasonCode.TOKENS_LOCKED, message, {"locked": locked, "free": free, "until": until.isoformat()})
        reasons.append(TransferReason(SENDER, why))
    token = token_deployment(owner_ref=offering.owner_ref)
    answer: TransferRestriction | None = None
    unread = ""
    if token is None or not token.address:
        unread = "The token is not on the chain yet."
    elif quantity < 0:
        unread = "Not asked: a negative quantity."
    else:
        try:
            if receiver is not None and quantity > 0:
                caps = token_caps(address=token.address)
                if caps != TokenCaps(None, None, None):
                    reasons += _cap_reasons(offering, caps, sender, receiver, quantity)
            answer = token_transfer_restriction(
                address=token.address, from_wallet=source, to_wallet=target, amount=quantity
            )
        except CHAIN_TRANSIENT_ERRORS:
            unread = "The token could not be asked just now (the chain is not reachable); try again shortly."
    order = {code: n for n, code in enumerate(CHECK_ORDER)}
    reasons.sort(key=lambda r: order.get(r.restriction, len(order)) if r.restriction is not None else len(order))
    return TransferCheck(source, target, quantity, sender, receiver, reasons, answer, unread)


def accredited_for_exception(investor: InvestorProfile) -> bool:
    """Reg CF 227.501(a)(2): the receiver is an accredited investor (self-certified or verified, not expired)."""
    profile = InvestorProfile.objects.prefetch_related("accreditation_claims").get(pk=investor.pk)
    return accredited_status(profile, now=timezone.now())[1]
