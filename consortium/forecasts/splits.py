"""Recompute the split of a paid query from the ledger alone, as anyone holding an export can.

The ``query-answered`` entry records the fee, the model, the round (and federation run) that
produced the answering model version, the split rule and the treasury share in force; the
``query-settled`` entry it points to records the parts paid. Summing the contribution points
minted for that run of that model up to that round by the entries *before* the settlement and
applying :func:`consortium.points.rules.split_revenue` must give the same parts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from consortium.errors import QueryRejected
from consortium.ledger.entry import Entry
from consortium.ledger.kinds import EntryKind
from consortium.ledger.models import EntryRow
from consortium.points.rules import contributions_from_entries, split_revenue, split_weights

logger = logging.getLogger(__name__)

_SPLIT_KINDS = (EntryKind.POINTS_MINTED, EntryKind.QUERY_SETTLED, EntryKind.QUERY_ANSWERED)


@dataclass(frozen=True)
class SplitCheck:
    """A split recomputed from the ledger next to the split that was paid."""

    query_id: str
    fee: int
    recomputed: Mapping[str, int]
    paid: Mapping[str, int] = field(default_factory=dict)

    @property
    def matches(self) -> bool:
        """Whether the recomputed split equals the paid one and sums to the fee."""
        return dict(self.recomputed) == dict(self.paid) and sum(self.paid.values()) == self.fee


def recompute_split_from_entries(entries: Iterable[Entry], *, query_id: str) -> SplitCheck:
    """Rebuild the split of an answered query from ledger entries alone (e.g. an export).

    Finds the ``query-answered`` entry of ``query_id``, takes the fee, model, model round,
    split rule and treasury share it records, sums the contribution points minted for that
    model up to that round by the entries *before* the ``query-settled`` entry, applies
    :func:`~consortium.points.rules.split_revenue`, and sets the parts that entry paid beside.

    Raises
    ------
    QueryRejected
        ``not-answered`` when the entries hold no answer for ``query_id``, ``malformed-entry``
        when the recorded entries are inconsistent.
    """
    entries = list(entries)
    subject = f"query {query_id}"
    answered = next(
        (
            e
            for e in reversed(entries)
            if e.kind == EntryKind.QUERY_ANSWERED and e.payload_object().get("query_id") == query_id
        ),
        None,
    )
    if answered is None:
        raise QueryRejected(subject, code="not-answered", reason="no query-answered entry")
    record = answered.payload_object()
    settled_seq = record.get("settled_seq")
    by_seq = {e.seq: e for e in entries}
    settled = by_seq.get(settled_seq) if isinstance(settled_seq, int) else None
    if settled is None or settled.kind != EntryKind.QUERY_SETTLED:
        raise QueryRejected(
            subject, code="malformed-entry", reason=f"entry {settled_seq} is not its settlement"
        )
    fee, bps = record.get("fee"), record.get("treasury_share_bps")
    model_round = record.get("model_round")
    if not isinstance(fee, int) or not isinstance(bps, int):
        raise QueryRejected(subject, code="malformed-entry", reason="fee or share missing")
    run_id: str | None = None  # every run: no round produced the version, or an older entry
    if isinstance(model_round, int) and "model_run" in record:
        model_run = record["model_run"]
        run_id = model_run if isinstance(model_run, str) else ""  # None: a round without run id
    contributions = contributions_from_entries(
        (e for e in entries if e.seq < settled.seq),
        model=str(record.get("model")),
        up_to_round=model_round if isinstance(model_round, int) else None,
        run_id=run_id,
    )
    weights = split_weights(rule=str(record.get("split_rule")), contributions=contributions)
    recomputed = split_revenue(fee, weights=weights, treasury_share_bps=bps)
    paid_parts = settled.payload_object().get("parts")
    paid: dict[str, int] = {}
    if isinstance(paid_parts, list):
        for part in paid_parts:
            if isinstance(part, Mapping):
                account, amount = str(part.get("account")), part.get("amount")
                if isinstance(amount, int):
                    paid[account] = paid.get(account, 0) + amount
    return SplitCheck(
        query_id=query_id, fee=fee, recomputed=recomputed, paid=dict(sorted(paid.items()))
    )


def recompute_split(session: Session, query_id: str) -> SplitCheck:
    """Rebuild the split of ``query_id`` from the stored ledger entries alone.

    Reads only the entries a split depends on (``points-minted``, ``query-settled`` and
    ``query-answered``); see :func:`recompute_split_from_entries`.
    """
    t = EntryRow.__table__.c
    rows = session.execute(
        select(t.seq, t.time, t.kind, t.payload, t.actor, t.signature)
        .where(t.kind.in_(_SPLIT_KINDS))
        .order_by(t.seq)
    )
    entries = [Entry(q, tm, k, p.encode("utf-8"), a, bytes(sig)) for q, tm, k, p, a, sig in rows]
    return recompute_split_from_entries(entries, query_id=query_id)
