"""The round index: which ``round-completed`` entry recorded which round and model version.

A round's ledger entry is signed JSON; finding "the round that produced model version V" by
searching that text (a ``LIKE`` over every payload) is slow and matches on spelling. So the
``round-completed`` entry is written only by :func:`append_round_completed`, which adds one
``points_rounds`` row (:class:`~consortium.points.models.RoundRow`: model, round, model version,
run id, entry seq) in the same savepoint, and readers use its indexes:

* :func:`round_of_version` and :func:`run_round_of_version`: the round (and its run) whose entry
  produced a model version (paid-query splits, :mod:`consortium.forecasts.pricing`);
* :func:`latest_rounds`: per model, the highest round completed so far (a new member's
  :attr:`~consortium.membership.models.MemberRecord.joined_round`);
* :func:`recorded_rounds`: which rounds of one federation run are recorded (a resumed run
  records the rest, each exactly once).

The table is created by ``create_all()`` with the others. :func:`index_rounds` fills it from the
entries of a database written before it existed (idempotent). Nothing here commits.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from consortium.errors import PointsError
from consortium.ledger.entry import Entry
from consortium.ledger.kinds import EntryKind
from consortium.ledger.models import EntryRow
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry
from consortium.points.models import RUN_ID_LENGTH, RoundRow

__all__ = [
    "RecordedRounds",
    "append_round_completed",
    "index_rounds",
    "latest_rounds",
    "recorded_rounds",
    "round_of_version",
    "run_round_of_version",
]

logger = logging.getLogger(__name__)

_table = cast(Table, RoundRow.__table__)
_rounds = _table.c
_entries = EntryRow.__table__.c


def _index_values(payload: Mapping[str, object]) -> dict[str, object] | None:
    """Return the index columns of a ``round-completed`` payload, or ``None`` if malformed."""
    model, round_, version = (
        payload.get("model"),
        payload.get("round"),
        payload.get("model_version"),
    )
    if not isinstance(model, str) or not model or len(model) > 128:
        return None
    if isinstance(round_, bool) or not isinstance(round_, int) or round_ < 0:
        return None
    run = payload.get("run", "")
    return {
        "model": model,
        "round": round_,
        "model_version": version if isinstance(version, str) else None,
        "run_id": run if isinstance(run, str) and len(run) <= RUN_ID_LENGTH else "",
    }


def append_round_completed(
    session: Session,
    *,
    payload: Mapping[str, object],
    signer: Signer,
    moment: datetime | None = None,
) -> Entry:
    """Append a ``round-completed`` entry and its round-index row, together or not at all.

    Parameters
    ----------
    session
        The caller's session (the coordinator's recorder mints the round's points in it too).
    payload
        The entry's payload; it must name ``model`` (str) and ``round`` (int >= 0), and names
        ``model_version`` (str) when the round produced one and ``run`` (the run id) when a
        federation run wrote it.
    signer
        The coordinator key.
    moment
        Entry time (tz-aware); default now.

    Raises
    ------
    PointsError
        ``bad-round`` if the payload lacks the model or the round; nothing is written.

    Examples
    --------
    >>> from consortium.db import create_schema, make_engine, make_session_factory
    >>> from consortium.identity.registry import bootstrap_coordinator
    >>> engine = make_engine("sqlite://"); create_schema(engine)
    >>> coordinator = Signer.generate()
    >>> with make_session_factory(engine).begin() as s:
    ...     _ = bootstrap_coordinator(s, coordinator=coordinator)
    ...     _ = append_round_completed(s, signer=coordinator,
    ...             payload={"model": "eta", "round": 3, "model_version": "ab12"})
    ...     round_of_version(s, model="eta", version="ab12"), latest_rounds(s)
    (3, {'eta': 3})
    """
    values = _index_values(payload)
    if values is None:
        raise PointsError(
            EntryKind.ROUND_COMPLETED, code="bad-round",
            reason="the payload needs the model (str) and the round (int >= 0)",
        )  # fmt: skip
    with session.begin_nested():
        entry = append_entry(
            session, kind=EntryKind.ROUND_COMPLETED, payload=payload, signer=signer,
            moment=moment,
        )  # fmt: skip
        session.execute(insert(_table).values(seq=entry.seq, **values))
    return entry


def round_of_version(session: Session, *, model: str, version: str) -> int | None:
    """Return the round whose ``round-completed`` entry produced ``version`` of ``model``.

    The latest such entry wins; ``None`` if no round produced it (a model trained outside the
    federation).
    """
    found = session.execute(
        select(_rounds.round)
        .where(_rounds.model == model, _rounds.model_version == version)
        .order_by(_rounds.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    return None if found is None else int(found)


def run_round_of_version(session: Session, *, model: str, version: str) -> tuple[str, int] | None:
    """Return the run id and round whose ``round-completed`` entry produced ``version``.

    Like :func:`round_of_version` (the latest such entry wins), with the federation run the
    round belongs to (``""`` for a round recorded before run ids): a paid query's split pays
    the contributors of that run only, so two federations of one model never share a fee.
    """
    found = session.execute(
        select(_rounds.run_id, _rounds.round)
        .where(_rounds.model == model, _rounds.model_version == version)
        .order_by(_rounds.seq.desc())
        .limit(1)
    ).one_or_none()
    return None if found is None else (str(found[0] or ""), int(found[1]))


def latest_rounds(session: Session) -> dict[str, int]:
    """Return, per model, the highest round in a ``round-completed`` entry written so far."""
    rows = session.execute(
        select(_rounds.model, func.max(_rounds.round))
        .group_by(_rounds.model)
        .order_by(_rounds.model)
    )
    return {model: int(number) for model, number in rows}


@dataclass(frozen=True)
class RecordedRounds:
    """Which rounds of one run of one model the ledger holds an entry for."""

    completed: frozenset[int]
    """Rounds with a ``round-completed`` entry (their points were minted with it)."""
    failed: frozenset[int]
    """Rounds with a ``round-failed`` entry."""


def recorded_rounds(session: Session, *, model: str, run_id: str) -> RecordedRounds:
    """Return which rounds of run ``run_id`` of ``model`` are recorded in the ledger.

    Completed rounds come from the round index; failed rounds (few, and not indexed) from the
    ``round-failed`` entries' payloads. A resumed run asks this to record every completed round
    exactly once (:class:`consortium.contributions.recording.LedgerRecorder`).

    Examples
    --------
    >>> from consortium.db import create_schema, make_engine, make_session_factory
    >>> from consortium.identity.registry import bootstrap_coordinator
    >>> engine = make_engine("sqlite://"); create_schema(engine)
    >>> coordinator = Signer.generate()
    >>> with make_session_factory(engine).begin() as s:
    ...     _ = bootstrap_coordinator(s, coordinator=coordinator)
    ...     _ = append_round_completed(s, signer=coordinator,
    ...             payload={"model": "eta", "round": 1, "run": "r-1"})
    ...     sorted(recorded_rounds(s, model="eta", run_id="r-1").completed)
    [1]
    """
    completed = session.execute(
        select(_rounds.round).where(_rounds.model == model, _rounds.run_id == run_id)
    ).scalars()
    failed: set[int] = set()
    texts = session.execute(
        select(_entries.payload).where(_entries.kind == EntryKind.ROUND_FAILED)
    ).scalars()
    for text in texts:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("model") != model:
            continue
        round_ = data.get("round")
        if data.get("run", "") == run_id and isinstance(round_, int):
            failed.add(round_)
    return RecordedRounds(frozenset(int(r) for r in completed), frozenset(failed))


def index_rounds(session: Session) -> int:
    """Index the ``round-completed`` entries that have no round-index row yet; return how many.

    For a database written before the index existed: run it once after ``create_all()``.
    Entries whose payload lacks the model or the round are skipped, as readers always did.
    """
    missing = session.execute(
        select(_entries.seq, _entries.payload)
        .outerjoin(_table, _rounds.seq == _entries.seq)
        .where(_entries.kind == EntryKind.ROUND_COMPLETED, _rounds.seq.is_(None))
        .order_by(_entries.seq)
    )
    rows = []
    for seq, text in missing:
        data = json.loads(text)
        values = _index_values(data) if isinstance(data, dict) else None
        if values is not None:
            rows.append({"seq": seq, **values})
    if rows:
        session.execute(insert(_table), rows)
    logger.info("indexed %d round entries", len(rows))
    return len(rows)
