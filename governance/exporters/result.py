"""One closed ballot's result: a line per option (units, share, holders), the turnout against quorum, then
each holder's vote with their voting power at the record date and how they voted (in the portal, or signed
by which wallet)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from core.csv import Cell
from governance.models import Ballot, BallotOption, BallotState, Vote, VotingPower
from governance.templatetags.governance_tags import percent_bps
from registry.exporters.base import EXTENSIONS, Column, Exporter, ExportError, ExportParams, chunked, moment_text
from registry.selectors.holders import holder_details

if TYPE_CHECKING:
    from offerings.models import Offering


def ballot_of(offering: Offering, params: ExportParams) -> Ballot:
    """The ballot the export is about, only among the offering's own (another's is as absent as none)."""
    found = Ballot.objects.filter(offering=offering, public_id=params.ballot).first() if params.ballot else None
    if found is None:
        raise ExportError("This token has no such ballot.", code="ballot_unknown")
    return found


class BallotResultExporter(Exporter):
    identifier = "ballot_result"
    verbose_name = "Ballot result"
    description = (
        "One closed ballot: per option the units and holders that chose it, the turnout against quorum, and each "
        "holder's vote with their voting power at the record date."
    )
    holder_data = True
    takes = frozenset({"ballot"})
    columns = (
        Column("line", "Line", 0.4),
        Column("kind", "Line kind", 0.6),
        Column("holder_id", "Holder id", 0),
        Column("name", "Holder or option", 1.6),
        Column("option", "Option chosen", 1.0),
        Column("power", "Units", 0.7),
        Column("holders", "Holders", 0.5),
        Column("share", "Share of units voted", 0.6),
        Column("channel", "How", 0.8),
        Column("signer", "Signed by wallet", 0),
        Column("cast_at", "Cast (UTC)", 0.9),
    )

    def request_check(self, offering: Offering, params: ExportParams) -> None:
        if ballot_of(offering, params).state != BallotState.CLOSED:
            raise ExportError("The result is exported once the ballot is closed and counted.", code="ballot_open")

    def filename(self, offering: Offering, params: ExportParams, fmt: str) -> str:
        ballot = ballot_of(offering, params)
        symbol = "".join(ch for ch in offering.token_symbol if ch.isalnum()) or "token"
        return f"{symbol}-ballot-{ballot.public_id.hex[:8]}-{ballot.closes_at.date().isoformat()}.{EXTENSIONS[fmt]}"

    def row_count(self, offering: Offering, params: ExportParams) -> int:
        ballot = ballot_of(offering, params)
        return (
            BallotOption.objects.filter(ballot=ballot).count() + 1 + VotingPower.objects.filter(ballot=ballot).count()
        )

    def rows(self, offering: Offering, params: ExportParams) -> Iterator[Sequence[Cell]]:
        ballot = ballot_of(offering, params)
        line = 0
        for option in BallotOption.objects.filter(ballot=ballot).order_by("position"):
            line += 1
            share = option.power * 10_000 // ballot.power_voted if ballot.power_voted else 0
            yield (line, "option", "", option.label, "", option.power, option.holders, percent_bps(share), "", "", "")
        line += 1
        quorum = "met" if ballot.quorum_met else "not met"
        yield (
            line,
            "turnout",
            "",
            f"Voted, of {ballot.total_power} units and {ballot.holders} holders; quorum "
            f"{percent_bps(ballot.quorum_bps)} {quorum}",
            "",
            ballot.power_voted,
            ballot.holders_voted,
            percent_bps(ballot.power_voted * 10_000 // ballot.total_power if ballot.total_power else 0),
            "",
            "",
            moment_text(ballot.closed_at),
        )
        votes = {
            v.investor_id: v
            for v in Vote.objects.filter(ballot=ballot).select_related("option").order_by("investor_id")
        }
        powers = VotingPower.objects.filter(ballot=ballot).order_by("investor_id").values_list("investor_id", "power")
        for chunk in chunked(powers.iterator(chunk_size=self.chunk_size), self.chunk_size):
            holders = holder_details(investor_ids={i for i, _ in chunk})
            for investor_id, power in chunk:
                line += 1
                holder = holders.get(investor_id)
                vote = votes.get(investor_id)
                yield (
                    line,
                    "holder",
                    holder.reference if holder else "",
                    holder.legal_name if holder else "",
                    vote.option.label if vote else "did not vote",
                    power,
                    1,
                    "",
                    vote.get_channel_display() if vote else "",
                    vote.signer_wallet if vote else "",
                    moment_text(vote.cast_at) if vote else "",
                )
