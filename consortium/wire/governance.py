"""Governance calls: proposals, votes, queue and execute, and the policy in force."""

from __future__ import annotations

from typing import Any

from consortium.wire.envelope import Receipt, SignedRequestModel, WireModel


class ProposeIn(WireModel):
    """A proposal: the signed ``propose`` request and the free text its body hashes.

    The body is ``{"kind", "params", "title_sha256", "description_sha256"}``; ``params`` are
    the ledger form (free text as ``<name>_sha256``, whose text goes in ``texts``).
    """

    request: SignedRequestModel
    title: str
    description: str = ""
    texts: dict[str, str] = {}


class VoteIn(WireModel):
    """A vote: the signed ``vote`` request ``{"proposal_id", "support", "comment_sha256"?}``."""

    request: SignedRequestModel
    comment: str | None = None


class ProposalOut(WireModel):
    """A proposal as :class:`consortium.queries.governance.ProposalView` shows it."""

    proposal: dict[str, Any]


class ProposalsOut(WireModel):
    """Every proposal, newest first."""

    proposals: list[dict[str, Any]]


class ProposalWritten(WireModel):
    """A write about a proposal: its state after the write and the entry's receipt."""

    proposal: dict[str, Any]
    receipt: Receipt


class PolicyOut(WireModel):
    """The policy in force (every parameter) and the ledger position that set it."""

    policy: dict[str, Any]
    version: int
