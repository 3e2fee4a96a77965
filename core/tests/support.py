"""People in every role at one issuer (the `cast` fixture), the roles the access matrix walks, and where the
Celery workers a test starts write their logs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from core.models import Issuer, IssuerMembership, Role, User
from core.tests.factories import IssuerFactory, MembershipFactory, UserFactory


@dataclass
class Cast:
    issuer: Issuer
    other_issuer: Issuer
    investor: User
    other_admin: User
    admin: User
    compliance: User
    agent: User
    staff: User
    platform_compliance: User
    admin_membership: IssuerMembership
    agent_membership: IssuerMembership

    def by_role(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)


ROLES = ["anonymous", "investor", "other_admin", "admin", "compliance", "agent", "staff", "platform_compliance"]


def cast_build() -> Cast:
    issuer = IssuerFactory.create(name="Harbor Street Capital", slug="harbor")
    other = IssuerFactory.create(name="Other Issuer", slug="other")
    admin_m = MembershipFactory.create(issuer=issuer, role=Role.ISSUER_ADMIN, user__email="admin@harbor.example")
    compliance_m = MembershipFactory.create(
        issuer=issuer, role=Role.COMPLIANCE_OFFICER, user__email="co@harbor.example"
    )
    agent_m = MembershipFactory.create(issuer=issuer, role=Role.TRANSFER_AGENT, user__email="ta@agent.example")
    other_m = MembershipFactory.create(issuer=other, role=Role.ISSUER_ADMIN, user__email="admin@other.example")
    staff = UserFactory.create(email="staff@tessera.example", is_staff=True, is_superuser=True, mfa=True)
    return Cast(
        issuer=issuer,
        other_issuer=other,
        investor=UserFactory.create(email="investor@example.com"),
        other_admin=other_m.user,
        admin=admin_m.user,
        compliance=compliance_m.user,
        agent=agent_m.user,
        staff=staff,
        platform_compliance=UserFactory.create(email="identity@tessera.example", platform_compliance=True, mfa=True),
        admin_membership=admin_m,
        agent_membership=agent_m,
    )


def notifications_delivered() -> list:
    """Send every notification e-mail still waiting (what the tasks do after commit, which a test that rolls
    back never reaches) and return the mail sent so far."""
    from django.core import mail

    from core.notifications import notifications_unsent_send

    notifications_unsent_send(older_than_seconds=-60)
    return list(mail.outbox)


def told_once(user: User, kind: str):
    """The one notification of `kind` the user got, checked as the person sees it: listed once, e-mailed once,
    the e-mail's link absolute (SITE_URL) and leading to the notification's page."""
    from django.conf import settings

    from core.models import Notification
    from core.notifications import absolute_url

    rows = list(Notification.objects.filter(recipient=user, kind=kind))
    assert len(rows) == 1, f"{user.email} was told {len(rows)} times of {kind}"
    (notification,) = rows
    mails = [m for m in notifications_delivered() if m.to == [user.email] and m.subject.endswith(notification.subject)]
    assert len(mails) == 1, f"{user.email} got {len(mails)} e-mails of {kind}"
    link = absolute_url(notification.path)
    assert link.startswith(str(settings.SITE_URL)) and link in mails[0].body
    assert f'href="{link}"' in mails[0].alternatives[0][0]
    return notification


def worker_log_path(name: str) -> Path:
    """The log file of the Celery worker a test started under `name` (one folder per pytest-xdist worker)."""
    return Path(settings.VAR_DIR) / "test-logs" / settings.TEST_WORKER / f"worker-{name}.log"
