from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tokens.chain.client import NodeUnavailable
from tokens.resync import ResyncReport, chain_resync_apply, chain_resync_check


class Command(BaseCommand):
    help = (
        "Check the node against what the database recorded (chain id, genesis block, code at the deployed "
        "contracts). After a chain reset, --apply drops the indexed events and sends every recorded transaction "
        "again in the order it was mined, so the same contracts come back at the same addresses with the same "
        "effects; the watcher confirms them and the indexer reads them again."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--apply", action="store_true", help="resynchronise (without it, only report)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = chain_resync_apply() if options["apply"] else chain_resync_check()
        except NodeUnavailable as exc:
            raise CommandError(f"The node cannot be reached ({exc}); nothing was changed.") from exc
        self._print(report)
        if report.verdict == "wrong_chain":
            raise CommandError("Wrong chain: nothing was changed.")
        if report.verdict == "reset" and not report.replayable:
            raise CommandError("The chain was reset but its history cannot be sent again: nothing was changed.")
        if report.verdict == "reset" and not options["apply"]:
            self.stdout.write("Run again with --apply to resynchronise.")

    def _print(self, report: ResyncReport) -> None:
        out = self.stdout.write
        out(f"Node {report.rpc_url}: chain id {report.node_chain_id} (the portal's: {report.chain_id})")
        out(f"Genesis block: {report.genesis_node or 'unknown'} (recorded: {report.genesis_recorded or 'none yet'})")
        for contract in report.contracts:
            out(f"  {contract.label} at {contract.address}: {'code present' if contract.has_code else 'NO CODE'}")
        for sender in report.senders:
            line = (
                f"  sender {sender.address}: recorded nonces {sender.first_nonce}–{sender.last_nonce}, "
                f"node at nonce {sender.node_nonce}, balance {sender.balance} wei"
            )
            out(line + (f" — {sender.problem}" if sender.problem else ""))
        verdict = {
            "in_sync": "In sync: the node holds the chain the database describes. Nothing to do.",
            "reset": "The chain was reset under this database:",
            "wrong_chain": "Wrong chain:",
        }[report.verdict]
        out(verdict)
        for reason in [*report.reasons, *report.problems]:
            out(f"  - {reason}")
        if report.applied:
            out(
                f"Resynchronised: {report.events_dropped} indexed events dropped (read again from the new chain), "
                f"{report.resent} transactions sent again in their original order; the watcher confirms them."
            )
            for error in report.send_errors:
                out(f"  ! {error}")
