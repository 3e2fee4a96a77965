"""Load OFAC's SDN list (SDN.CSV, ALT.CSV, ADD.CSV) from a directory or URL and re-screen everyone."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from compliance.services.sanctions import sanctions_files_fetch, sanctions_list_load, sanctions_rescreen_all
from core.errors import ApplicationError


class Command(BaseCommand):
    help = "Load the OFAC SDN list in its CSV form; when it changed, re-screen every investor and owner."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--source",
            default="",
            help="A directory or base URL holding SDN.CSV, ALT.CSV and ADD.CSV (default: SANCTIONS_LIST_URL).",
        )
        parser.add_argument(
            "--background", action="store_true", help="Leave the re-screening to a worker instead of doing it here."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        source = options["source"] or settings.SANCTIONS_LIST_URL
        if not source:
            raise CommandError("Give --source or set SANCTIONS_LIST_URL.")
        try:
            files = sanctions_files_fetch(source=source)
            sanctions_list, changed = sanctions_list_load(
                files=files, source=source, actor=None, rescreen_after_commit=options["background"]
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if not changed:
            self.stdout.write(f"The list is unchanged ({sanctions_list.entries} entries); nothing to do.")
            return
        self.stdout.write(
            f"Loaded {sanctions_list.entries} entries, {sanctions_list.aliases} aliases and "
            f"{sanctions_list.addresses} addresses from {source}."
        )
        if options["background"]:
            self.stdout.write("Re-screening was handed to a worker.")
            return
        summary = sanctions_rescreen_all()
        self.stdout.write(
            f"Re-screened {summary.subjects} names: {summary.matches} matches, {summary.new_hits} new hits, "
            f"{summary.investors_held} investors held for review."
        )
