"""Paid forecast queries: check, price, answer, split, settle and record in one transaction.

:func:`answer_query` runs inside the caller's transaction and never commits. Everything that
can refuse a query runs before the first write, and the writes run inside a SAVEPOINT, so a
refused or failed query leaves nothing behind and costs nothing:

1. the signed message (:func:`~consortium.forecasts.messages.check_query`), then replays;
2. the price, ``policy.fees[kind]``, against the owner's ``max_price_points`` and balance
   (:mod:`consortium.forecasts.pricing`);
3. the answer: the lane from the pooled ETA model, the warehouse from that warehouse's own node
   (which may decline);
4. the split of the fee among the contributors of the model version that answered
   (:func:`consortium.points.rules.split_revenue` over their contribution points up to the
   round that produced that version, with the board's treasury share);
5. writes: :func:`consortium.points.store.settle` debits the owner and credits every part
   (``query-settled`` entry), a ``query-answered`` entry records the query digest, the price,
   the model version, the split inputs and the answer's aggregates, and the query id and nonce
   are stored so they can never be charged again.

:mod:`consortium.forecasts.splits` rebuilds a split from ledger entries alone (an export is
enough), which is how anyone checks that a fee was shared by the board's rule.

The same steps are public for edges that keep the model work, or a warehouse node's round trip,
out of any transaction: :func:`quote_query` (read-only), :func:`compute_answer` (no database),
:func:`settle_answer` (re-checks replay, fee and balance, then writes).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consortium.config import Settings
from consortium.errors import QueryRejected
from consortium.forecasts.lane import LaneAnswer, LaneRequest, answer_lane
from consortium.forecasts.messages import check_query
from consortium.forecasts.pooled import (
    INFERENCE_THREADS,
    lane_catalog,
    pooled_eta_model,
    pooled_stock_model,
    use_inference_threads,
)
from consortium.forecasts.pricing import MODEL_OF_KIND, Quote, price_query, split_fee
from consortium.forecasts.store import AnsweredQueryRow
from consortium.forecasts.warehouse import WarehouseAnswer, WarehouseAnswerer
from consortium.ledger.entry import Entry
from consortium.ledger.kinds import EntryKind
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry
from consortium.points import store as points
from consortium.policy.model import ConsortiumPolicy

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueryService:
    """What the coordinator answers queries with.

    Parameters
    ----------
    coordinator
        The coordinator's key; it signs the ledger entries.
    eta_model_dir
        The pooled ETA model with its lane catalog; ``None``: lane queries are not offered.
    stock_model_dir
        The pooled stock-risk model; ``None``: warehouse queries are not offered.
    answerer
        How warehouses are asked (their own nodes); needed for warehouse queries.
    settings
        Where the message contracts live (built once at the edge); default: loaded per query.
    inference_threads
        Torch intra-op threads of the process that answers (see
        :func:`~consortium.forecasts.pooled.use_inference_threads`); ``None``: leave torch's
        setting, for a process that also trains.
    """

    coordinator: Signer
    eta_model_dir: Path | None = None
    stock_model_dir: Path | None = None
    answerer: WarehouseAnswerer | None = None
    settings: Settings | None = None
    inference_threads: int | None = INFERENCE_THREADS


@dataclass(frozen=True)
class PaidAnswer:
    """An answered, paid query: the answer, the fee and how it was split."""

    query_id: str
    kind: str
    payer: str
    fee: int
    parts: Mapping[str, int]
    model_version: str
    model_round: int | None
    answer: LaneAnswer | WarehouseAnswer
    settled_seq: int
    answered_seq: int
    answered_entry: Entry | None = field(default=None, repr=False, compare=False)
    """The ``query-answered`` entry as appended (a receipt needs not read it back)."""


def quote_query(
    session: Session,
    *,
    query: Mapping[str, object],
    signature: bytes,
    service: QueryService,
    now: datetime,
) -> Quote:
    """Check a signed query and price it; read-only (step 1 of :func:`answer_query`).

    Raises
    ------
    QueryRejected
        ``malformed``, ``expired``, ``issued-in-future``, ``unknown-issuer``,
        ``revoked-issuer``, ``not-a-cargo-owner``, ``bad-signature``, ``replay``,
        ``not-offered`` or ``over-max-price``.
    InsufficientPoints
        The owner's balance is below the fee.
    """
    checked = check_query(
        session, query=query, signature=signature, now=now, settings=service.settings
    )
    return price_query(session, checked)[0]


def compute_answer(quote: Quote, *, service: QueryService) -> LaneAnswer | WarehouseAnswer:
    """Answer a quoted query; touches no database (step 2 of :func:`answer_query`).

    The lane answer comes from the pooled ETA model here; the warehouse answer from the
    warehouse's own node through ``service.answerer`` (which may decline).

    Raises
    ------
    QueryRejected
        ``bad-window``, ``same-place``, ``not-offered``, ``unknown-lane``, ``too-few-data``,
        ``unsupported-horizon``, ``unknown-warehouse`` or ``declined``.
    ModelError
        The service's model directory is missing or broken.
    """
    checked, min_group_size = quote.checked, quote.min_group_size
    subject = checked.subject
    use_inference_threads(service.inference_threads)
    try:
        if checked.kind == "lane":
            request = LaneRequest.from_params(checked.params)
            if service.eta_model_dir is None:
                raise QueryRejected(subject, code="not-offered", reason="no pooled ETA model")
            model, version = pooled_eta_model(service.eta_model_dir)
            return answer_lane(
                model=model,
                catalog=lane_catalog(service.eta_model_dir),
                request=request,
                model_version=version,
                min_group_size=min_group_size,
                tolerance_minutes=quote.on_time_tolerance_minutes.get(request.mode),
            )
        warehouse_id = str(checked.params["warehouse_id"])
        horizon = int(checked.params["horizon_days"])  # type: ignore[call-overload]
        if service.stock_model_dir is None or service.answerer is None:
            raise QueryRejected(subject, code="not-offered", reason="no stock-risk service")
        stock_model, _ = pooled_stock_model(service.stock_model_dir)
        if horizon != stock_model.spec.horizon_days:
            raise QueryRejected(
                subject,
                code="unsupported-horizon",
                reason=f"the pooled model forecasts {stock_model.spec.horizon_days} days ahead",
            )
        if not service.answerer.knows(warehouse_id):
            raise QueryRejected(
                subject, code="unknown-warehouse", reason=f"no member operates {warehouse_id}"
            )
        answer = service.answerer.answer(
            warehouse_id,
            horizon_days=horizon,
            model_dir=service.stock_model_dir,
            min_group_size=min_group_size,
        )
        if answer is None:
            raise QueryRejected(
                subject, code="declined", reason=f"warehouse {warehouse_id} declined to answer"
            )
        return answer
    except QueryRejected as exc:
        if exc.subject == subject:
            raise
        raise QueryRejected(subject, code=exc.code, reason=f"{exc.subject}: {exc.reason}") from exc


def settle_answer(
    session: Session,
    *,
    quote: Quote,
    answer: LaneAnswer | WarehouseAnswer,
    service: QueryService,
) -> PaidAnswer:
    """Charge, split and record an answered query (step 3 of :func:`answer_query`).

    Prices again with the policy in force now, so an edge that runs the steps in separate
    transactions never charges a fee the board replaced meanwhile (nor a replay that committed
    meanwhile). Every check runs before the first write; the writes run in a SAVEPOINT.

    Raises
    ------
    QueryRejected
        ``replay``, ``over-max-price``, ``not-offered``, or ``policy-changed`` when the board
        raised the minimum group size after the answer was computed (send the query again).
    InsufficientPoints
        The owner's balance is below the fee.
    """
    priced, policy = price_query(session, quote.checked)
    if policy.min_group_size > quote.min_group_size:
        raise QueryRejected(
            quote.checked.subject,
            code="policy-changed",
            reason="the minimum group size was raised while the answer was computed; ask again",
        )
    return _settle(session, quote=priced, policy=policy, answer=answer, service=service)


def _settle(
    session: Session,
    *,
    quote: Quote,
    policy: ConsortiumPolicy,
    answer: LaneAnswer | WarehouseAnswer,
    service: QueryService,
) -> PaidAnswer:
    """Split ``quote.fee`` under ``policy`` and write: settle, record, remember the query."""
    checked, fee, payer = quote.checked, quote.fee, quote.payer
    subject = checked.subject
    model = MODEL_OF_KIND[checked.kind]
    model_round, model_run, parts = split_fee(
        session, quote=quote, policy=policy, model_version=answer.model_version
    )
    try:
        with session.begin_nested():
            settled = points.settle(
                session,
                payer=payer,
                parts=parts,
                refs={
                    "query_id": checked.query_id,
                    "kind": checked.kind,
                    "model_version": answer.model_version,
                    "fee": fee,
                },
                signer=service.coordinator,
            )
            answered = append_entry(
                session,
                kind=EntryKind.QUERY_ANSWERED,
                payload={
                    "query_id": checked.query_id,
                    "kind": checked.kind,
                    "issuer_key_id": checked.issuer_key_id,
                    "query_sha256": checked.digest,
                    "fee": fee,
                    "model": model,
                    "model_version": answer.model_version,
                    "model_round": model_round,
                    "model_run": model_run or None,  # None: no run id (or no round)
                    "split_rule": policy.split_rule,
                    "treasury_share_bps": policy.treasury_share_bps,
                    "settled_seq": settled.seq,
                    "answer": answer.summary(),
                },
                signer=service.coordinator,
            )
            session.execute(  # Core INSERT: no unit-of-work flush for one row
                insert(AnsweredQueryRow),
                {"query_id": checked.query_id, "nonce": checked.nonce,
                 "issuer_key_id": checked.issuer_key_id, "kind": checked.kind, "fee": fee,
                 "model_version": answer.model_version, "settled_seq": settled.seq,
                 "answered_seq": answered.seq},
            )  # fmt: skip
    except IntegrityError as exc:  # a concurrent twin committed first (PostgreSQL)
        raise QueryRejected(
            subject, code="replay", reason="this query id or nonce was used before"
        ) from exc
    logger.info(
        "answered %s (%s) for %d points, split among %d accounts",
        subject, checked.kind, fee, len(parts),
    )  # fmt: skip
    return PaidAnswer(
        query_id=checked.query_id,
        kind=checked.kind,
        payer=payer,
        fee=fee,
        parts=parts,
        model_version=answer.model_version,
        model_round=model_round,
        answer=answer,
        settled_seq=settled.seq,
        answered_seq=answered.seq,
        answered_entry=answered,
    )


def answer_query(
    session: Session,
    *,
    query: Mapping[str, object],
    signature: bytes,
    service: QueryService,
    now: datetime,
) -> PaidAnswer:
    """Answer a signed, paid forecast query; the fee is split and everything is recorded.

    Runs :func:`quote_query`, :func:`compute_answer` and :func:`settle_answer` in the caller's
    transaction. An edge that wants the model work (or a warehouse node's round trip) outside
    any transaction runs the three steps itself: quote in one short transaction, compute with
    no database, settle in another (it re-checks replay, fee and balance).

    Parameters
    ----------
    session
        The caller's transaction (``with factory.begin() as session:``); never committed here.
    query
        The ``query.v1`` message as the cargo owner signed it.
    signature
        The owner's Ed25519 signature of the message's RFC 8785 bytes
        (:func:`~consortium.forecasts.messages.sign_query`).
    service
        The models, the warehouse answerer and the coordinator key.
    now
        Arrival time (tz-aware), checked against ``issued_at``.

    Returns
    -------
    PaidAnswer
        The aggregates, the fee, the parts of the split and the two ledger positions.

    Raises
    ------
    QueryRejected
        Before anything is written: ``malformed``, ``expired``, ``issued-in-future``,
        ``unknown-issuer``, ``revoked-issuer``, ``not-a-cargo-owner``, ``bad-signature``,
        ``replay``, ``bad-window``, ``same-place``, ``over-max-price``, ``not-offered``,
        ``unknown-lane``, ``too-few-data``, ``unsupported-horizon``, ``unknown-warehouse`` or
        ``declined``.
    InsufficientPoints
        The owner's balance is below the fee (nothing is written).
    ModelError
        The service's model directory is missing or broken (nothing is written).

    Examples
    --------
    >>> paid = answer_query(session, query=query, signature=sign_query(query, signer=owner),
    ...                     service=QueryService(coordinator=coordinator,
    ...                                          eta_model_dir=model_dir),
    ...                     now=datetime.now(UTC))  # doctest: +SKIP
    >>> sum(paid.parts.values()) == paid.fee  # doctest: +SKIP
    True
    """
    checked = check_query(
        session, query=query, signature=signature, now=now, settings=service.settings
    )
    quote, policy = price_query(session, checked)
    answer = compute_answer(quote, service=service)
    return _settle(session, quote=quote, policy=policy, answer=answer, service=service)
