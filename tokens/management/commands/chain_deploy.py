from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from tokens.chain.signer import signing_allowed
from tokens.models import ChainTransaction, ContractDeployment, TxStatus
from tokens.outbox import outbox_flush, outbox_watch
from tokens.reserve_feed import reserve_minter_of
from tokens.services import (
    BackingRule,
    TokenTerms,
    nav_feed_deploy,
    payout_allowance_ensure,
    payout_contract_deploy,
    registry_deploy,
    reserve_feed_deploy,
    reserve_minter_authorize,
    reserve_minter_deploy,
    token_deploy,
)

DAY = 86_400


class Command(BaseCommand):
    help = (
        "Deploy the portal's investor registry, a security token for an owner (e.g. offering:12), or the "
        "distribution payout contract (with --wait, the treasury then approves it), or a token's reserve feed and "
        "its reserve-guarded minter (with --wait, or run again once deployed, the minter becomes the token's "
        "only minter), or a NAV feed the attestor key publishes a fund's NAV per unit to (name it as the token's "
        "NAV oracle on its NAV page)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "what", choices=["registry", "token", "payout", "reserve-feed", "reserve-minter", "nav-feed"]
        )
        parser.add_argument("--owner", help="what the token belongs to, e.g. offering:12")
        parser.add_argument(
            "--decimals", type=int, help="feed: decimal places of a report (reserve feed 2, NAV feed 8 by default)"
        )
        parser.add_argument("--description", help="feed: what it reports, e.g. “HSCA reserves (USD)”")
        parser.add_argument(
            "--numerator", type=int, default=100, help="minter: feed base units each token base unit needs, over…"
        )
        parser.add_argument("--denominator", type=int, default=1, help="…this denominator (exact ratio)")
        parser.add_argument("--staleness-days", type=int, default=35, help="minter: how old a report may be")
        parser.add_argument("--name")
        parser.add_argument("--symbol")
        parser.add_argument("--countries", default="840", help="ISO 3166-1 numeric codes allowed, comma-separated")
        parser.add_argument("--wait", action="store_true", help="sign, send and wait for confirmation here")
        parser.add_argument("--timeout", type=float, default=120.0)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["what"] in ("reserve-feed", "reserve-minter", "nav-feed"):
            self._reserve(options)
            return
        try:
            if options["what"] == "registry":
                deployment = registry_deploy(actor=None)
            elif options["what"] == "payout":
                deployment = payout_contract_deploy(actor=None)
            else:
                if not (options["owner"] and options["name"] and options["symbol"]):
                    raise CommandError("A token needs --owner, --name and --symbol.")
                countries = [int(c) for c in options["countries"].split(",") if c.strip()]
                terms = TokenTerms(name=options["name"], symbol=options["symbol"], allowed_countries=countries)
                deployment = token_deploy(owner_ref=options["owner"], terms=terms, actor=None)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Queued: {deployment}")
        if options["wait"]:
            with signing_allowed():  # --wait makes this command the worker that signs
                self._wait(deployment, options["timeout"])
                if options["what"] == "payout":
                    self._approve(options["timeout"])

    def _reserve(self, options: dict[str, Any]) -> None:
        owner = options["owner"]
        if not owner:
            raise CommandError("A feed or minter needs --owner (the token's owner, e.g. offering:12).")
        try:
            if options["what"] in ("reserve-feed", "nav-feed"):
                if options["what"] == "reserve-feed":
                    deployment = reserve_feed_deploy(
                        owner_ref=owner,
                        decimals=2 if options["decimals"] is None else options["decimals"],
                        description=options["description"] or f"Reserves of {owner}",
                    )
                else:
                    deployment = nav_feed_deploy(
                        owner_ref=owner,
                        decimals=8 if options["decimals"] is None else options["decimals"],
                        description=options["description"] or f"NAV per unit of {owner}",
                    )
                self.stdout.write(f"Queued: {deployment}")
                if options["wait"]:
                    with signing_allowed():
                        self._wait(deployment, options["timeout"])
                return
            minter = reserve_minter_of(owner)
            if minter is None:
                rule = BackingRule(
                    numerator=options["numerator"],
                    denominator=options["denominator"],
                    staleness_seconds=options["staleness_days"] * DAY,
                )
                minter = reserve_minter_deploy(owner_ref=owner, rule=rule)
                self.stdout.write(f"Queued: {minter}")
                if not options["wait"]:
                    self.stdout.write("Run this again once it is deployed to make it the token's only minter.")
                    return
                with signing_allowed():
                    self._wait(minter, options["timeout"])
            minter.refresh_from_db()
            authorization = reserve_minter_authorize(owner_ref=owner)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        for tx in authorization:
            self.stdout.write(f"Queued: {tx.purpose}")
        if options["wait"]:
            with signing_allowed():
                for tx in authorization:
                    self._wait_for(tx, options["timeout"])
            self.stdout.write(self.style.SUCCESS(f"The minter {minter.address} mints {owner} from now on."))

    def _approve(self, timeout: float) -> None:
        try:
            approval = payout_allowance_ensure(actor=None)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if approval is None:
            self.stdout.write("The treasury has approved the payout contract already.")
            return
        self._wait_for(approval, timeout)
        self.stdout.write(self.style.SUCCESS(f"The treasury approved the payout contract (tx {approval.tx_hash})"))

    def _wait(self, deployment: ContractDeployment, timeout: float) -> None:
        tx = self._wait_for(ChainTransaction.objects.get(deployment=deployment), timeout)
        deployment.refresh_from_db()
        self.stdout.write(self.style.SUCCESS(f"Deployed at {deployment.address} (tx {tx.tx_hash})"))

    def _wait_for(self, tx: ChainTransaction, timeout: float) -> ChainTransaction:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for sender in set(
                ChainTransaction.objects.filter(status=TxStatus.PENDING).values_list("sender", flat=True)
            ):
                outbox_flush(chain_id=settings.CHAIN_ID, sender=sender)
            outbox_watch(chain_id=settings.CHAIN_ID)
            tx.refresh_from_db()
            if tx.status == TxStatus.CONFIRMED:
                return tx
            if tx.status == TxStatus.FAILED:
                raise CommandError(f"{tx.purpose} failed: {tx.error_name or tx.last_error}")
            time.sleep(0.5)
        raise CommandError(f"Timed out waiting for “{tx.purpose}” to confirm; the workers will finish it.")
