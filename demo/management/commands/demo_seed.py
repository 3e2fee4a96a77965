from django.core.management.base import BaseCommand

from demo.seed import demo_seed, login_lines


class Command(BaseCommand):
    help = (
        "Load the demo (no chain needed): the issuer and its team, the OFAC fixture list, two investors' "
        "onboarding, and the offerings with their documents. Safe to run again: it changes nothing then."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the demo is served.")

    def handle(self, *args: object, **options: object) -> None:
        seed = demo_seed(site=str(options["url"]).rstrip("/"))
        w = self.stdout.write
        w("")
        if seed.done:
            w(self.style.SUCCESS("Tessera demo data loaded:"))
            for line in seed.done:
                w(f"  {line}")
        else:
            w(self.style.SUCCESS("Tessera demo data is in place; nothing to change."))
        for line in login_lines(str(options["url"])):
            w(line)
        w("")
