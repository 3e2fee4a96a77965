from django.core.management.base import BaseCommand

from core.mfa import totp_code
from demo.seed import DEMO_TOTP_SECRET


class Command(BaseCommand):
    help = "Print the current authenticator code of the demo accounts."

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(totp_code(secret=DEMO_TOTP_SECRET))
