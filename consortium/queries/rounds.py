"""Federated rounds as the ledger records them: ``round-completed`` and ``round-failed`` entries.

``round-completed`` carries {model, round, model_version, status, members, participants:
[{member, examples, epsilon_spent, sat_out}], failures} (the recorder of
:mod:`consortium.contributions.recording`; member ids are not snake_case payload keys, hence
one object per member). The earlier shape with ``examples: {member: n}``, ``epsilon_spent: {member:
ε}`` and ``sat_out: [ids]`` is read too. ``round-failed`` carries {model, round, code}. The ε of a
member is its accountant's total so far (it never decreases from round to round); a non-finite ε
is recorded as ``-1.0`` and shown here as missing (NaN).

Examples
--------
>>> # with factory.begin() as session:
>>> #     rounds_frame(session, model="eta")            # one row per round entry
>>> #     epsilon_frame(session, model="eta")           # model, round, member, epsilon_spent
>>> #     contributions_frame(session)                  # per member and round: examples, points
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from consortium.ledger.kinds import ROUND_KINDS, EntryKind
from consortium.ledger.models import EntryRow

_entries = EntryRow.__table__.c

ROUND_COLUMNS = [
    "seq", "time", "model", "round", "status", "model_version", "members", "examples",
    "failures", "sat_out", "code", "rule",
]  # fmt: skip


def _round_entries(
    session: Session, model: str | None
) -> list[tuple[int, str, str, dict[str, Any]]]:
    rows = session.execute(
        select(_entries.seq, _entries.time, _entries.kind, _entries.payload)
        .where(_entries.kind.in_(ROUND_KINDS))
        .order_by(_entries.seq)
    )
    found = []
    for seq, time, kind, payload in rows:
        data = json.loads(payload)
        if model is None or data.get("model") == model:
            found.append((seq, time, kind, data))
    return found


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class Participant:
    """One member's part in a completed round, as its ledger entry records it."""

    member: str
    examples: int
    epsilon_spent: float
    sat_out: bool
    quality: int | None = field(default=None, repr=False)
    """Its leave-one-out quality score, in a scored round (``None`` otherwise)."""


def participants(payload: Mapping[str, Any]) -> list[Participant]:
    """Return the members of a ``round-completed`` payload, in either recorded shape.

    Examples
    --------
    >>> participants({"participants": [{"member": "alpha", "examples": 40,
    ...     "epsilon_spent": 1.5, "sat_out": False}]})
    [Participant(member='alpha', examples=40, epsilon_spent=1.5, sat_out=False)]
    >>> participants({"examples": {"alpha": 40}, "epsilon_spent": {"alpha": 1.5, "beta": 0.5},
    ...     "sat_out": ["beta"]})[1]
    Participant(member='beta', examples=0, epsilon_spent=0.5, sat_out=True)
    """
    listed = payload.get("participants")
    if isinstance(listed, list):
        return [
            Participant(str(p.get("member")), int(p.get("examples") or 0),
                        _epsilon(p.get("epsilon_spent")), bool(p.get("sat_out")),
                        p["quality"] if isinstance(p.get("quality"), int) else None)
            for p in listed
            if isinstance(p, Mapping)
        ]  # fmt: skip
    examples = _mapping(payload.get("examples"))
    epsilon = _mapping(payload.get("epsilon_spent"))
    sat_out = {str(m) for m in payload.get("sat_out") or ()}
    return [
        Participant(str(m), int(examples.get(m) or 0), _epsilon(epsilon.get(m)), str(m) in sat_out)
        for m in sorted(set(examples) | set(epsilon))
    ]


def rounds_frame(session: Session, *, model: str | None = None) -> pd.DataFrame:
    """One row per round entry in ledger order (all models, or one).

    Columns: ``seq``, ``time``, ``model``, ``round``, ``status`` (``ok``/``degraded`` or
    ``failed``), ``model_version`` (first 12 hex digits), ``members`` (how many were in the
    aggregate), ``examples`` (their total), ``failures``, ``sat_out`` (comma-separated ids),
    ``code`` (why a round failed) and ``rule`` (the contribution rule that paid the round, e.g.
    ``leave-one-out``, with ``(scores inconsistent)`` when its scores were refused; empty for
    entries written before the rule was recorded).
    """
    records = []
    for seq, time, kind, data in _round_entries(session, model):
        failed = kind == EntryKind.ROUND_FAILED
        members = participants(data)
        trained = [p for p in members if not p.sat_out]
        listed = data.get("members")
        failures = data.get("failures", 0)
        sat_out = [p.member for p in members if p.sat_out]
        sat_out += [str(m) for m in data.get("sat_out") or () if str(m) not in sat_out]
        records.append(
            (seq, time, data.get("model"), data.get("round"),
             "failed" if failed else str(data.get("status", "ok")),
             str(data.get("model_version") or "")[:12],
             len(listed) if isinstance(listed, list) else len(trained),
             sum(p.examples for p in trained),
             len(failures) if isinstance(failures, list) else int(failures or 0),
             ", ".join(sat_out), data.get("code"), _rule(data))
        )  # fmt: skip
    frame = pd.DataFrame(records, columns=ROUND_COLUMNS)
    return frame.astype({"seq": "int64", "round": "Int64", "members": "int64",
                         "examples": "int64", "failures": "int64"})  # fmt: skip


def _rule(data: Mapping[str, Any]) -> str:
    rule = str(data.get("contribution_rule") or "")
    scoring = data.get("scoring")
    return f"{rule} (scores {scoring})" if rule and scoring not in (None, "ok") else rule


def _epsilon(value: object) -> float:
    number = float(value) if isinstance(value, int | float) else math.nan
    return number if math.isfinite(number) and number >= 0 else math.nan


def epsilon_frame(session: Session, *, model: str | None = None) -> pd.DataFrame:
    """ε spent by each member after each completed round (long form, for a line chart).

    Columns: ``model``, ``round``, ``member`` and ``epsilon_spent`` (float; NaN where the
    accountant reported a non-finite value).
    """
    records = [
        (data.get("model"), data.get("round"), p.member, p.epsilon_spent)
        for _, _, kind, data in _round_entries(session, model)
        if kind == EntryKind.ROUND_COMPLETED
        for p in participants(data)
    ]
    frame = pd.DataFrame(records, columns=["model", "round", "member", "epsilon_spent"])
    return frame.astype({"round": "int64", "epsilon_spent": "float64"})


def examples_frame(session: Session, *, model: str | None = None) -> pd.DataFrame:
    """Return the examples each member trained on in each completed round (long form).

    Columns: ``model``, ``round``, ``member`` and ``examples``: the basis of its contribution
    points under the default rule.
    """
    records = [
        (data.get("model"), data.get("round"), p.member, p.examples)
        for _, _, kind, data in _round_entries(session, model)
        if kind == EntryKind.ROUND_COMPLETED
        for p in participants(data)
        if not p.sat_out
    ]
    frame = pd.DataFrame(records, columns=["model", "round", "member", "examples"])
    return frame.astype({"round": "int64", "examples": "int64"})


CONTRIBUTION_COLUMNS = ["model", "round", "rule", "member", "examples", "quality", "points"]


def contributions_frame(session: Session, *, model: str | None = None) -> pd.DataFrame:
    """Return what each member contributed in each completed round and the points it earned.

    Columns: ``model``, ``round``, ``rule`` (as in :func:`rounds_frame`), ``member``,
    ``examples``, ``quality`` (the integer leave-one-out score, parts per million of the round's
    positive gains; missing when the round was not scored) and ``points`` (minted for it: the
    ``points-minted`` contribution entries whose refs name the model and round).
    """
    minted: dict[tuple[object, object, str], int] = {}
    rows = session.execute(
        select(_entries.payload)
        .where(_entries.kind == EntryKind.POINTS_MINTED)
        .order_by(_entries.seq)
    ).scalars()
    for payload in rows:
        data = json.loads(payload)
        refs = _mapping(data.get("refs"))
        account = str(data.get("account", ""))
        if data.get("reason") == "contribution" and account.startswith("member:"):
            key = (refs.get("model"), refs.get("round"), account.removeprefix("member:"))
            minted[key] = minted.get(key, 0) + int(data.get("amount") or 0)
    records = []
    for _, _, kind, data in _round_entries(session, model):
        if kind != EntryKind.ROUND_COMPLETED:
            continue
        for p in participants(data):
            records.append(
                (data.get("model"), data.get("round"), _rule(data), p.member, p.examples,
                 p.quality, minted.get((data.get("model"), data.get("round"), p.member), 0))
            )  # fmt: skip
    frame = pd.DataFrame(records, columns=CONTRIBUTION_COLUMNS)
    return frame.astype({"round": "int64", "examples": "int64", "quality": "Int64",
                         "points": "int64"})  # fmt: skip
