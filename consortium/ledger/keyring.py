"""Roles and the key lifecycle as recorded in the ledger (``key-registered``, ``key-revoked``).

The registry of keys is itself a sequence of ledger entries, so a verifier rebuilds it from the
log alone: an entry is valid only if its actor was registered by an earlier entry and not
revoked before it. The one exception is entry 0, the coordinator registering its own key.
The role that *authorised* the entry, as the ledger registered it, must be one that may write the
entry's kind (:data:`~consortium.ledger.kinds.WRITERS`): the entry's signer, or, when the
coordinator countersigns a request the actor signed on its own machine, the request's signer
(:mod:`consortium.ledger.requests`), whose signature, action, bound fields and unused nonce are
checked here too. A company's ``join`` request authorises its own ``admit-member`` proposal
before its key is registered (the *applicant*, :mod:`consortium.ledger.admission`): its key must
not be registered yet, and the request must be for exactly the member and key the entry admits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from consortium.errors import VerificationError
from consortium.ledger.admission import JOIN_ACTION
from consortium.ledger.entry import Entry
from consortium.ledger.kinds import APPLICANT, EntryKind, may_write
from consortium.ledger.requests import SignedRequest, binding_problem, embedded_request
from consortium.ledger.signing import is_valid_signature, key_id_for


class Role(StrEnum):
    """What a key may act as."""

    MEMBER = "member"
    CARGO_OWNER = "cargo-owner"
    BOARD = "board"
    TREASURER = "treasurer"
    COORDINATOR = "coordinator"


@dataclass(frozen=True)
class KeyState:
    """A registered key: its role and the ledger positions that registered and revoked it."""

    key_id: str
    public_key: bytes
    role: Role
    registered_seq: int
    revoked_seq: int | None = None

    def active_at(self, seq: int) -> bool:
        """Whether an entry at ``seq`` may be signed by this key."""
        genesis = self.registered_seq == seq == 0
        after = genesis or self.registered_seq < seq
        return after and (self.revoked_seq is None or seq <= self.revoked_seq)


def registration_payload(*, public_key: bytes, role: Role) -> dict[str, object]:
    """Return the payload of a ``key-registered`` entry."""
    return {"key_id": key_id_for(public_key), "public_key": public_key.hex(), "role": str(role)}


class Keyring:
    """Replays key entries in ledger order.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from consortium.ledger.entry import sign_entry
    >>> from consortium.ledger.signing import Signer
    >>> c = Signer.generate()
    >>> payload = registration_payload(public_key=c.public_key, role=Role.COORDINATOR)
    >>> e = sign_entry(seq=0, moment=datetime(2026, 1, 1, tzinfo=UTC),
    ...                kind=EntryKind.KEY_REGISTERED, payload=payload, signer=c)
    >>> ring = Keyring()
    >>> ring.apply(e) == c.public_key
    True
    """

    def __init__(self) -> None:
        self.keys: dict[str, KeyState] = {}
        self.nonces: set[str] = set()

    def apply(self, entry: Entry) -> bytes:
        """Check the entry's actor, apply any key change, return the actor's public key.

        Raises
        ------
        VerificationError
            If the actor is unknown, revoked or registered later, or a key payload is malformed.
        """
        if entry.kind == EntryKind.KEY_REGISTERED:
            state = self._registered(entry)
            if entry.seq == 0 and state.key_id == entry.actor:
                if state.role is not Role.COORDINATOR:
                    raise VerificationError("genesis key is not a coordinator key", index=0)
                self.keys[state.key_id] = state
                return state.public_key
            actor = self._actor(entry)
            if state.key_id in self.keys:
                raise VerificationError(
                    f"key {state.key_id[:16]}... registered twice", index=entry.seq
                )
            self.keys[state.key_id] = state
            return actor
        actor = self._actor(entry)
        if entry.kind == EntryKind.KEY_REVOKED:
            key_id = entry.payload_object().get("key_id")
            old = self.keys.get(key_id) if isinstance(key_id, str) else None
            if old is None or old.revoked_seq is not None:
                raise VerificationError(
                    f"revokes unknown or revoked key {key_id!r}", index=entry.seq
                )
            self.keys[old.key_id] = KeyState(
                old.key_id, old.public_key, old.role, old.registered_seq, entry.seq
            )
        return actor

    def _active(self, key_id: str, seq: int) -> KeyState:
        state = self.keys.get(key_id)
        if state is None:
            raise VerificationError(f"actor {key_id[:16]}... is not registered", index=seq)
        if not state.active_at(seq):
            raise VerificationError(f"actor {key_id[:16]}... was revoked", index=seq)
        return state

    def _actor(self, entry: Entry) -> bytes:
        state = self._active(entry.actor, entry.seq)
        request = embedded_request(entry.kind, entry.payload) if entry.seq else None
        if request is not None:
            if state.role is not Role.COORDINATOR:
                raise VerificationError(
                    f"only the coordinator countersigns requests (actor {entry.actor[:16]}...)",
                    index=entry.seq,
                )
            self._check_request(entry, request)
            return state.public_key
        if not may_write(state.role, entry.kind):
            raise VerificationError(
                f"a {state.role} key may not sign a {entry.kind} entry "
                f"(actor {entry.actor[:16]}...)",
                index=entry.seq,
            )
        return state.public_key

    def _check_request(self, entry: Entry, request: SignedRequest) -> None:
        """Check a countersigned entry's request: authoriser, signature, binding, nonce."""
        if request.action == JOIN_ACTION:
            self._check_applicant(entry, request)
        else:
            author = self._active(request.actor_key_id, entry.seq)
            if not may_write(author.role, entry.kind):
                raise VerificationError(
                    f"a {author.role} key may not authorise a {entry.kind} entry "
                    f"(request by {request.actor_key_id[:16]}...)",
                    index=entry.seq,
                )
            if not is_valid_signature(
                author.public_key, request.signature, request.signing_bytes()
            ):
                raise VerificationError(
                    f"the {entry.kind} entry's request does not verify under the key of "
                    f"{request.actor_key_id[:16]}... (not signed by its actor)",
                    index=entry.seq,
                )
        problem = binding_problem(entry.kind, entry.payload_object(), request)
        if problem is not None:
            raise VerificationError(f"countersigned request: {problem[1]}", index=entry.seq)
        if request.nonce in self.nonces:
            raise VerificationError(
                f"request nonce {request.nonce[:16]}... used twice (a replayed request)",
                index=entry.seq,
            )
        self.nonces.add(request.nonce)

    def _check_applicant(self, entry: Entry, request: SignedRequest) -> None:
        """Check that a join request authorises its own admission only, by an unregistered key."""
        if not may_write(APPLICANT, entry.kind):
            raise VerificationError(
                f"a join request may not authorise a {entry.kind} entry", index=entry.seq
            )
        if request.actor_key_id in self.keys:
            raise VerificationError(
                f"the join request's key {request.actor_key_id[:16]}... is already registered "
                "(an applicant's key is not)",
                index=entry.seq,
            )

    @staticmethod
    def _registered(entry: Entry) -> KeyState:
        try:
            data = json.loads(entry.payload)
            public_key = bytes.fromhex(data["public_key"])
            role = Role(data["role"])
            key_id = data["key_id"]
        except (ValueError, KeyError, TypeError) as exc:
            raise VerificationError(f"malformed key registration: {exc}", index=entry.seq) from exc
        if key_id_for(public_key) != key_id:
            raise VerificationError("registered key id is not the hash of its key", index=entry.seq)
        return KeyState(key_id, public_key, role, entry.seq)

    def coordinator_key(self, key_id: str) -> bytes:
        """Return the public key of a coordinator key, or raise :class:`VerificationError`."""
        state = self.keys.get(key_id)
        if state is None or state.role is not Role.COORDINATOR:
            raise VerificationError(f"tree head signer {key_id[:16]}... is not a coordinator key")
        return state.public_key
