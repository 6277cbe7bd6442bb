"""Serve proofs, update a member's witness, verify and export the stored ledger."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from consortium.errors import LedgerError
from consortium.ledger.checkpoint import Checkpoint
from consortium.ledger.export import write_export
from consortium.ledger.store import (
    latest_checkpoint,
    load_checkpoints,
    load_entries,
    load_leaf_hashes,
    load_tree,
    public_keys,
)
from consortium.ledger.verify import LogReport, verify_log
from consortium.ledger.witness import Witness

logger = logging.getLogger(__name__)


def inclusion_proof(session: Session, *, index: int, size: int) -> list[bytes]:
    """Audit path of entry ``index`` in the tree of the first ``size`` entries."""
    return load_tree(session, size=size).inclusion_proof(index)


def consistency_proof(session: Session, *, old_size: int, new_size: int) -> list[bytes]:
    """Proof that the first ``new_size`` entries extend the first ``old_size``."""
    return load_tree(session, size=new_size).consistency_proof(old_size)


def sync_witness(session: Session, witness: Witness) -> Checkpoint:
    """Connect as a member: fetch the latest head and a proof, check them, keep the head.

    Raises
    ------
    LedgerError
        If no tree head was published yet.
    ChainBroken
        If the served head is not consistent with what this member witnessed before.
    """
    latest = latest_checkpoint(session)
    if latest is None:
        raise LedgerError("no tree head has been published yet")
    last = witness.latest()
    proof: list[bytes] = []
    if last is not None and 0 < last.size < latest.size:
        proof = consistency_proof(session, old_size=last.size, new_size=latest.size)
    witness.observe(latest, proof)
    return latest


def verify_database(
    session: Session,
    *,
    witnessed: Sequence[Checkpoint] = (),
    workers: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
) -> LogReport:
    """Verify every stored entry, signature, hash and tree head (and stored leaf hashes)."""
    return verify_log(
        load_entries(session),
        heads=load_checkpoints(session),
        witnessed=witnessed,
        keys=public_keys(session),
        stored_leaves=load_leaf_hashes(session),
        workers=workers,
        on_progress=on_progress,
    )


def export_ledger(session: Session, path: Path) -> int:
    """Write a self-contained export of the stored ledger; return the number of entries."""
    count = write_export(
        path,
        entries=load_entries(session),
        keys=public_keys(session),
        heads=load_checkpoints(session),
    )
    logger.info("exported %d entries to %s", count, path)
    return count
