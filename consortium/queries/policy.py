"""The board-set policy in force and how it came to be (one row per ``policy-changed`` entry).

Examples
--------
>>> from consortium.db import create_schema, make_engine, make_session_factory
>>> from consortium.identity.registry import bootstrap_coordinator
>>> from consortium.ledger.signing import Signer
>>> from consortium.policy.store import change_policy
>>> engine = make_engine("sqlite://"); create_schema(engine)
>>> coordinator = Signer.generate()
>>> with make_session_factory(engine).begin() as s:
...     _ = bootstrap_coordinator(s, coordinator=coordinator)
...     _ = change_policy(s, changes={"fees": {"lane": 12}}, signer=coordinator)
...     in_force, history = policy_in_force(s), policy_history_frame(s)
>>> in_force.version, history["changes"].tolist()
(1, ['fees.lane: 10 -> 12'])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortium.errors import GovernanceError
from consortium.governance.params import policy_changes
from consortium.governance.rules import POLICY_KINDS, ProposalKind
from consortium.ledger.models import EntryRow
from consortium.policy.model import ConsortiumPolicy
from consortium.policy.store import current_policy, policy_history


@dataclass(frozen=True)
class PolicyInForce:
    """The policy in force: its version (0: the defaults), the entry and proposal behind it."""

    version: int
    seq: int | None
    time: str | None
    proposal_id: str | None
    policy: ConsortiumPolicy


def flatten_policy(policy: ConsortiumPolicy) -> dict[str, object]:
    """Return the parameters as one flat mapping; fees become ``fees.lane``, ``fees.warehouse``.

    Examples
    --------
    >>> flatten_policy(ConsortiumPolicy())["fees.warehouse"]
    25
    """
    flat: dict[str, object] = {}
    for key, value in policy.to_dict().items():
        if isinstance(value, Mapping):
            for sub, item in value.items():
                flat[f"{key}.{sub}"] = item
        else:
            flat[key] = value
    return flat


def policy_parameters(policy: ConsortiumPolicy) -> pd.DataFrame:
    """Return the parameters as a table: ``parameter`` and ``value`` (as text: the types differ)."""
    return pd.DataFrame(
        [(key, str(value)) for key, value in flatten_policy(policy).items()],
        columns=["parameter", "value"],
    )


def _times(session: Session, seqs: list[int]) -> dict[int, str]:
    if not seqs:
        return {}
    rows = session.execute(select(EntryRow.seq, EntryRow.time).where(EntryRow.seq.in_(seqs)))
    return {int(seq): str(time) for seq, time in rows}


def policy_in_force(session: Session) -> PolicyInForce:
    """Return the policy in force with its version and the ledger entry that set it."""
    history = policy_history(session)
    if not history:
        return PolicyInForce(0, None, None, None, current_policy(session))
    latest = history[-1]
    return PolicyInForce(
        version=latest.version,
        seq=latest.seq,
        time=_times(session, [latest.seq]).get(latest.seq),
        proposal_id=latest.proposal_id,
        policy=latest.policy,
    )


def _changes(before: ConsortiumPolicy, after: ConsortiumPolicy) -> str:
    old, new = flatten_policy(before), flatten_policy(after)
    return "; ".join(
        f"{key}: {old.get(key)} -> {value}" for key, value in new.items() if old.get(key) != value
    )


def policy_history_frame(session: Session) -> pd.DataFrame:
    """Every policy version, oldest first, with what it changed from the one before.

    Columns: ``version``, ``seq`` (the ``policy-changed`` entry), ``time``, ``proposal_id`` and
    ``changes`` (``key: old -> new`` pairs; version 1 is compared with the defaults).
    """
    history = policy_history(session)
    times = _times(session, [v.seq for v in history])
    rows = []
    previous = ConsortiumPolicy()
    for version in history:
        rows.append(
            (version.version, version.seq, times.get(version.seq), version.proposal_id,
             _changes(previous, version.policy))
        )  # fmt: skip
        previous = version.policy
    return pd.DataFrame(rows, columns=["version", "seq", "time", "proposal_id", "changes"])


def proposal_changes(session: Session, *, kind: str, params: Mapping[str, object]) -> pd.DataFrame:
    """Return what a proposal would change if executed now: ``key``, ``now`` and ``after``.

    A policy proposal lists each parameter it changes (``fees`` as ``fees.lane`` ...) with its
    value in force and the value after; any other proposal lists its parameters (``now`` empty).
    A change the policy would refuse is shown with the reason in ``after``.

    Examples
    --------
    >>> # with factory.begin() as session:
    >>> #     proposal_changes(session, kind="fees",
    >>> #                      params={"lane_query_points": 12, "warehouse_query_points": 25})
    >>> #     -> key fees.lane, now 10, after 12
    """
    if kind not in POLICY_KINDS:
        rows: list[tuple[str, object, object]] = [
            (str(key), None, value) for key, value in params.items()
        ]
        return pd.DataFrame(rows, columns=["key", "now", "after"])
    current = current_policy(session)
    before = flatten_policy(current)
    try:
        after = flatten_policy(current.with_changes(policy_changes(ProposalKind(kind), params)))
    except GovernanceError as exc:
        return pd.DataFrame([(exc.subject, None, f"refused: {exc.reason}")],
                            columns=["key", "now", "after"])  # fmt: skip
    rows = [(key, before.get(key), value) for key, value in after.items()
            if before.get(key) != value]  # fmt: skip
    return pd.DataFrame(rows, columns=["key", "now", "after"])
