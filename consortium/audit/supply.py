"""``points supply`` on a database: the books, then the balances replayed from the ledger.

The books check (:func:`consortium.points.store.check_books`) compares the stored tables with
each other; a SQL ``UPDATE`` that moves points between two accounts in both the balances and
the journal keeps them consistent. The replay rebuilds every journal line and balance from
the signed points entries (:func:`consortium.audit.state.check_balances`) and the minted and
burned totals (:func:`consortium.points.replay.replay_balances`), so such an edit is named at
the entry and account where the stored state leaves the ledger.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from consortium.audit.state import check_balances
from consortium.errors import ConsortiumError, StateDrift
from consortium.ledger.entry import Entry
from consortium.ledger.kinds import POINTS_KINDS
from consortium.ledger.models import EntryRow
from consortium.points.books import Supply, check_books
from consortium.points.replay import replay_balances

__all__ = ["audited_supply"]

logger = logging.getLogger(__name__)


def _points_entries(session: Session) -> list[Entry]:
    """Load the points entries of the stored ledger, in order (the replay skips other kinds)."""
    t = EntryRow.__table__.c
    rows = session.execute(
        select(t.seq, t.time, t.kind, t.payload, t.actor, t.signature)
        .where(t.kind.in_(sorted(POINTS_KINDS)))
        .order_by(t.seq)
    )
    return [Entry(q, tm, k, p.encode("utf-8"), a, bytes(sig)) for q, tm, k, p, a, sig in rows]


def audited_supply(session: Session) -> Supply:
    """Return the points supply after checking the books and replaying the ledger.

    Parameters
    ----------
    session
        A session on the coordinator's database.

    Raises
    ------
    PointsError
        ``books-unbalanced`` when the stored tables disagree with each other.
    StateDrift
        At the first points entry whose stored journal lines differ from the entry, or at the
        last entry that moved an account whose stored balance differs from the replay (the
        account is named), or when minted or burned totals differ from the entries.

    Examples
    --------
    >>> from consortium.db import create_schema, make_engine, make_session_factory
    >>> from consortium.identity.registry import bootstrap_coordinator
    >>> from consortium.ledger.signing import Signer
    >>> from consortium.points.store import mint
    >>> engine = make_engine("sqlite://"); create_schema(engine)
    >>> coordinator = Signer.generate()
    >>> with make_session_factory(engine).begin() as s:
    ...     _ = bootstrap_coordinator(s, coordinator=coordinator)
    ...     _ = mint(s, account="member:alpha-line", amount=5, reason="contribution",
    ...              refs={"model": "eta", "round": 1}, signer=coordinator)
    ...     audited_supply(s)
    Supply(minted=5, burned=0, circulating=5)
    """
    totals = check_books(session)
    entries = _points_entries(session)
    check_balances(session, entries)
    try:
        replay = replay_balances(entries)
    except ConsortiumError as exc:  # an overdraft or malformed payload check_balances let by
        raise StateDrift(None, what="points entries", stored="-", replayed=str(exc)) from exc
    if (replay.minted, replay.burned) != (totals.minted, totals.burned):
        raise StateDrift(
            entries[-1].seq if entries else None, what="minted and burned totals",
            stored=f"{totals.minted} minted, {totals.burned} burned",
            replayed=f"{replay.minted} minted, {replay.burned} burned",
        )  # fmt: skip
    logger.info("supply matches the replay of %d points entries", len(entries))
    return totals
