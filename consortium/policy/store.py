"""Policy versions persisted: one row per change, the latest is in force; never commits.

Each change is a ``policy-changed`` ledger entry written in the same transaction as its row, signed
by the coordinator key (the governance executor calls :func:`change_policy` when a proposal is
executed). Until the first change the defaults of :class:`ConsortiumPolicy` are in force.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from consortium.db import Base
from consortium.errors import GovernanceError
from consortium.identity.registry import require_role
from consortium.ledger.canonical import canonical_json
from consortium.ledger.keyring import Role
from consortium.ledger.kinds import EntryKind
from consortium.ledger.models import HEAD_ROW_ID, HeadRow
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry
from consortium.policy.model import (
    ConsortiumPolicy,
    change_payload,
    check_proposal_id,
)

logger = logging.getLogger(__name__)


class PolicyVersionRow(Base):
    """One version of the policy: the full parameter set after a change."""

    __tablename__ = "policy_versions"

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"), unique=True)
    parameters: Mapped[str] = mapped_column(Text)
    proposal_id: Mapped[str | None] = mapped_column(String(128))

    def __repr__(self) -> str:
        return f"PolicyVersionRow(version={self.version}, seq={self.seq})"


@dataclass(frozen=True)
class PolicyVersion:
    """A stored policy version: its number, the entry that recorded it, and the parameters."""

    version: int
    seq: int
    proposal_id: str | None
    policy: ConsortiumPolicy


_t = PolicyVersionRow.__table__.c


def _policy_of(parameters: str) -> ConsortiumPolicy:
    return ConsortiumPolicy.from_dict(json.loads(parameters))


def current_version(session: Session) -> int:
    """Return the number of the version in force (0: the defaults)."""
    latest = session.execute(select(_t.version).order_by(_t.version.desc()).limit(1))
    return int(latest.scalar_one_or_none() or 0)


def current_policy(session: Session) -> ConsortiumPolicy:
    """Return the policy in force: the latest version, or the defaults before any change.

    Examples
    --------
    >>> from consortium.db import create_schema, make_engine, make_session_factory
    >>> engine = make_engine("sqlite://"); create_schema(engine)
    >>> with make_session_factory(engine).begin() as s:
    ...     current_policy(s).fees["warehouse"]
    25
    """
    latest = session.execute(
        select(_t.parameters).order_by(_t.version.desc()).limit(1)
    ).scalar_one_or_none()
    return ConsortiumPolicy() if latest is None else _policy_of(latest)


def policy_at(session: Session, *, seq: int) -> ConsortiumPolicy:
    """Return the policy that was in force for ledger entry ``seq`` (changes before it)."""
    row = session.execute(
        select(_t.parameters).where(_t.seq < seq).order_by(_t.version.desc()).limit(1)
    ).scalar_one_or_none()
    return ConsortiumPolicy() if row is None else _policy_of(row)


def policy_history(session: Session) -> list[PolicyVersion]:
    """Every stored version, oldest first."""
    rows = session.execute(
        select(_t.version, _t.seq, _t.proposal_id, _t.parameters).order_by(_t.version)
    )
    return [PolicyVersion(v, s, p, _policy_of(params)) for v, s, p, params in rows]


def change_policy(
    session: Session,
    *,
    changes: Mapping[str, object],
    signer: Signer,
    proposal_id: str | None = None,
    moment: datetime | None = None,
) -> ConsortiumPolicy:
    """Validate and apply a change of the board-set parameters; record ``policy-changed``.

    Parameters
    ----------
    changes
        New values by key (see :class:`ConsortiumPolicy`); ``fees`` merges into the schedule.
    signer
        The coordinator key (the governance executor acts for the board).
    proposal_id
        The executed proposal this change comes from, if any.
    moment
        Entry time (tz-aware); default now.

    Returns
    -------
    ConsortiumPolicy
        The new policy in force.

    Raises
    ------
    GovernanceError
        ``not-allowed`` for a key that is not an active coordinator key; ``no-changes``,
        ``unknown-policy-key``, ``bad-policy-type`` or ``bad-policy-value`` naming the key;
        ``bad-proposal-id``; ``concurrent-change`` if another change took the version number.
        Nothing is written.

    Examples
    --------
    >>> from consortium.db import create_schema, make_engine, make_session_factory
    >>> from consortium.identity.registry import bootstrap_coordinator
    >>> engine = make_engine("sqlite://"); create_schema(engine)
    >>> coordinator = Signer.generate()
    >>> with make_session_factory(engine).begin() as s:
    ...     _ = bootstrap_coordinator(s, coordinator=coordinator)
    ...     new = change_policy(s, changes={"fees": {"lane": 12}}, signer=coordinator,
    ...                         proposal_id="p-7")
    ...     new.fees["lane"], current_version(s)
    (12, 1)
    """
    require_role(session, signer.key_id, Role.COORDINATOR, action="change the policy",
                 error=GovernanceError)  # fmt: skip
    if proposal_id is not None:
        check_proposal_id(proposal_id)
    # Queue behind other ledger writers before reading the version in force (PostgreSQL; SQLite
    # writers are serialised by BEGIN IMMEDIATE), so the change never builds on a stale base.
    session.execute(select(HeadRow.id).where(HeadRow.id == HEAD_ROW_ID).with_for_update())
    new = current_policy(session).with_changes(changes)
    version = current_version(session) + 1
    payload = change_payload(version=version, changes=changes, new=new, proposal_id=proposal_id)
    try:
        with session.begin_nested():
            entry = append_entry(
                session, kind=EntryKind.POLICY_CHANGED, payload=payload, signer=signer,
                moment=moment,
            )  # fmt: skip
            session.execute(
                insert(PolicyVersionRow).values(
                    version=version, seq=entry.seq, proposal_id=proposal_id,
                    parameters=canonical_json(new.to_dict()).decode("utf-8"),
                )
            )  # fmt: skip
    except IntegrityError as exc:
        raise GovernanceError(
            "policy", code="concurrent-change",
            reason=f"version {version} was written by another transaction; retry",
        ) from exc  # fmt: skip
    logger.info(
        "policy version %d at entry %d changes %s", version, entry.seq, ", ".join(sorted(changes))
    )
    return new
