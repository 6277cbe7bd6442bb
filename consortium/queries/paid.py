"""Paid forecast queries: who paid what, which model version answered, and how the fee was split.

Reads the answered-queries table of :mod:`consortium.forecasts.store` (it has no listing
function, so this selects over its table directly, read-only) and the ``query-answered`` and
``query-settled`` ledger entries each row points to.

Examples
--------
>>> # with factory.begin() as session:
>>> #     history = paid_queries_frame(session, limit=20)
>>> #     splits = query_splits_frame(session, query_ids=history["query_id"])
>>> #     split_checks(session, query_ids=history["query_id"])["matches"].all()
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortium.errors import QueryRejected
from consortium.forecasts.splits import recompute_split
from consortium.forecasts.store import AnsweredQueryRow
from consortium.ledger.models import EntryRow
from consortium.points.rules import account_kind

_queries = AnsweredQueryRow.__table__.c
_entries = EntryRow.__table__.c

HISTORY_COLUMNS = [
    "query_id", "time", "kind", "payer", "fee", "answer", "model_version", "model_round",
    "split_rule", "treasury_share_bps", "settled_seq", "answered_seq",
]  # fmt: skip


def _payloads(session: Session, seqs: Iterable[int]) -> dict[int, tuple[str, dict[str, Any]]]:
    wanted = sorted(set(seqs))
    if not wanted:
        return {}
    rows = session.execute(
        select(_entries.seq, _entries.time, _entries.payload).where(_entries.seq.in_(wanted))
    )
    return {seq: (time, json.loads(payload)) for seq, time, payload in rows}


def answer_summary(kind: str, answer: Mapping[str, Any]) -> str:
    """One line about an answer's aggregates (what the owner learnt), from its ledger summary.

    Examples
    --------
    >>> answer_summary("lane", {"origin": "CNSHA", "destination": "NLRTM", "mode": "sea",
    ...     "on_time_rate": 0.8125, "delay_minutes_median": 42.0})
    'CNSHA>NLRTM sea: on time 81.2 %, median delay 42 min'
    """
    if kind == "lane":
        return (
            f"{answer.get('origin')}>{answer.get('destination')} {answer.get('mode')}: "
            f"on time {100 * float(answer.get('on_time_rate', 0.0)):.1f} %, "
            f"median delay {float(answer.get('delay_minutes_median', 0.0)):.0f} min"
        )
    if kind == "warehouse":
        return (
            f"{answer.get('warehouse_id')} {answer.get('horizon_days')} d: "
            f"stock-out {100 * float(answer.get('p_stockout_mean', 0.0)):.1f} % of "
            f"{answer.get('sku_series')}+ SKU series"
        )
    return ""


def _rows(session: Session, *, limit: int | None) -> list[Any]:
    query = select(
        _queries.query_id, _queries.kind, _queries.issuer_key_id, _queries.fee,
        _queries.model_version, _queries.settled_seq, _queries.answered_seq,
    ).order_by(_queries.answered_seq.desc())  # fmt: skip
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query))


def paid_queries_frame(session: Session, *, limit: int | None = 100) -> pd.DataFrame:
    """Answered paid queries, newest first (the latest ``limit``; ``None``: all).

    Columns: ``query_id``, ``time`` (of its ``query-answered`` entry), ``kind``, ``payer``
    (``cargo:<key id>`` cut to 18 characters), ``fee`` (points), ``answer`` (a one-line summary of
    the aggregates), ``model_version`` (first 12 hex digits), ``model_round``, ``split_rule``,
    ``treasury_share_bps``, ``settled_seq`` and ``answered_seq``.
    """
    rows = _rows(session, limit=limit)
    answered = _payloads(session, (r[6] for r in rows))
    records = []
    for query_id, kind, issuer, fee, version, settled_seq, answered_seq in rows:
        time, payload = answered.get(answered_seq, (None, {}))
        records.append(
            (query_id, time, kind, f"cargo:{issuer}"[:18], int(fee),
             answer_summary(kind, payload.get("answer") or {}), version[:12],
             payload.get("model_round"), payload.get("split_rule"),
             payload.get("treasury_share_bps"), settled_seq, answered_seq)
        )  # fmt: skip
    frame = pd.DataFrame(records, columns=HISTORY_COLUMNS)
    return frame.astype({"fee": "int64", "model_round": "Int64", "treasury_share_bps": "Int64"})


def query_splits_frame(session: Session, *, query_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Return the parts each fee was split into, from the ``query-settled`` entries.

    Columns: ``query_id``, ``account``, ``kind`` (``member``/``treasury``/``cargo``) and
    ``amount`` (points credited). ``query_ids`` restricts the rows; default: every query.
    """
    query = select(_queries.query_id, _queries.settled_seq).order_by(_queries.answered_seq.desc())
    if query_ids is not None:
        query = query.where(_queries.query_id.in_(sorted(set(query_ids))))
    rows = list(session.execute(query))
    settled = _payloads(session, (seq for _, seq in rows))
    records = []
    for query_id, seq in rows:
        parts = settled.get(seq, (None, {}))[1].get("parts") or []
        for part in parts:
            account, amount = str(part["account"]), int(part["amount"])
            records.append((query_id, account, account_kind(account), amount))
    frame = pd.DataFrame(records, columns=["query_id", "account", "kind", "amount"])
    return frame.astype({"amount": "int64"})


def revenue_by_account(splits: pd.DataFrame) -> pd.DataFrame:
    """Total points each account earned from the given splits (``account``, ``points``)."""
    if splits.empty:
        return pd.DataFrame({"account": pd.Series(dtype=str), "points": pd.Series(dtype="int64")})
    totals = splits.groupby("account", as_index=False)["amount"].sum()
    totals = totals.rename(columns={"amount": "points"}).astype({"points": "int64"})
    return totals.sort_values(["points", "account"], ascending=[False, True], ignore_index=True)


def split_checks(session: Session, *, query_ids: Iterable[str]) -> pd.DataFrame:
    """Recompute each query's split from the ledger alone and compare it with what was paid.

    Columns: ``query_id``, ``fee``, ``matches`` (bool) and ``problem`` (why it could not be
    recomputed, else empty). See :func:`consortium.forecasts.splits.recompute_split`.
    """
    records: list[tuple[str, int | None, bool, str]] = []
    for query_id in query_ids:
        try:
            check = recompute_split(session, query_id)
        except QueryRejected as exc:
            records.append((query_id, None, False, str(exc)))
            continue
        records.append((query_id, check.fee, check.matches, ""))
    frame = pd.DataFrame(records, columns=["query_id", "fee", "matches", "problem"])
    return frame.astype({"fee": "Int64", "matches": "bool"})
