"""Ballots put to a token's holders, weighted by what each investor held at an on-chain record date.

A `Ballot` is created by an issuer admin with a record date the token schedules on-chain. Once the record
date has passed, the voting power is read: one `VotingPower` per investor, the units they held at the
record block across all their wallets (the holdings ledger, cross-checked against the token's checkpoint).
Between the opening and the closing time each investor with power has at most one `Vote`, changeable
until the close; closing freezes the tally on the ballot and its options.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from core.models import User
from investors.models import InvestorProfile
from offerings.models import Offering
from tokens.models import ChainTransaction


class BallotState(models.TextChoices):
    SCHEDULED = "scheduled", "Waiting for the record date"
    READY = "ready", "Voting power read"
    CLOSED = "closed", "Closed and counted"


class VoteChannel(models.TextChoices):
    PORTAL = "portal", "In the portal"
    SIGNED = "signed", "Signed with a wallet (EIP-712)"


class Ballot(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="ballots")
    question = models.CharField(max_length=500)
    state = models.CharField(max_length=12, choices=BallotState.choices, default=BallotState.SCHEDULED)
    # The moment the record date stands for on-chain (the token's checkpoint timestamp).
    record_at = models.DateTimeField()
    record_transaction = models.ForeignKey(
        ChainTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    record_id = models.PositiveIntegerField(null=True, blank=True, help_text="The token's record-date id.")
    record_block = models.BigIntegerField(null=True, blank=True, help_text="The last block at the record date.")
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    quorum_bps = models.PositiveIntegerField(help_text="Share of the voting power that must vote, in basis points.")
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    power_read_at = models.DateTimeField(null=True, blank=True)
    total_power = models.BigIntegerField(default=0)
    holders = models.PositiveIntegerField(default=0)

    # Frozen at the close.
    closed_at = models.DateTimeField(null=True, blank=True)
    power_voted = models.BigIntegerField(default=0)
    holders_voted = models.PositiveIntegerField(default=0)
    quorum_met = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["-opens_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=models.F("opens_at")), name="ballot_closes_after_open"),
            models.CheckConstraint(condition=Q(quorum_bps__lte=10_000), name="ballot_quorum_at_most_all"),
        ]

    def __str__(self) -> str:
        return self.question[:80]

    @property
    def power_ready(self) -> bool:
        return self.power_read_at is not None


class BallotOption(models.Model):
    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=200)
    # Frozen at the close: the voting power and the number of holders that chose it.
    power = models.BigIntegerField(default=0)
    holders = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["ballot", "position"]
        constraints = [models.UniqueConstraint(fields=["ballot", "position"], name="ballot_option_position_unique")]

    def __str__(self) -> str:
        return self.label


class VotingPower(models.Model):
    """One investor's units at the record date, across all the wallets that held them then."""

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="powers")
    investor = models.ForeignKey(InvestorProfile, on_delete=models.PROTECT, related_name="+")
    power = models.BigIntegerField()
    # The checksummed wallets that held the units at the record block: the ones a signed vote may come from.
    wallets = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ballot", "investor"], name="voting_power_one_per_investor"),
            models.CheckConstraint(condition=Q(power__gt=0), name="voting_power_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.investor_id}: {self.power}"


class Vote(models.Model):
    """An investor's current choice; a change replaces it (the audit log keeps what it was)."""

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE, related_name="votes")
    investor = models.ForeignKey(InvestorProfile, on_delete=models.PROTECT, related_name="+")
    option = models.ForeignKey(BallotOption, on_delete=models.PROTECT, related_name="votes")
    power = models.BigIntegerField()
    channel = models.CharField(max_length=8, choices=VoteChannel.choices)
    # For a signed vote: the wallet that signed, its signature and the nonce it signed (a replay is refused).
    signer_wallet = models.CharField(max_length=42, blank=True)
    signature = models.CharField(max_length=132, blank=True)
    signed_nonce = models.BigIntegerField(null=True, blank=True)
    cast_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    cast_at = models.DateTimeField()
    changes = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ballot", "investor"], name="vote_one_per_investor")]

    def __str__(self) -> str:
        return f"{self.investor_id} → {self.option_id}"
