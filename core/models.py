"""The shared kernel's data: users, issuers and roles, the audit chain, worker heartbeats.

Issuer and membership live here rather than in `offerings` because investors and compliance
(below offerings in the dependency order) must scope their records to an issuer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django_countries.fields import CountryField


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractUser):
    """A person who signs in with an e-mail address. Investor is the default role."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("e-mail address", unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    # Platform compliance decides identity (KYC, sanctions, accreditation, custodial wallets) for
    # every issuer; an issuer's own officers decide only whether they admit an investor.
    platform_compliance = models.BooleanField(
        "platform compliance",
        default=False,
        help_text="Decides KYC, sanctions matches, accreditation and custodial wallets for the whole platform.",
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()  # type: ignore[assignment,misc]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    def audit_label(self) -> str:
        """Team members and staff by their e-mail address; investors by id (their personal data stays out
        of the immutable audit chain)."""
        if type(self)._default_manager.filter(pk=self.pk, investor_profile__isnull=False).exists():
            return f"user {self.pk}"
        return self.email


class Issuer(models.Model):
    """A company that raises money by issuing a tokenized security."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    legal_name = models.CharField(max_length=200)
    jurisdiction = models.CharField(max_length=100, help_text="State or country of incorporation.")
    formation_date = models.DateField(
        "date of incorporation", null=True, blank=True, help_text="When the issuer was incorporated or formed."
    )
    country = CountryField(help_text="ISO 3166-1 alpha-2 of the principal place of business.")
    website = models.URLField(blank=True)
    description = models.TextField(blank=True)
    # Four eyes: money moved by hand above this amount (minor units of the money's currency) needs a
    # second admin's approval; 0 means every such movement does.
    # The payer on the IRS information returns of its distributions (1099-DIV, 1099-INT, 1042-S): its US
    # taxpayer identification number (an EIN) and its address. Blank until an issuer admin gives them.
    tax_id = models.CharField("payer's TIN (EIN)", max_length=11, blank=True)
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address (line 2)", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField("state or region", max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    four_eyes_threshold_minor = models.PositiveBigIntegerField(
        "four-eyes threshold",
        default=0,
        help_text="Wires recorded by hand and refunds marked sent above this amount (in cents) need a second "
        "admin's approval. 0: always.",
    )
    # Whether the issuer's transfer agent decides its holders' exception requests (approves or refuses them) as
    # an issuer admin does; what an approval proposes still waits for an issuer admin's approval (four eyes).
    transfer_agent_decides_requests = models.BooleanField(
        "transfer agent decides exception requests",
        default=False,
        help_text="The transfer agent approves or refuses holders' transfer requests; an approval still waits for "
        "an issuer admin's approval before anything is sent.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ISSUER_ADMIN = "issuer_admin", "Issuer admin"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    TRANSFER_AGENT = "transfer_agent", "Transfer agent"


class IssuerMembership(models.Model):
    """Gives one user one role at one issuer."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    issuer = models.ForeignKey(Issuer, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["issuer__name", "role", "user__email"]
        constraints = [models.UniqueConstraint(fields=["user", "issuer"], name="one_role_per_user_per_issuer")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.issuer}"


class InvitationRole(models.TextChoices):
    """What accepting an invitation gives: an issuer role, a platform role, or only a new second factor."""

    ISSUER_ADMIN = "issuer_admin", "Issuer admin"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    TRANSFER_AGENT = "transfer_agent", "Transfer agent"
    PLATFORM_COMPLIANCE = "platform_compliance", "Platform compliance"
    PLATFORM_STAFF = "platform_staff", "Platform staff"
    MFA_RESET = "mfa_reset", "Two-factor set-up after a reset"


ISSUER_INVITATION_ROLES = frozenset(Role.values)


class Invitation(models.Model):
    """A link, sent by e-mail, that sets a password and enrols a second factor in one flow, then gives a role.

    Privileged roles are reached only through one (or, for someone who already has a factor, directly), so a
    stolen password of an account without a factor can never be used to enrol the thief's authenticator.
    Only a SHA-256 hash of the link's token is stored.
    """

    issuer = models.ForeignKey(Issuer, null=True, blank=True, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField("e-mail address")
    role = models.CharField(max_length=32, choices=InvitationRole.choices)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # An issuer role is given at one issuer; platform roles and resets belong to no issuer.
            models.CheckConstraint(
                condition=(
                    models.Q(role__in=sorted(ISSUER_INVITATION_ROLES), issuer__isnull=False)
                    | (~models.Q(role__in=sorted(ISSUER_INVITATION_ROLES)) & models.Q(issuer__isnull=True))
                ),
                name="invitation_issuer_iff_issuer_role",
            ),
        ]

    def __str__(self) -> str:
        return f"invitation {self.pk} ({self.role})"

    def audit_label(self) -> str:
        """By id: a reset invitation may be addressed to an investor, whose address stays out of the chain."""
        return str(self)

    @property
    def is_issuer_role(self) -> bool:
        return self.role in ISSUER_INVITATION_ROLES

    @property
    def is_expired(self) -> bool:
        from django.utils import timezone

        return self.expires_at <= timezone.now()


class ApprovalState(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    APPROVED = "approved", "Approved and done"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn by the proposer"


class ApprovalRequest(models.Model):
    """Maker-checker: one person of the issuer proposes an action, another approves it, then it runs.

    The action is named by `kind` (registered in `core.approvals`) and described by `payload`; the
    database refuses an approval by the person who proposed it.
    """

    issuer = models.ForeignKey(Issuer, on_delete=models.PROTECT, related_name="approval_requests")
    kind = models.CharField(max_length=64)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=300)
    amount_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, blank=True)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=ApprovalState.choices, default=ApprovalState.PENDING)
    proposed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-proposed_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decided_by__isnull=True) | ~models.Q(decided_by=models.F("proposed_by")),
                name="approval_not_by_its_proposer",
            ),
            # One open proposal per object (a refund cannot be proposed as sent twice at once).
            models.UniqueConstraint(
                fields=["kind", "object_type", "object_id"],
                condition=models.Q(state="pending") & ~models.Q(object_id=""),
                name="one_pending_approval_per_object",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} [{self.state}]"


class AuditEvent(models.Model):
    """One append-only entry of the audit chain.

    `hash` is SHA-256 over this row's content and `prev_hash`, so editing or deleting any
    row breaks every later link; `audit_verify` finds the first broken one. Rows are never
    updated: the model refuses, and a database trigger refuses too.
    """

    occurred_at = models.DateTimeField()
    # A plain id and a label rather than a constraint: deleting a user must not rewrite history.
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    issuer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Audit events are append-only.")


class AuditChainHead(models.Model):
    """A single row locked by every writer so links are added one at a time, in order."""

    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    length = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"audit chain head at #{self.last_event_id}"


class WorkerHeartbeat(models.Model):
    """Written by a Celery worker; shows that workers consume from the broker."""

    token = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"heartbeat {self.token} from {self.hostname}"


class TaskFailureTally(models.Model):
    """How often each task failed for good (its retries spent), counted across every worker: /metrics/ reads it.

    Telemetry, not a business change: the failure itself is on the record the task moves to FAILED.
    """

    task_name = models.CharField(max_length=200, unique=True)
    failures = models.PositiveBigIntegerField(default=0)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["task_name"]

    def __str__(self) -> str:
        return f"{self.task_name}: {self.failures} failures"


class ApiToken(models.Model):
    """A personal API token for the read-only registry API.

    The secret is shown once, when the token is made; only its SHA-256 is stored (the secret is 256
    random bits, so a fast hash is enough). A token works while it is neither revoked nor expired and
    its owner still holds a role that reads an issuer's register.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. the system that uses it.")
    prefix = models.CharField(max_length=12, help_text="The secret's first characters, to tell tokens apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"API token {self.prefix}… ({self.name})"

    @staticmethod
    def hash_of(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def state(self, now: dt.datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def usable(self, now: dt.datetime) -> bool:
        return self.state(now) == "active"


class NotificationKind(models.TextChoices):
    """What a person is told about. Each kind is sent once per event (see `core.notifications`)."""

    KYC_DECIDED = "kyc_decided", "Identity check decided"
    ACCREDITATION_DECIDED = "accreditation_decided", "Accreditation decided"
    INFORMATION_REQUESTED = "information_requested", "Information requested"
    PAYMENT_RECEIVED = "payment_received", "Payment received"
    PAYMENT_FLAGGED = "payment_flagged", "Payment flagged"
    SUBSCRIPTION_CANCELLED = "subscription_cancelled", "Subscription cancelled"
    SUBSCRIPTION_EXPIRED = "subscription_expired", "Reservation expired"
    REFUND_SENT = "refund_sent", "Refund sent"
    TOKENS_ISSUED = "tokens_issued", "Tokens issued"
    DISTRIBUTION_PAID = "distribution_paid", "Distribution paid"
    REDEMPTION_STEP = "redemption_step", "Redemption"
    DOCUMENT_CHANGED = "document_changed", "Offering document changed"
    WIRE_RECEIVED = "wire_received", "Wire received"
    SUBSCRIPTION_TO_REVIEW = "subscription_to_review", "Subscription to review"
    APPROVAL_WAITING = "approval_waiting", "Approval waiting for you"
    APPLICATION_TO_REVIEW = "application_to_review", "Investor to review"
    MONEY_TAKEN_BACK = "money_taken_back", "Money taken back"
    RECORDS_DIFFER = "records_differ", "Records differ"
    BACKING_CONDITION = "backing_condition", "Backing condition"


class Notification(models.Model):
    """One thing one person is told, shown in the portal and sent by e-mail.

    `event_key` names the event (for example ``kyc:42:approved``); a person gets one notification per
    event however often the code that reports it runs (the unique constraint). The texts are rendered
    when the event happens, so the e-mail says what was true then."""

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40, choices=NotificationKind.choices)
    event_key = models.CharField(max_length=200)
    # No database constraint: the insert must not take a key-share lock on the issuer's row, which a wire
    # recorder holds for update while a cancellation of the same issuer tells its investor (core.audit's order).
    issuer = models.ForeignKey(
        Issuer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    subject = models.CharField(max_length=200)
    body = models.TextField(help_text="The message as plain text, without greeting or link.")
    path = models.CharField(max_length=500, help_text="Where the message leads in the portal (a path).")
    action_label = models.CharField(max_length=80, default="Open in the portal")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "event_key"], name="one_notification_per_event"),
        ]
        indexes = [
            models.Index(fields=["recipient", "read_at"]),
            models.Index(fields=["emailed_at", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to user {self.recipient_id}: {self.subject}"


class RunLease(models.Model):
    """One run at a time of a periodic pass (`core.runs.run_alone`): taken by the run, given back when it ends.

    A lease a dead worker took ends by itself: at `expires_at`, or as soon as a run on the same host finds the
    process that holds it gone."""

    name = models.CharField(max_length=200, unique=True)
    token = models.CharField(max_length=64)
    holder = models.CharField(max_length=200)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.expires_at:%Y-%m-%d %H:%M:%S}"
