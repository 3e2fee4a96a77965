import signal
import sys
import time
from types import FrameType

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections

from core.errors import ApplicationError
from demo.chain import DemoChainError, demo_chain, demo_coupon_advance, ready_lines
from demo.holders import demo_ballot_advance
from demo.seed import login_lines
from tokens.services import CHAIN_TRANSIENT_ERRORS


def _stop(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


class Command(BaseCommand):
    help = (
        "The demo's chain phase (`make demo` runs it next to the web, worker, beat and chain processes): wait "
        "for the chain and the registry, approve Alice, mint her test stablecoin, publish the fund, and print "
        "the logins. Safe to run again: it queues nothing then."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="Where the demo is served.")
        parser.add_argument("--timeout", type=float, default=240.0, help="Seconds to wait for each stage.")
        parser.add_argument(
            "--stay",
            action="store_true",
            help="Keep running once ready, until stopped (a process manager stops everything when one exits).",
        )

    def handle(self, *args: object, **options: object) -> None:
        url = str(options["url"]).rstrip("/")

        def say(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        try:
            result = demo_chain(timeout=float(options["timeout"]), say=say)  # type: ignore[arg-type]
        except DemoChainError as exc:
            raise CommandError(str(exc)) from exc
        say("")
        say(self.style.SUCCESS("=" * 30 + " Demo ready " + "=" * 30))
        for line in [*login_lines(url), "", *ready_lines(result, url)]:
            say(line)
        say(self.style.SUCCESS("=" * 72))
        say("Ctrl-C stops every process; `make demo` again keeps the data and the chain.")
        if options["stay"]:
            connections.close_all()
            signal.signal(signal.SIGTERM, _stop)
            signal.signal(signal.SIGINT, _stop)
            said: dict[str, str] = {}
            steps = {"Coupon": (demo_coupon_advance, "paid"), "Ballot": (demo_ballot_advance, "closed")}
            while any(said.get(name) != last for name, (_, last) in steps.items()):
                for name, (step, last) in steps.items():
                    if said.get(name) == last:
                        continue
                    try:
                        state = step()
                    except (*CHAIN_TRANSIENT_ERRORS, ApplicationError, DatabaseError) as exc:  # busy: next round
                        state = f"not this time ({exc.__class__.__name__})"
                    finally:
                        connections.close_all()
                    if state != said.get(name):
                        say(f"{name}: {state}")
                        said[name] = state
                time.sleep(5)
            while True:
                time.sleep(3600)
