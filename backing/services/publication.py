"""The one place an approved reserve statement leaves for the chain's reserve feed.

Called inside the approving transaction; what it sends goes after commit (through the outbox). Until
the token has a reserve feed contract (tokens' reserve feed, the on-chain half of proof of reserve)
there is nothing to publish to, and the statement counts only in the Python mint guard.
"""

from __future__ import annotations

import logging

from backing.models import ReserveStatement

log = logging.getLogger(__name__)


def reserve_statement_published(*, statement: ReserveStatement) -> None:
    """Hook point: publish the approved statement's total to the token's reserve feed, when it has one."""
    log.info(
        "reserve statement %s of offering %s approved; no on-chain reserve feed to publish it to",
        statement.pk,
        statement.offering_id,
    )
