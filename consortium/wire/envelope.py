"""What every call shares: the signed request, the error body and the write receipt."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

API_PREFIX = "/v1"
"""Every route of the coordinator service is under this prefix."""


class WireModel(BaseModel):
    """Frozen; unknown fields refused (a typo is an error, not silently dropped)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SignedRequestModel(WireModel):
    """A request signed on the actor's machine (:class:`consortium.ledger.requests.SignedRequest`).

    The signature (hex) covers the RFC 8785 bytes of the other five fields.
    """

    action: str
    actor_key_id: str
    issued_at: str
    nonce: str
    body: dict[str, Any]
    signature: str


class ErrorDetail(WireModel):
    """A refusal: a stable machine-readable ``code`` and a message for people (never a trace)."""

    code: str
    message: str


class ErrorBody(WireModel):
    """The body of every non-2xx response: ``{"error": {"code", "message"}}``."""

    error: ErrorDetail


class EntryModel(WireModel):
    """A ledger entry as :meth:`consortium.ledger.entry.Entry.to_json` writes it."""

    seq: int
    time: str
    kind: str
    payload: str
    actor: str
    signature: str


class Receipt(WireModel):
    """What a write returns: the entry, a signed tree head covering it, and the inclusion proof.

    The client checks the head's signature against the pinned coordinator key and the proof
    against the head's root (:func:`consortium.ledger.proof.verify_inclusion`).
    """

    entry: EntryModel
    head: str = Field(description="The signed tree head (checkpoint text) the proof is against.")
    proof: list[str] = Field(description="The audit path, hex hashes, leaf to root.")
    known_size: int = Field(default=0, description="The head size the client said it holds.")
    consistency: list[str] = Field(
        default_factory=list,
        description="Proof that the head extends the client's known head (saves a round trip).",
    )
