from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from core.invitations import invitation_issue, invitation_link
from core.models import InvitationRole, Issuer


class Command(BaseCommand):
    help = (
        "Invite someone to a role and print the link (it is e-mailed too). The way to give a fresh install its "
        "first staff member: accounts with a privileged role enrol their second factor only through such a link."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--role", default=InvitationRole.PLATFORM_STAFF, choices=InvitationRole.values)
        parser.add_argument("--issuer", default="", help="Short name (slug) of the issuer, for an issuer role.")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the portal is served.")

    def handle(self, *args: object, **options: object) -> None:
        issuer = None
        if options["issuer"]:
            issuer = Issuer.objects.filter(slug=options["issuer"]).first()
            if issuer is None:
                raise CommandError(f"No issuer has the short name “{options['issuer']}”.")
        site = str(options["url"]).rstrip("/")
        try:
            invitation, token = invitation_issue(
                actor=None, email=str(options["email"]), role=str(options["role"]), site=site, issuer=issuer
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Invited {invitation.email} as {invitation.get_role_display().lower()}; the link works for "
                f"{settings.INVITATION_VALIDITY_DAYS} days:"
            )
        )
        self.stdout.write(invitation_link(site=site, token=token))
