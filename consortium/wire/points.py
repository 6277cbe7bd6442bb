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


class PointsOverviewOut(WireModel):
    """Point supply, the points held per kind of account, and the coordinator's books check.

    The fields of :class:`consortium.queries.points.PointsOverview`.
    """

    minted: int
    burned: int
    circulating: int
    member_points: int
    cargo_points: int
    treasury_points: int
    accounts: int
    books_ok: bool
    books_problem: str | None = None


class BalanceRow(WireModel):
    """One open account: ``member``, ``cargo`` or ``treasury``, and its balance."""

    account: str
    kind: str
    balance: int


class BalancesOut(WireModel):
    """Every open account, largest balance first."""

    rows: list[BalanceRow]


class MemberPointsRow(WireModel):
    """A member's points just after a ledger entry that moved them."""

    seq: int
    time: str
    member: str
    points: int


class PointsTimelineOut(WireModel):
    """Each member's points after every entry that moved them, oldest first."""

    rows: list[MemberPointsRow]


class ContributionRow(WireModel):
    """What a member contributed in a completed round and the points minted for it."""

    model: str | None
    round: int
    rule: str
    member: str
    examples: int
    quality: int | None
    points: int


class ContributionsOut(WireModel):
    """Every member's contribution in every completed round, in ledger order."""

    rows: list[ContributionRow]
