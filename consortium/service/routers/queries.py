"""Paid forecast queries, the lane catalogue and the pooled models' cards.

A query is the ``query.v1`` message the cargo owner signed on its machine
(:mod:`consortium.forecasts.messages`); the coordinator checks, prices, answers, charges and
records it in one transaction (:func:`consortium.forecasts.service.answer_query`), so a refused
query charges nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from fastapi import APIRouter

from consortium.errors import QueryRejected
from consortium.points.store import balance
from consortium.queries.lanes import lane_catalogue
from consortium.queries.model_card import read_model_card
from consortium.service.deps import KnownSize, State
from consortium.service.receipts import receipt
from consortium.wire.envelope import API_PREFIX
from consortium.wire.points import LanesOut, ModelCardOut, PaidAnswerOut, QueryIn

router = APIRouter(prefix=API_PREFIX, tags=["queries"])


def _not_offered(what: str) -> QueryRejected:
    return QueryRejected(what, code="not-offered", reason="this coordinator does not offer it")


@router.post("/queries", response_model=PaidAnswerOut)
def paid_query(state: State, data: QueryIn, known_size: KnownSize = None) -> PaidAnswerOut:
    """Answer a signed, paid query; the fee is charged and split, the answer recorded."""
    from consortium.forecasts.service import answer_query  # noqa: PLC0415  (imports torch)

    if state.queries is None:
        raise _not_offered("queries")
    try:
        signature = bytes.fromhex(data.signature)
    except ValueError as exc:
        raise QueryRejected("query", code="malformed", reason="signature is not hex") from exc
    with state.transaction() as session:
        paid = answer_query(session, query=data.query, signature=signature,
                            service=state.queries, now=state.clock.now())  # fmt: skip
        written = receipt(session, state, paid.answered_seq, known_size=known_size,
                          entry=paid.answered_entry)  # fmt: skip
        return PaidAnswerOut(
            query_id=paid.query_id, kind=paid.kind, payer=paid.payer, fee=paid.fee,
            parts=dict(paid.parts), model_version=paid.model_version,
            answer=dict(paid.answer.summary()), balance_left=balance(session, paid.payer),
            receipt=written,
        )  # fmt: skip


@router.get("/lanes", response_model=LanesOut)
def lanes(state: State) -> LanesOut:
    """List the lanes a buyer can ask about (pooled at least the board's minimum group)."""
    model_dir = state.settings.eta_model_dir
    if model_dir is None:
        raise _not_offered("lanes")
    with state.transaction() as session:
        frame = lane_catalogue(session, model_dir=model_dir)
    return LanesOut(lanes=json.loads(frame.to_json(orient="records")))  # plain JSON types


@router.get("/models/{kind}/card", response_model=ModelCardOut)
def model_card(state: State, kind: Literal["eta", "stock"]) -> ModelCardOut:
    """Return the card of the pooled ``eta`` or ``stock`` model."""
    model_dir: Path | None = (
        state.settings.eta_model_dir if kind == "eta" else state.settings.stock_model_dir
    )
    if model_dir is None:
        raise _not_offered(f"model {kind}")
    return ModelCardOut(kind=kind, card=read_model_card(model_dir))
