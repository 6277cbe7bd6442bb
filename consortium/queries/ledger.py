"""The ledger at a glance: size, latest signed tree head, verification, recent entries.

Examples
--------
>>> from consortium.db import create_schema, make_engine, make_session_factory
>>> from consortium.identity.registry import bootstrap_coordinator
>>> from consortium.ledger.signing import Signer
>>> engine = make_engine("sqlite://"); create_schema(engine)
>>> with make_session_factory(engine).begin() as session:
...     _ = bootstrap_coordinator(session, coordinator=Signer.generate())
...     overview = ledger_overview(session)
...     status = verification_status(session)
>>> overview.size, overview.latest_head is None, status.ok
(1, True, True)
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from consortium.audit import audit_database
from consortium.errors import LedgerError, VerificationError
from consortium.ledger.checkpoint import Checkpoint
from consortium.ledger.models import EntryRow, KeyRow
from consortium.ledger.store import latest_checkpoint, ledger_size, load_checkpoints
from consortium.membership.models import MemberRow

logger = logging.getLogger(__name__)

PAYLOAD_PREVIEW_CHARS = 160
"""Payload text longer than this is cut (with an ellipsis) in :func:`recent_entries`."""

_entries = EntryRow.__table__.c


@dataclass(frozen=True)
class TreeHead:
    """A published signed tree head: ``size`` entries with Merkle ``root`` (hex)."""

    size: int
    root: str
    time: str
    key_id: str

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> TreeHead:
        """Copy a :class:`~consortium.ledger.checkpoint.Checkpoint`."""
        return cls(checkpoint.size, checkpoint.root.hex(), checkpoint.time, checkpoint.key_id)


@dataclass(frozen=True)
class LedgerOverview:
    """How big the ledger is, what its latest tree head covers, and its entries by kind.

    Attributes
    ----------
    size : int
        Committed entries.
    latest_head : TreeHead or None
        The most recently published signed tree head.
    heads : int
        Tree heads published so far.
    uncovered : int
        Entries after the latest tree head (all of them if none was published).
    first_time, last_time : str or None
        Times of the first and last entries.
    kinds : Mapping[str, int]
        Entries per kind, most frequent first.
    """

    size: int
    latest_head: TreeHead | None
    heads: int
    uncovered: int
    first_time: str | None
    last_time: str | None
    kinds: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}), hash=False)


@dataclass(frozen=True)
class VerificationStatus:
    """The outcome of re-verifying every entry, signature, hash and tree head.

    ``ok`` is ``False`` when verification failed; ``error`` then says why and ``index`` names the
    first failing entry when one is to blame.
    """

    ok: bool
    size: int
    root: str | None = None
    heads_checked: int = 0
    keys: int = 0
    uncovered: int = 0
    error: str | None = None
    index: int | None = None


def ledger_ready(session: Session) -> bool:
    """Whether the database holds an initialised ledger (its tables exist and the head row)."""
    if not inspect(session.connection()).has_table(EntryRow.__tablename__):
        return False
    return ledger_size(session) > 0


def entry_kinds(session: Session) -> pd.DataFrame:
    """Return the number of entries of each kind (columns ``kind``, ``entries``), most first."""
    rows = session.execute(
        select(_entries.kind, func.count()).group_by(_entries.kind).order_by(_entries.kind)
    ).all()
    frame = pd.DataFrame(rows, columns=["kind", "entries"])
    frame["entries"] = frame["entries"].astype("int64")
    return frame.sort_values(["entries", "kind"], ascending=[False, True], ignore_index=True)


def ledger_overview(session: Session) -> LedgerOverview:
    """Return the ledger's size, latest tree head and entries per kind."""
    size = ledger_size(session)
    head = latest_checkpoint(session)
    first, last = session.execute(select(func.min(_entries.time), func.max(_entries.time))).one()
    kinds = entry_kinds(session)
    return LedgerOverview(
        size=size,
        latest_head=None if head is None else TreeHead.of(head),
        heads=len(load_checkpoints(session)),
        uncovered=size - (0 if head is None else head.size),
        first_time=first,
        last_time=last,
        kinds=MappingProxyType(dict(zip(kinds["kind"], kinds["entries"].tolist(), strict=True))),
    )


def verification_status(session: Session, *, workers: int = 1) -> VerificationStatus:
    """Verify the stored ledger and replay its derived state, as a value.

    :func:`consortium.audit.audit_database`: entries, signatures, roles, hashes and tree heads,
    then balances, tallies and policy against the coordinator's tables. A failure is returned,
    not raised: ``ok=False`` with the verifier's reason and the index of the first failing entry.
    """
    size = ledger_size(session)
    try:
        report = audit_database(session, workers=workers).log
    except VerificationError as exc:
        logger.warning("ledger verification failed: %s", exc)
        return VerificationStatus(ok=False, size=size, error=str(exc), index=exc.index)
    except LedgerError as exc:
        logger.warning("ledger verification failed: %s", exc)
        return VerificationStatus(ok=False, size=size, error=str(exc))
    return VerificationStatus(
        ok=True,
        size=report.size,
        root=report.root,
        heads_checked=report.heads_checked,
        keys=report.keys,
        uncovered=report.uncovered,
    )


def actor_labels(session: Session) -> dict[str, str]:
    """Return a readable label per registered key id: the member id, or role and short key id."""
    members = dict(session.execute(select(MemberRow.key_id, MemberRow.member)).all())
    labels: dict[str, str] = {}
    for key_id, role in session.execute(select(KeyRow.key_id, KeyRow.role)):
        member = members.get(key_id)
        labels[key_id] = f"{role}:{member}" if member else f"{role}:{key_id[:12]}"
    return labels


def _preview(payload: str) -> str:
    if len(payload) <= PAYLOAD_PREVIEW_CHARS:
        return payload
    return payload[: PAYLOAD_PREVIEW_CHARS - 1] + "\u2026"


def recent_entries(
    session: Session,
    *,
    limit: int = 50,
    kinds: Collection[str] | None = None,
    preview: bool = True,
) -> pd.DataFrame:
    """Return the latest ``limit`` entries, newest first, optionally of the given kinds.

    Columns: ``seq``, ``time``, ``kind``, ``actor`` (see :func:`actor_labels`) and ``payload``
    (its canonical JSON, cut at :data:`PAYLOAD_PREVIEW_CHARS` unless ``preview`` is false).
    """
    if limit <= 0:
        raise ValueError(f"limit must be positive, got {limit}")
    query = select(_entries.seq, _entries.time, _entries.kind, _entries.actor, _entries.payload)
    if kinds is not None:
        query = query.where(_entries.kind.in_(sorted(kinds)))
    rows = session.execute(query.order_by(_entries.seq.desc()).limit(limit)).all()
    labels = actor_labels(session)
    return pd.DataFrame(
        [
            (
                seq,
                time,
                kind,
                labels.get(actor, actor[:12]),
                _preview(payload) if preview else payload,
            )  # fmt: skip
            for seq, time, kind, actor, payload in rows
        ],
        columns=["seq", "time", "kind", "actor", "payload"],
    ).astype({"seq": "int64"})
