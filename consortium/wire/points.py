"""Points and paid queries: balances, histories, the lane catalogue, model cards, a purchase."""

from __future__ import annotations

from typing import Any

from consortium.wire.envelope import Receipt, WireModel


class BalanceOut(WireModel):
    """An account's balance (points are integers)."""

    account: str
    balance: int


class HistoryOut(WireModel):
    """An account's movements, newest first."""

    account: str
    movements: list[dict[str, Any]]


class QueryIn(WireModel):
    """A paid query: the ``query.v1`` message and the owner's Ed25519 signature of it (hex)."""

    query: dict[str, Any]
    signature: str


class PaidAnswerOut(WireModel):
    """An answered, paid query: the answer's aggregates, the fee, the split and the receipt."""

    query_id: str
    kind: str
    payer: str
    fee: int
    parts: dict[str, int]
    model_version: str
    answer: dict[str, Any]
    balance_left: int
    receipt: Receipt


class LanesOut(WireModel):
    """The lane catalogue of the pooled ETA model (one row per lane)."""

    lanes: list[dict[str, Any]]


class ModelCardOut(WireModel):
    """A pooled model's card (the JSON the model directory holds)."""

    kind: str
    card: dict[str, Any]
