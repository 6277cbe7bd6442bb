"""Board reads: each member's power at a proposal's snapshot, what it changes, policy history.

And ``GET /v1/keys/{key_id}``: the role of a key and the member holding it, so a client that
holds only its own key learns which member it votes as; ``GET /v1/members`` (the roster),
``GET /v1/rounds`` and ``GET /v1/rounds/epsilon`` (rounds and ε spent, as the ledger records
them): what the coordinator's public view shows, for a member's own dashboard.
"""

from __future__ import annotations

from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Path

from consortium.errors import OperationRefused
from consortium.identity.registry import get_key
from consortium.membership import member_of_key
from consortium.queries.governance import proposal, voting_power_frame
from consortium.queries.members import members_frame
from consortium.queries.policy import policy_history_frame, proposal_changes
from consortium.queries.rounds import epsilon_frame, rounds_frame
from consortium.service.deps import State
from consortium.service.routers.points import records
from consortium.wire.board import (
    ChangeRow,
    ChangesOut,
    EpsilonOut,
    EpsilonRow,
    KeyOut,
    MemberRow,
    MembersOut,
    PolicyHistoryOut,
    PolicyVersionRow,
    PowerOut,
    PowerRow,
    RoundRow,
    RoundsOut,
    Value,
)
from consortium.wire.envelope import API_PREFIX

router = APIRouter(prefix=API_PREFIX, tags=["board"])

KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
Model = Literal["eta", "stock"] | None


def _text(value: object) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _plain(value: object) -> Value:
    """Return a frame cell as a JSON scalar (numpy scalars unwrapped, missing as ``None``)."""
    item = getattr(value, "item", None)
    value = item() if callable(item) else value
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if pd.isna(value) else value
    return str(value)


@router.get("/proposals/{proposal_id}/power", response_model=PowerOut)
def power(state: State, proposal_id: str) -> PowerOut:
    """Return every member's balance and capped power at the proposal's snapshot, and its vote."""
    with state.transaction() as session:
        frame = voting_power_frame(session, proposal_id)
    rows = [PowerRow(member=str(r.member), balance_at_snapshot=int(r.balance_at_snapshot),
                     power=int(r.power), support=str(r.support), vote_power=int(r.vote_power))
            for r in frame.itertuples(index=False)]  # fmt: skip
    return PowerOut(proposal_id=proposal_id, rows=rows)


@router.get("/proposals/{proposal_id}/changes", response_model=ChangesOut)
def changes(state: State, proposal_id: str) -> ChangesOut:
    """Return what the proposal would change if it executed now (``key``, ``now``, ``after``)."""
    with state.transaction() as session:
        view = proposal(session, proposal_id, now=state.clock.now())
        frame = proposal_changes(session, kind=view.kind, params=view.params)
    rows = [ChangeRow(key=str(r.key), now=_plain(r.now), after=_plain(r.after))
            for r in frame.itertuples(index=False)]  # fmt: skip
    return ChangesOut(proposal_id=proposal_id, kind=view.kind, rows=rows)


@router.get("/policy/history", response_model=PolicyHistoryOut)
def history(state: State) -> PolicyHistoryOut:
    """Return every policy version, oldest first, with what it changed."""
    with state.transaction() as session:
        frame = policy_history_frame(session)
    versions = [PolicyVersionRow(version=int(r.version), seq=int(r.seq), time=_text(r.time),
                                 proposal_id=_text(r.proposal_id), changes=str(r.changes))
                for r in frame.itertuples(index=False)]  # fmt: skip
    return PolicyHistoryOut(versions=versions)


@router.get("/keys/{key_id}", response_model=KeyOut)
def key(state: State, key_id: KeyId) -> KeyOut:
    """Return a registered key's role and the member holding it (``unknown-key``: 404)."""
    with state.transaction() as session:
        record = get_key(session, key_id)
        if record is None:
            raise OperationRefused("key_id", code="unknown-key", reason="no such key registered")
        member = member_of_key(session, key_id)
    return KeyOut(key_id=key_id, role=str(record.role), revoked=record.revoked_seq is not None,
                  member=None if member is None else member.member,
                  member_status=None if member is None else str(member.status))  # fmt: skip


@router.get("/members", response_model=MembersOut)
def members(state: State) -> MembersOut:
    """Return every member ever admitted, in admission order, with its points."""
    with state.transaction() as session:
        frame = members_frame(session)
    return MembersOut(rows=[MemberRow.model_validate(r) for r in records(frame)])


@router.get("/rounds", response_model=RoundsOut)
def rounds(state: State, model: Model = None) -> RoundsOut:
    """Return the round entries in ledger order (of one model, or all)."""
    with state.transaction() as session:
        frame = rounds_frame(session, model=model)
    return RoundsOut(rows=[RoundRow.model_validate(r) for r in records(frame)])


@router.get("/rounds/epsilon", response_model=EpsilonOut)
def epsilon(state: State, model: Model = None) -> EpsilonOut:
    """Return the ε each member had spent after each completed round (of one model, or all)."""
    with state.transaction() as session:
        frame = epsilon_frame(session, model=model)
    return EpsilonOut(rows=[EpsilonRow.model_validate(r) for r in records(frame)])
