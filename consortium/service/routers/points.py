"""Points reads: balances, histories, supply, members' points over time, contributions.

The public view's reads (what the coordinator's own dashboard shows from its database), so a
member's or cargo owner's dashboard shows the same through the service. Points are integers.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query

from consortium.points.accounts import account_kind
from consortium.points.store import balance, history
from consortium.queries.points import balances_frame, points_history_frame, points_overview
from consortium.queries.rounds import contributions_frame
from consortium.service.deps import State
from consortium.wire.envelope import API_PREFIX
from consortium.wire.points import (
    BalanceOut,
    BalanceRow,
    BalancesOut,
    ContributionRow,
    ContributionsOut,
    HistoryOut,
    MemberPointsRow,
    PointsOverviewOut,
    PointsTimelineOut,
)

router = APIRouter(prefix=f"{API_PREFIX}/points", tags=["points"])


@router.get("/balances/{account}", response_model=BalanceOut)
def account_balance(state: State, account: str) -> BalanceOut:
    """Return the balance of ``account`` (``member:<id>``, ``cargo:<key id>``, ``treasury``)."""
    account_kind(account)  # refuses a malformed account name
    with state.transaction() as session:
        return BalanceOut(account=account, balance=balance(session, account))


@router.get("/history/{account}", response_model=HistoryOut)
def account_history(
    state: State, account: str, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> HistoryOut:
    """Return the movements of ``account``, newest first."""
    account_kind(account)
    with state.transaction() as session:
        moves = history(session, account=account, limit=limit)
    return HistoryOut(account=account, movements=[dataclasses.asdict(m) for m in moves])


def records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Return a frame's rows as plain JSON values (numpy scalars unwrapped, missing as ``None``)."""
    rows: list[dict[str, object]] = json.loads(frame.to_json(orient="records"))
    return rows


@router.get("/overview", response_model=PointsOverviewOut)
def overview(state: State) -> PointsOverviewOut:
    """Return the supply, the points held per kind of account and the books check."""
    with state.transaction() as session:
        totals = points_overview(session)
    return PointsOverviewOut(**dataclasses.asdict(totals))


@router.get("/balances", response_model=BalancesOut)
def all_balances(state: State) -> BalancesOut:
    """Return every open account's balance, largest first."""
    with state.transaction() as session:
        frame = balances_frame(session)
    return BalancesOut(rows=[BalanceRow.model_validate(r) for r in records(frame)])


@router.get("/timeline", response_model=PointsTimelineOut)
def timeline(state: State) -> PointsTimelineOut:
    """Return each member's points after every ledger entry that moved them, oldest first."""
    with state.transaction() as session:
        frame = points_history_frame(session)
    return PointsTimelineOut(rows=[MemberPointsRow.model_validate(r) for r in records(frame)])


@router.get("/contributions", response_model=ContributionsOut)
def contributions(state: State) -> ContributionsOut:
    """Return what each member contributed in each completed round and the points it earned."""
    with state.transaction() as session:
        frame = contributions_frame(session)
    return ContributionsOut(rows=[ContributionRow.model_validate(r) for r in records(frame)])
