"""Governance: the policy in force, proposals and tallies; propose, vote, queue and execute.

A proposal and a vote are requests the member signed on its own machine; the coordinator
countersigns them. Queueing and executing may be triggered by anyone: they act on the
coordinator's clock alone and are signed with its key.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from consortium.errors import GovernanceError
from consortium.governance.execution import execute_proposal
from consortium.governance.params import sha256_text
from consortium.governance.store import cast_vote, create_proposal, queue_proposal
from consortium.ledger.requests import RequestRejected, SignedRequest
from consortium.ledger.store import ledger_size
from consortium.queries.governance import ProposalView, proposal, proposals
from consortium.queries.policy import policy_in_force
from consortium.service.deps import KnownSize, State, countersign, signed_request
from consortium.service.receipts import receipt
from consortium.service.roster import ROSTER_KINDS, follow_roster
from consortium.service.state import ServiceState
from consortium.wire.envelope import API_PREFIX
from consortium.wire.governance import (
    PolicyOut,
    ProposalOut,
    ProposalsOut,
    ProposalWritten,
    ProposeIn,
    VoteIn,
)

router = APIRouter(prefix=API_PREFIX, tags=["governance"])

Propose = Annotated[SignedRequest, Depends(signed_request("propose"))]
Vote = Annotated[SignedRequest, Depends(signed_request("vote"))]
SHA = "_sha256"


def _plain(view: ProposalView) -> dict[str, Any]:
    """Return a proposal view as JSON-ready fields (its params a plain dict)."""
    data = {f.name: getattr(view, f.name) for f in dataclasses.fields(view)}
    data["params"] = json.loads(json.dumps(dict(view.params)))
    return data


def _view(session: Session, state: ServiceState, proposal_id: str) -> dict[str, Any]:
    return _plain(proposal(session, proposal_id, now=state.clock.now()))


def _text(request: SignedRequest, name: str, text: str | None) -> str | None:
    """Return ``text`` if the body's ``<name>_sha256`` is its hash (both absent is fine)."""
    expected = request.body.get(name + SHA)
    if expected is None and text in (None, ""):
        return text
    if text is None or expected != sha256_text(text):
        raise RequestRejected(request.subject, code="body-mismatch",
                              reason=f"{name} does not match the signed {name}{SHA}")  # fmt: skip
    return text


def raw_params(
    request: SignedRequest, texts: Mapping[str, str]
) -> tuple[str, dict[str, Any], bytes | None]:
    """Return the kind, the params as the store takes them, and an admitted member's key.

    The body's params are the ledger form: free text ``<name>_sha256`` is restored from
    ``texts`` (checked against the hash); ``public_key`` (hex) is passed on as bytes.
    """
    kind, params = request.body.get("kind"), request.body.get("params")
    if not isinstance(kind, str) or not isinstance(params, Mapping):
        raise RequestRejected(request.subject, code="malformed",
                              reason="body needs kind (text) and params (object)")  # fmt: skip
    raw: dict[str, Any] = {}
    public_key = None
    for key, value in params.items():
        if key == "public_key" and isinstance(value, str):
            try:
                public_key = bytes.fromhex(value)
            except ValueError as exc:
                raise GovernanceError("params.public_key", code="bad-public-key",
                                      reason="not hex") from exc  # fmt: skip
        elif key.endswith(SHA):
            name = key[: -len(SHA)]
            if texts.get(name) is None or sha256_text(texts[name]) != value:
                raise RequestRejected(
                    request.subject, code="body-mismatch",
                    reason=f"texts.{name} does not match params.{key}",
                )  # fmt: skip
            raw[name] = texts[name]
        else:
            raw[key] = value
    return kind, raw, public_key


@router.get("/policy", response_model=PolicyOut)
def policy(state: State) -> PolicyOut:
    """Return the policy in force and its version."""
    with state.transaction() as session:
        current = policy_in_force(session)
    return PolicyOut(policy=current.policy.to_dict(), version=current.version)


@router.get("/proposals", response_model=ProposalsOut)
def list_all(state: State) -> ProposalsOut:
    """List every proposal with its tally and state on the coordinator's clock, newest first."""
    with state.transaction() as session:
        views = proposals(session, now=state.clock.now())
    return ProposalsOut(proposals=[_plain(view) for view in views])


@router.get("/proposals/{proposal_id}", response_model=ProposalOut)
def get_one(state: State, proposal_id: str) -> ProposalOut:
    """Return one proposal with its tally."""
    with state.transaction() as session:
        return ProposalOut(proposal=_view(session, state, proposal_id))


@router.post("/proposals", response_model=ProposalWritten)
def propose(
    state: State, request: Propose, data: ProposeIn, known_size: KnownSize = None
) -> ProposalWritten:
    """Open a proposal a member signed (``proposal-created``, countersigned)."""
    _text(request, "title", data.title)
    description = _text(request, "description", data.description) or ""
    kind, params, public_key = raw_params(request, data.texts)
    with state.transaction() as session:
        actor = countersign(session, state, request)
        record = create_proposal(
            session, kind=kind, params=params, title=data.title, description=description,
            signer=actor, public_key=public_key, clock=state.clock,
        )  # fmt: skip
        written = receipt(session, state, record.created_seq, known_size=known_size)
        return ProposalWritten(proposal=_view(session, state, record.proposal_id),
                               receipt=written)  # fmt: skip


@router.post("/proposals/{proposal_id}/votes", response_model=ProposalWritten)
def vote(
    state: State, proposal_id: str, request: Vote, data: VoteIn, known_size: KnownSize = None
) -> ProposalWritten:
    """Cast a vote a member signed (``vote-cast``, countersigned)."""
    if request.body.get("proposal_id") != proposal_id:
        raise RequestRejected(
            request.subject, code="body-mismatch",
            reason="the signed proposal_id is not the one in the path",
        )  # fmt: skip
    comment = _text(request, "comment", data.comment)
    with state.transaction() as session:
        actor = countersign(session, state, request)
        cast = cast_vote(session, proposal_id=proposal_id, support=str(request.body.get("support")),
                         signer=actor, comment=comment, clock=state.clock)  # fmt: skip
        written = receipt(session, state, cast.seq, known_size=known_size)
        return ProposalWritten(proposal=_view(session, state, proposal_id), receipt=written)


@router.post("/proposals/{proposal_id}/queue", response_model=ProposalWritten)
def queue(state: State, proposal_id: str, known_size: KnownSize = None) -> ProposalWritten:
    """Queue a succeeded proposal (anyone may trigger; the coordinator's clock decides)."""
    with state.transaction() as session:
        queue_proposal(session, proposal_id=proposal_id, signer=state.coordinator,
                       clock=state.clock)  # fmt: skip
        written = receipt(session, state, ledger_size(session) - 1, known_size=known_size)
        return ProposalWritten(proposal=_view(session, state, proposal_id), receipt=written)


@router.post("/proposals/{proposal_id}/execute", response_model=ProposalWritten)
def execute(state: State, proposal_id: str, known_size: KnownSize = None) -> ProposalWritten:
    """Execute a queued proposal whose timelock passed (anyone may trigger)."""
    with state.transaction() as session:
        record = execute_proposal(session, proposal_id=proposal_id, signer=state.coordinator,
                                  clock=state.clock)  # fmt: skip
        written = receipt(session, state, ledger_size(session) - 1, known_size=known_size)
        out = ProposalWritten(proposal=_view(session, state, proposal_id), receipt=written)
    if record.kind in ROSTER_KINDS:  # committed: the SuperLink's keys follow the roster
        follow_roster(state)
    return out
