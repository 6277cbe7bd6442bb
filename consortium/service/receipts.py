"""Receipts: every write returns its entry, a signed tree head and the inclusion proof."""

from __future__ import annotations

from sqlalchemy.orm import Session

from consortium.ledger.entry import Entry
from consortium.ledger.store import load_entries, publish_with_proof
from consortium.service.state import ServiceState
from consortium.wire.envelope import EntryModel, Receipt


def entry_model(entry_json: dict[str, object]) -> EntryModel:
    """Wire form of :meth:`consortium.ledger.entry.Entry.to_json`."""
    return EntryModel.model_validate(entry_json)


def receipt(
    session: Session,
    state: ServiceState,
    seq: int,
    *,
    known_size: int | None = None,
    entry: Entry | None = None,
) -> Receipt:
    """Publish a tree head over the ledger (in the write's transaction) and prove ``seq`` in it.

    With ``known_size`` (the head the client holds), the receipt also proves the new head
    consistent with it, so the client needs no second call. ``entry``: entry ``seq`` as the
    write appended it (default: read back from the store).
    """
    tree, size = state.trees.tree(session)
    head, proof = publish_with_proof(
        session, signer=state.coordinator, index=seq, moment=state.clock.now(), tree=tree,
        size=size,
    )  # fmt: skip
    if entry is None or entry.seq != seq:
        entry = load_entries(session, start=seq, stop=seq + 1)[0]
    known, consistency = 0, []
    if known_size is not None and 0 < known_size < head.size:
        known = known_size
        consistency = tree.consistency_proof(known_size, head.size)
    return Receipt(
        entry=entry_model(entry.to_json()), head=head.to_text(), proof=[h.hex() for h in proof],
        known_size=known, consistency=[h.hex() for h in consistency],
    )  # fmt: skip
