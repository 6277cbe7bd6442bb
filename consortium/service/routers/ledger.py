"""Ledger reads: the coordinator key, the newest signed head, entries by range, proofs, kinds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from consortium.errors import OperationRefused
from consortium.ledger.store import latest_checkpoint, ledger_size, load_entries
from consortium.queries.ledger import entry_kinds
from consortium.service.deps import State
from consortium.service.receipts import entry_model
from consortium.wire.envelope import API_PREFIX
from consortium.wire.ledger import (
    ConsistencyProofOut,
    CoordinatorOut,
    EntriesOut,
    HeadOut,
    InclusionProofOut,
    KindCount,
    KindsOut,
)

router = APIRouter(prefix=f"{API_PREFIX}/ledger", tags=["ledger"])

MAX_ENTRIES = 1000
"""The most entries one call returns."""


class RangeRefused(OperationRefused):
    """A range or size outside the ledger (``bad-range``)."""


def _check_size(size: int, ledger: int, name: str) -> None:
    if not 0 <= size <= ledger:
        raise RangeRefused(name, code="bad-range", reason=f"must be 0..{ledger}")


@router.get("/coordinator", response_model=CoordinatorOut)
def coordinator(state: State) -> CoordinatorOut:
    """Return the coordinator's public key (members pin its key id)."""
    key = state.coordinator
    return CoordinatorOut(key_id=key.key_id, public_key=key.public_key.hex())


@router.get("/head", response_model=HeadOut)
def head(state: State) -> HeadOut:
    """Return the newest signed tree head."""
    with state.transaction() as session:
        checkpoint = latest_checkpoint(session)
    if checkpoint is None:
        raise RangeRefused("head", code="unknown-head", reason="no tree head published yet")
    return HeadOut(checkpoint=checkpoint.to_text())


@router.get("/entries", response_model=EntriesOut)
def entries(
    state: State, start: Annotated[int, Query(ge=0)] = 0, stop: int | None = None
) -> EntriesOut:
    """Return entries ``start <= seq < stop`` (at most :data:`MAX_ENTRIES`)."""
    stop = start + MAX_ENTRIES if stop is None else min(stop, start + MAX_ENTRIES)
    with state.transaction() as session:
        rows = load_entries(session, start=start, stop=stop)
    return EntriesOut(entries=[entry_model(e.to_json()) for e in rows])


@router.get("/proofs/inclusion", response_model=InclusionProofOut)
def inclusion(
    state: State, index: Annotated[int, Query(ge=0)], size: Annotated[int, Query(ge=1)]
) -> InclusionProofOut:
    """Return the audit path of entry ``index`` in the tree of the first ``size`` entries."""
    with state.transaction() as session:
        tree, ledger = state.trees.tree(session)
        _check_size(size, ledger, "size")
        if index >= size:
            raise RangeRefused("index", code="bad-range", reason=f"must be below size {size}")
        proof = tree.inclusion_proof(index, size)
    return InclusionProofOut(index=index, size=size, proof=[h.hex() for h in proof])


@router.get("/proofs/consistency", response_model=ConsistencyProofOut)
def consistency(
    state: State, old_size: Annotated[int, Query(ge=1)], new_size: Annotated[int, Query(ge=1)]
) -> ConsistencyProofOut:
    """Return the proof that the first ``new_size`` entries extend the first ``old_size``."""
    with state.transaction() as session:
        tree, ledger = state.trees.tree(session)
        _check_size(new_size, ledger, "new_size")
        _check_size(old_size, new_size, "old_size")
        proof = tree.consistency_proof(old_size, new_size)
    return ConsistencyProofOut(
        old_size=old_size, new_size=new_size, proof=[h.hex() for h in proof]
    )


@router.get("/kinds", response_model=KindsOut)
def kinds(state: State) -> KindsOut:
    """Return the ledger's size and its entries per kind, most first (the overview's counts)."""
    with state.transaction() as session:
        size, frame = ledger_size(session), entry_kinds(session)
    counts = [KindCount(kind=str(k), entries=int(n))
              for k, n in zip(frame["kind"], frame["entries"], strict=True)]  # fmt: skip
    return KindsOut(size=size, kinds=counts)
