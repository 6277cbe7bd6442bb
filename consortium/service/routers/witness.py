"""What a witnessing member asks besides heads and proofs: its own entries, proven.

``GET /v1/witness/entries?key_id&start&size``: the entries ``key_id`` signed or authorised by a
countersigned request in ``start <= seq < size``, each with its audit path in the tree of
``size`` entries (:class:`~consortium.ledger.witness_sources.StoreHeadSource` over the
process's :class:`~consortium.ledger.witness_sources.TreeCache`: O(log n) per proof once built),
a page at a time. The member checks them itself
(:func:`consortium.ledger.witness_check.witness_once`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from consortium.errors import OperationRefused
from consortium.ledger.store import ledger_size
from consortium.ledger.witness_sources import StoreHeadSource, tree_cache_for
from consortium.service.deps import State
from consortium.service.receipts import entry_model
from consortium.wire.envelope import API_PREFIX
from consortium.wire.onboarding import OwnEntriesOut, ProvenEntryModel

router = APIRouter(prefix=f"{API_PREFIX}/witness", tags=["witness"])

PAGE = 500
"""The most entries one call returns."""
KEY_ID = r"^[0-9a-f]{64}$"


class WitnessRefused(OperationRefused):
    """A size or range outside the ledger (``bad-range``)."""


@router.get("/entries", response_model=OwnEntriesOut)
def own_entries(
    state: State,
    key_id: Annotated[str, Query(pattern=KEY_ID)],
    start: Annotated[int, Query(ge=0)],
    size: Annotated[int, Query(ge=1)],
) -> OwnEntriesOut:
    """Return a page of the entries ``key_id`` authorised, proven in the tree of ``size``."""
    with state.transaction() as session:
        if size > ledger_size(session) or start > size:
            raise WitnessRefused("size", code="bad-range", reason="outside the ledger")
        source = StoreHeadSource(session, cache=tree_cache_for(session))
        proven = list(source.entries_of(key_id=key_id, start=start, size=size, limit=PAGE + 1))
    more = len(proven) > PAGE
    page = proven[:PAGE]
    return OwnEntriesOut(
        entries=[
            ProvenEntryModel(entry=entry_model(p.entry.to_json()), proof=[h.hex() for h in p.proof])
            for p in page
        ],
        next_start=page[-1].entry.seq + 1 if more else None,
    )
