"""Settlement of a paid query: the owner's fee debited and split, in one ``query-settled`` entry.

The coordinator's query service (:mod:`consortium.forecasts.service`) computes the parts with
:func:`consortium.points.revenue.split_revenue` and calls :func:`settle`, which moves the points
through :func:`consortium.points.posting.post` and never commits.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from consortium.errors import PointsError
from consortium.identity.registry import require_role
from consortium.ledger.entry import Entry
from consortium.ledger.keyring import Role
from consortium.ledger.kinds import EntryKind
from consortium.ledger.signing import Signer
from consortium.points.accounts import account_kind, check_amount
from consortium.points.payments import require_cargo_owner
from consortium.points.posting import post

__all__ = ["settle"]

logger = logging.getLogger(__name__)


def settle(
    session: Session,
    *,
    payer: str,
    parts: Mapping[str, int],
    refs: Mapping[str, object],
    signer: Signer,
    moment: datetime | None = None,
) -> Entry:
    """Debit ``payer`` the sum of ``parts`` and credit each part, in one ``query-settled`` entry.

    The paid-query path: the caller computes ``parts`` with
    :func:`~consortium.points.revenue.split_revenue` and passes what anyone needs to recompute
    them in ``refs`` (query id, model, round, fee kind, treasury share).

    Parameters
    ----------
    payer
        The paying account: ``cargo:<key id>`` of an active cargo-owner key (only cargo owners
        pay; the coordinator cannot move points between members this way). It must hold the
        total.
    parts
        Positive points per receiving account; the payer may be one of them.
    refs
        Ids, ints and short tokens only (ledger payload policy).
    signer
        A coordinator key (the query service).
    moment
        Entry time (tz-aware); default now.

    Returns
    -------
    Entry
        ``query-settled`` ``{payer, amount, parts: [{account, amount}, ...], refs}``.

    Raises
    ------
    InsufficientPoints
        If the payer holds less than the total; nothing is written.
    PointsError
        ``not-allowed``, ``not-a-cargo-account`` (a member or the treasury as payer),
        ``unknown-cargo-owner``, ``bad-account``, ``bad-amount`` or ``no-parts``; nothing is
        written.

    Examples
    --------
    >>> # parts = split_revenue(10, weights=contributions(s, model="eta", up_to_round=3),
    >>> #                       treasury_share_bps=policy.treasury_share_bps)
    >>> # settle(s, payer=cargo, parts=parts, refs={"query": qid, "model": "eta", "round": 3},
    >>> #        signer=coordinator)
    """
    if account_kind(payer) != "cargo":
        raise PointsError(
            payer, code="not-a-cargo-account",
            reason="only a cargo owner's account (cargo:<key id>) pays for a query",
        )  # fmt: skip
    if not parts:
        raise PointsError(payer, code="no-parts", reason="a settlement credits at least one part")
    for account, amount in parts.items():
        account_kind(account)
        check_amount(amount, subject=account)
    total = check_amount(sum(parts.values()), subject=payer)
    require_role(session, signer.key_id, Role.COORDINATOR, action="settle queries",
                 error=PointsError)  # fmt: skip
    require_cargo_owner(session, payer)
    ordered = sorted(parts.items())
    entry = post(
        session,
        kind=EntryKind.QUERY_SETTLED,
        payload={
            "payer": payer,
            "amount": total,
            "parts": [{"account": a, "amount": n} for a, n in ordered],
            "refs": dict(refs),
        },
        signer=signer,
        lines=[(payer, -total), *ordered],
        moment=moment,
    )
    logger.debug("settled %d points from %s to %d parts (entry %d)", total, payer, len(parts),
                 entry.seq)  # fmt: skip
    return entry
