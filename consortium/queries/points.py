"""Point supply and balances, with the books checked (:func:`consortium.points.store.check_books`).

Examples
--------
>>> from consortium.db import create_schema, make_engine, make_session_factory
>>> from consortium.identity.registry import bootstrap_coordinator
>>> from consortium.ledger.signing import Signer
>>> from consortium.points.store import mint
>>> engine = make_engine("sqlite://"); create_schema(engine)
>>> coordinator = Signer.generate()
>>> with make_session_factory(engine).begin() as s:
...     _ = bootstrap_coordinator(s, coordinator=coordinator)
...     _ = mint(s, account="member:alpha", amount=120, reason="contribution",
...              refs={"model": "eta", "round": 1}, signer=coordinator)
...     overview, table = points_overview(s), balances_frame(s)
>>> overview.circulating, overview.books_ok, table["balance"].tolist()
(120, True, [120])
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from consortium.errors import PointsError
from consortium.points.rules import TREASURY, account_kind
from consortium.points.store import balances, check_books, supply


@dataclass(frozen=True)
class PointsOverview:
    """Point totals; ``circulating == minted - burned`` whenever ``books_ok``.

    Attributes
    ----------
    minted, burned, circulating : int
        Created, destroyed and held points.
    member_points, cargo_points, treasury_points : int
        Points held by member accounts (they carry votes), cargo owners and the treasury.
    accounts : int
        Open accounts.
    books_ok : bool
        Whether the balances, the journal and every entry's lines add up.
    books_problem : str or None
        What does not add up, when ``books_ok`` is false.
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


def balances_frame(session: Session) -> pd.DataFrame:
    """Every open account: columns ``account``, ``kind`` and ``balance`` (int), largest first."""
    rows = [(account, account_kind(account), value) for account, value in balances(session).items()]
    frame = pd.DataFrame(rows, columns=["account", "kind", "balance"]).astype({"balance": "int64"})
    return frame.sort_values(["balance", "account"], ascending=[False, True], ignore_index=True)


def points_overview(session: Session) -> PointsOverview:
    """Return the supply, the points held per kind of account, and the books check."""
    totals = supply(session)
    held = balances(session)
    by_kind = {"member": 0, "cargo": 0, "treasury": 0}
    for account, value in held.items():
        by_kind[account_kind(account)] += value
    try:
        check_books(session)
        ok, problem = True, None
    except PointsError as exc:
        ok, problem = False, str(exc)
    return PointsOverview(
        minted=totals.minted,
        burned=totals.burned,
        circulating=totals.circulating,
        member_points=by_kind["member"],
        cargo_points=by_kind["cargo"],
        treasury_points=held.get(TREASURY, 0),
        accounts=len(held),
        books_ok=ok,
        books_problem=problem,
    )
