from django.core.management.base import BaseCommand, CommandError

from core.audit import audit_chain_verify


class Command(BaseCommand):
    help = "Recompute the audit chain and report the first row whose hash or link does not match."

    def handle(self, *args: object, **options: object) -> None:
        report = audit_chain_verify()
        if not report.ok:
            where = f"event #{report.broken_event_id}" if report.broken_event_id else "the chain head"
            raise CommandError(
                f"Audit chain broken at {where}: {report.reason} ({report.checked} events verified before it)."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} events verified."))
