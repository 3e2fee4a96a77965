"""An Open Cap Format package read back and set beside the issuer's register: which holders hold the same
units of which token, which differ, and who appears on one side only. Reads only: nothing is written.

Stakeholders are matched by the ids this portal exports (`holder-<reference>`, `wallet-<address>`) or by
an issuer-assigned id equal to a holder's reference; stock classes by the class id this portal exports or
by the token's name and symbol.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from core.models import Issuer
from offerings.models import Offering, OfferingStatus
from registry.exporters.ocf import OcfCapTable, stock_class_ids
from registry.models import HolderPosition

MATCH, DIFFERS, PACKAGE_ONLY, REGISTER_ONLY = "match", "differs", "package_only", "register_only"
STATE_LABELS = {
    MATCH: "Same units",
    DIFFERS: "Different units",
    PACKAGE_ONLY: "Only in the package",
    REGISTER_ONLY: "Only on the register",
}
# Rows listed on the page; the counts cover every holder.
ROWS_SHOWN = 500
_REFERENCE = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class ComparisonRow:
    holder: str  # the name the register (else the package) gives the holder
    holder_id: str
    token: str
    in_package: int
    on_register: int

    @property
    def state(self) -> str:
        if self.in_package == self.on_register:
            return MATCH
        if not self.on_register:
            return PACKAGE_ONLY
        if not self.in_package:
            return REGISTER_ONLY
        return DIFFERS

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def difference(self) -> int:
        return self.in_package - self.on_register


@dataclass
class OcfComparison:
    package_issuer: str
    as_of: object
    transactions: int
    rows: list[ComparisonRow]
    unknown_classes: list[str] = field(default_factory=list)  # stock classes that are no token of the issuer
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def agrees(self) -> bool:
        return not self.unknown_classes and all(r.state == MATCH for r in self.rows)

    @property
    def tallies(self) -> list[tuple[str, str, int]]:
        """(state, label, holdings in that state), in the order the page lists them."""
        return [(state, label, self.counts.get(state, 0)) for state, label in STATE_LABELS.items()]

    @property
    def shown(self) -> list[ComparisonRow]:
        """The rows that differ first (largest differences first), then the matching ones, at most ROWS_SHOWN."""
        order = {DIFFERS: 0, PACKAGE_ONLY: 1, REGISTER_ONLY: 2, MATCH: 3}
        ranked = sorted(self.rows, key=lambda r: (order[r.state], -abs(r.difference), r.token, r.holder))
        return ranked[:ROWS_SHOWN]


def _holder_key(table: OcfCapTable, stakeholder_id: str) -> str:
    """The register's id for a package stakeholder: ours as exported, or the holder whose reference it names."""
    if stakeholder_id.startswith(("holder-", "wallet-")):
        return stakeholder_id.lower()
    stakeholder = table.stakeholders.get(stakeholder_id)
    assigned = (getattr(stakeholder, "issuer_assigned_id", None) or "").replace("-", "").lower()
    return f"holder-{assigned}" if _REFERENCE.match(assigned) else f"package:{stakeholder_id}"


def ocf_comparison(*, issuer: Issuer, table: OcfCapTable) -> OcfComparison:
    """The package's holdings per holder and token beside the register's holdings now."""
    offerings = list(Offering.objects.filter(issuer=issuer).exclude(status=OfferingStatus.DRAFT).order_by("pk"))
    ours = stock_class_ids(offerings)
    by_class_id = {class_id: o for o in offerings if (class_id := ours[o.pk])}
    by_name = {f"{o.token_name} ({o.token_symbol})": o for o in offerings}
    token_of_class: dict[str, Offering | None] = {}
    for class_id, name in table.stock_classes.items():
        token_of_class[class_id] = by_class_id.get(class_id) or by_name.get(name)
    unknown = sorted(name for class_id, name in table.stock_classes.items() if token_of_class[class_id] is None)

    package: dict[tuple[str, str], int] = defaultdict(int)
    names: dict[str, str] = {}
    for (stakeholder_id, class_id), units in table.holdings_by_class().items():
        offering = token_of_class.get(class_id)
        token = offering.token_symbol if offering else table.stock_classes.get(class_id, class_id)
        key = _holder_key(table, stakeholder_id)
        package[key, token] += units
        stakeholder = table.stakeholders.get(stakeholder_id)
        if stakeholder is not None:
            names.setdefault(key, stakeholder.name.legal_name)

    register: dict[tuple[str, str], int] = defaultdict(int)
    symbols = {o.pk: o.token_symbol for o in offerings}
    positions = HolderPosition.objects.filter(offering__in=offerings).values_list(
        "offering_id", "investor__public_id", "investor__legal_name", "wallet", "quantity"
    )
    for offering_id, public_id, legal_name, wallet, quantity in positions.iterator(chunk_size=5000):
        key = f"holder-{public_id.hex}" if public_id is not None else f"wallet-{wallet.lower()}"
        register[key, symbols[offering_id]] += int(quantity)
        names[key] = legal_name or names.get(key) or f"Unregistered wallet {wallet}"

    rows = [
        ComparisonRow(
            holder=names.get(key, key),
            holder_id=key.removeprefix("package:"),
            token=token,
            in_package=package.get((key, token), 0),
            on_register=register.get((key, token), 0),
        )
        for key, token in sorted(set(package) | set(register))
    ]
    counts = dict.fromkeys(STATE_LABELS, 0)
    for row in rows:
        counts[row.state] += 1
    return OcfComparison(
        package_issuer=table.issuer_name,
        as_of=table.as_of,
        transactions=table.transactions,
        rows=rows,
        unknown_classes=unknown,
        counts=counts,
    )
