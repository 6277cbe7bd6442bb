"""Points reads: an account's balance and its history (points are integers)."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Query

from consortium.points.accounts import account_kind
from consortium.points.store import balance, history
from consortium.service.deps import State
from consortium.wire.envelope import API_PREFIX
from consortium.wire.points import BalanceOut, HistoryOut

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
