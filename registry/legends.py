"""The restrictive legends a holding carries, by the exemption its units were issued under.

Units sold under Regulation D or Regulation Crowdfunding are restricted securities and carry a
legend saying so (Rule 144(a)(3); Reg CF 227.501); Regulation S units carry the distribution
compliance legend (Rule 903(b)(3)(iii)(B)(3)); Reg A+ Tier 2 units are not restricted. Kept as data
so the master file and the Open Cap Format package name the same legend.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Legend:
    identifier: str
    name: str
    text: str


RESTRICTED = Legend(
    identifier="legend-restricted",
    name="Restricted securities (Securities Act of 1933)",
    text=(
        "These securities have not been registered under the Securities Act of 1933 and may not be sold, "
        "transferred or otherwise disposed of without registration or an exemption from registration."
    ),
)
CROWDFUNDING = Legend(
    identifier="legend-reg-cf",
    name="Regulation Crowdfunding transfer restriction (227.501)",
    text=(
        "These securities were issued under Regulation Crowdfunding and may not be transferred during the one-year "
        "period beginning when they were issued, except as permitted by 17 CFR 227.501."
    ),
)
REGULATION_S = Legend(
    identifier="legend-reg-s",
    name="Regulation S distribution compliance period",
    text=(
        "These securities have not been registered under the Securities Act of 1933 and may not be offered or sold "
        "in the United States or to U.S. persons during the distribution compliance period except under an "
        "exemption from registration."
    ),
)

BY_EXEMPTION: dict[str, Legend] = {
    "reg_d_506b": RESTRICTED,
    "reg_d_506c": RESTRICTED,
    "reg_cf": CROWDFUNDING,
    "reg_s": REGULATION_S,
}


def legend_for(exemption: str) -> Legend | None:
    """The legend units issued under `exemption` carry; None when they are not restricted."""
    return BY_EXEMPTION.get(exemption)
