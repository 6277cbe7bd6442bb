"""Tallies recomputed from the ``vote-cast`` entries of the ledger, never from a stored column.

The ``for_power``/``against_power``/``abstain_power`` columns of a proposal are a cache kept
for listing. Anything that decides (queueing, execution, ``ledger verify``) recomputes the tally
from the signed vote entries: :func:`tallies_from_entries` over any sequence of entries (pure,
used on exports), :func:`ledger_tally` for one proposal in the store, and
:func:`require_ledger_tally` refuses when the stored cache disagrees with the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from consortium.errors import GovernanceError
from consortium.governance.models import ProposalRow
from consortium.governance.rules import Support, Tally
from consortium.ledger.entry import Entry
from consortium.ledger.kinds import EntryKind
from consortium.ledger.models import EntryRow
from consortium.ledger.store import load_entries

__all__ = ["LedgerTally", "ledger_tally", "require_ledger_tally", "tallies_from_entries"]


@dataclass(frozen=True)
class LedgerTally:
    """A proposal's tally as its vote entries give it, and the last vote entry (if any)."""

    tally: Tally
    last_seq: int | None


def tallies_from_entries(entries: Iterable[Entry]) -> dict[str, LedgerTally]:
    """Sum the ``vote-cast`` entries per proposal id (other kinds are skipped).

    Raises
    ------
    GovernanceError
        ``malformed-vote`` if a vote entry lacks a proposal id, a valid support or a power.

    Examples
    --------
    >>> tallies_from_entries([])
    {}
    """
    out: dict[str, LedgerTally] = {}
    for entry in entries:
        if entry.kind != EntryKind.VOTE_CAST:
            continue
        payload = entry.payload_object()
        proposal_id, support, power = (
            payload.get("proposal_id"), payload.get("support"), payload.get("power")
        )  # fmt: skip
        if not isinstance(proposal_id, str) or not isinstance(power, int) or power <= 0:
            raise GovernanceError(
                f"entry {entry.seq}", code="malformed-vote",
                reason="a vote names its proposal and a positive power",
            )  # fmt: skip
        try:
            choice = Support(str(support))
        except ValueError as exc:
            raise GovernanceError(f"entry {entry.seq}", code="malformed-vote",
                                  reason=f"unknown support {support!r}") from exc  # fmt: skip
        before = out.get(proposal_id, LedgerTally(Tally(), None))
        out[proposal_id] = LedgerTally(before.tally.add(choice, power), entry.seq)
    return out


def ledger_tally(session: Session, proposal_id: str) -> LedgerTally:
    """Recompute one proposal's tally from the vote entries in the store's ledger."""
    needle = f'"proposal_id":"{proposal_id}"'
    seqs = session.execute(
        select(EntryRow.seq)
        .where(EntryRow.kind == str(EntryKind.VOTE_CAST), EntryRow.payload.contains(needle))
        .order_by(EntryRow.seq)
    ).scalars()
    entries = [e for seq in seqs for e in load_entries(session, start=seq, stop=seq + 1)]
    return tallies_from_entries(entries).get(proposal_id, LedgerTally(Tally(), None))


def require_ledger_tally(session: Session, row: ProposalRow) -> Tally:
    """Return the ledger's tally of ``row``; refuse if the stored tally columns disagree.

    Raises
    ------
    GovernanceError
        ``tally-drift`` if the stored tally is not the sum of the proposal's vote entries (an
        off-ledger write); nothing may be decided on it.
    """
    replayed = ledger_tally(session, row.proposal_id).tally
    stored = Tally(int(row.for_power), int(row.against_power), int(row.abstain_power))
    if stored != replayed:
        raise GovernanceError(
            f"proposal {row.proposal_id}", code="tally-drift",
            reason=f"stored tally {stored} is not the ledger's {replayed}",
        )  # fmt: skip
    return replayed
