from django.core.management.base import BaseCommand

from core.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, demo_seed


class Command(BaseCommand):
    help = "Load the demo issuer, its team and two investors (safe to run again)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the demo is served.")

    def handle(self, *args: object, **options: object) -> None:
        logins = demo_seed()
        url = options["url"]
        w = self.stdout.write
        w("")
        w(self.style.SUCCESS(f"Tessera demo: open {url}/ and sign in at {url}/accounts/login/"))
        w(f"Every demo account's password: {DEMO_PASSWORD}")
        for login in logins:
            w(f"  {login.email:<34} {login.role}{'  (two-factor)' if login.mfa else ''}")
        w(f"Two-factor accounts share the authenticator secret {DEMO_TOTP_SECRET};")
        w("add it to an authenticator app, or run `make otp` for the current code.")
        w(f"API docs: {url}/api/docs/   Health: {url}/health/")
        w("")
