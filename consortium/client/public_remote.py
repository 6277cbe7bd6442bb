"""The coordinator's public view, read through its service: points, members, rounds, ε, cards.

The same values and tables the coordinator's own dashboard reads from its database
(:mod:`consortium.queries`), with the same columns and types, built from the service's read
routes, so a dashboard on a member's or cargo owner's machine (no database, no coordinator key)
renders them with the same code. These are the service's figures as it reports them; the
ledger itself is checked on the client (:mod:`consortium.client.ledger_remote`).

Examples
--------
>>> remote = RemoteCoordinator("https://coordinator.example:8443", pin="ab" * 8)  # doctest: +SKIP
>>> points_overview_of(remote).circulating  # doctest: +SKIP
1100
>>> epsilon_frame_of(remote, model="eta").columns.tolist()  # doctest: +SKIP
['model', 'round', 'member', 'epsilon_spent']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from pydantic import BaseModel

from consortium.client.remote import RemoteCoordinator, ServiceRefused
from consortium.queries.members import COLUMNS as MEMBER_COLUMNS
from consortium.queries.points import PointsOverview
from consortium.queries.rounds import CONTRIBUTION_COLUMNS, ROUND_COLUMNS
from consortium.wire.board import EpsilonOut, MembersOut, RoundsOut
from consortium.wire.ledger import KindsOut
from consortium.wire.points import (
    BalancesOut,
    ContributionsOut,
    PointsOverviewOut,
    PointsTimelineOut,
)

__all__ = [
    "balances_frame_of",
    "contributions_frame_of",
    "entry_kinds_of",
    "epsilon_frame_of",
    "members_frame_of",
    "model_cards_of",
    "points_history_frame_of",
    "points_overview_of",
    "rounds_frame_of",
]

MODEL_KINDS = ("eta", "stock")


def _frame(rows: Sequence[BaseModel], columns: list[str], types: Mapping[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame([r.model_dump() for r in rows], columns=columns)
    return frame.astype(dict(types))


def _model(model: str | None) -> dict[str, str]:
    return {} if model is None else {"model": model}


def points_overview_of(remote: RemoteCoordinator) -> PointsOverview:
    """Return the point supply and the books check (as ``queries.points.points_overview``)."""
    return PointsOverview(**remote.get("/points/overview", PointsOverviewOut).model_dump())


def balances_frame_of(remote: RemoteCoordinator) -> pd.DataFrame:
    """Every open account: ``account``, ``kind`` and ``balance`` (int), largest first."""
    rows = remote.get("/points/balances", BalancesOut).rows
    return _frame(rows, ["account", "kind", "balance"], {"balance": "int64"})


def points_history_frame_of(remote: RemoteCoordinator) -> pd.DataFrame:
    """Return each member's points after every entry that moved it (``points_history_frame``)."""
    rows = remote.get("/points/timeline", PointsTimelineOut).rows
    return _frame(rows, ["seq", "time", "member", "points"], {"seq": "int64", "points": "int64"})


def contributions_frame_of(remote: RemoteCoordinator) -> pd.DataFrame:
    """Return what each member contributed per completed round (as ``contributions_frame``)."""
    rows = remote.get("/points/contributions", ContributionsOut).rows
    return _frame(rows, CONTRIBUTION_COLUMNS, {"round": "int64", "examples": "int64",
                                               "quality": "Int64", "points": "int64"})  # fmt: skip


def members_frame_of(remote: RemoteCoordinator) -> pd.DataFrame:
    """Return the roster with each member's points (as ``queries.members.members_frame``)."""
    rows = remote.get("/members", MembersOut).rows
    return _frame(rows, MEMBER_COLUMNS, {"points": "int64", "admitted_seq": "int64",
                                         "exit_requested_seq": "Int64",
                                         "removed_seq": "Int64"})  # fmt: skip


def rounds_frame_of(remote: RemoteCoordinator, *, model: str | None = None) -> pd.DataFrame:
    """One row per round entry (:func:`~consortium.queries.rounds.rounds_frame`)."""
    rows = remote.get("/rounds", RoundsOut, params=_model(model)).rows
    return _frame(rows, ROUND_COLUMNS, {"seq": "int64", "round": "Int64", "members": "int64",
                                        "examples": "int64", "failures": "int64"})  # fmt: skip


def epsilon_frame_of(remote: RemoteCoordinator, *, model: str | None = None) -> pd.DataFrame:
    """ε spent per member after each round (:func:`~consortium.queries.rounds.epsilon_frame`)."""
    rows = remote.get("/rounds/epsilon", EpsilonOut, params=_model(model)).rows
    return _frame(rows, ["model", "round", "member", "epsilon_spent"],
                  {"round": "int64", "epsilon_spent": "float64"})  # fmt: skip


def entry_kinds_of(remote: RemoteCoordinator) -> tuple[int, pd.DataFrame]:
    """Return the ledger's size and its entries per kind (``kind``, ``entries``), most first."""
    out = remote.get("/ledger/kinds", KindsOut)
    return out.size, _frame(out.kinds, ["kind", "entries"], {"entries": "int64"})


def model_cards_of(remote: RemoteCoordinator) -> dict[str, dict[str, Any]]:
    """Return the pooled models' cards the service offers, by kind (``eta``, ``stock``).

    A kind the coordinator does not offer (``not-offered``) is left out.

    Raises
    ------
    ServiceRefused
        Any other refusal (an unreachable service, say).
    """
    cards: dict[str, dict[str, Any]] = {}
    for kind in MODEL_KINDS:
        try:
            cards[kind] = remote.model_card(kind)
        except ServiceRefused as exc:
            if exc.code != "not-offered":
                raise
    return cards
