"""Signed requests: what an actor signs on its own machine, and the coordinator countersigns.

A ledger entry's signature covers its seq and time, which only the coordinator knows, so a
member or cargo owner on another machine cannot sign an entry. It signs a **request** instead
(as Rekor and Certificate Transparency clients do): the RFC 8785 bytes of

    {"action", "actor_key_id", "issued_at", "nonce", "body"}

with its Ed25519 key. The coordinator checks the signature, the issuance time
(:func:`check_window`), that the nonce was never seen, and the actor's role; then it writes the
entry signed with its own key, with the signed request embedded in the payload under
:data:`REQUEST_FIELD`. The role table :data:`~consortium.ledger.kinds.WRITERS` names the role that
must have *authorised* an entry: its own signer when it signs directly (the in-process path),
the embedded request's signer when the coordinator countersigns (:func:`authoriser`).

One request authorises an entry without a registered key: a company's ``join`` request
(:data:`JOIN_ACTION`) opens the ``admit-member`` proposal for itself. Its signer is the
*applicant* (:data:`~consortium.ledger.kinds.APPLICANT`): the key being admitted, proven by its
signature over the join body that carries it (:mod:`consortium.ledger.admission`).

The body holds ids, numbers, hashes and enums only (it lands in the ledger, under the payload
policy); free text travels beside it and the body carries its SHA-256. :data:`BINDINGS` names the
payload fields that must equal the body's, so a verifier with the export alone can check that the
entry says what the actor signed.

Examples
--------
>>> from datetime import UTC, datetime
>>> member = Signer.generate()
>>> request = sign_request(action="vote", body={"proposal_id": "p-1", "support": "for"},
...                        signer=member, now=datetime(2026, 3, 1, tzinfo=UTC), nonce="ab" * 16)
>>> request.verify(member.public_key)
>>> SignedRequest.from_json(request.to_json()) == request
True
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from consortium.errors import OperationRefused, VerificationError
from consortium.ledger.admission import JOIN_ACTION, admission_problem
from consortium.ledger.canonical import (
    KEY_ID_RE,
    EncodingError,
    canonical_json,
    format_time,
    parse_time,
)
from consortium.ledger.kinds import EntryKind
from consortium.ledger.signing import SIGNATURE_BYTES, Signer, is_valid_signature

__all__ = [
    "BINDINGS",
    "JOIN_ACTION",
    "KIND_ACTIONS",
    "MAX_AGE",
    "MAX_CLOCK_SKEW",
    "REQUEST_FIELD",
    "Actor",
    "Countersigned",
    "RequestRejected",
    "SignedRequest",
    "authoriser",
    "binding_problem",
    "check_window",
    "embedded_request",
    "new_nonce",
    "payload_with_request",
    "sign_request",
]

REQUEST_FIELD = "request"
"""The payload field a countersigned entry carries its signed request under."""
MAX_AGE = timedelta(minutes=5)
"""A request issued longer ago than this is refused (``expired``)."""
MAX_CLOCK_SKEW = timedelta(minutes=2)
"""A request issued further in the future than this is refused (``issued-in-future``)."""
_ACTION_RE = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
_NONCE_RE = re.compile(r"^[0-9a-f]{32,64}$")

KIND_ACTIONS: dict[str, str] = {
    EntryKind.VOTE_CAST: "vote",
    EntryKind.PROPOSAL_CREATED: "propose",
    EntryKind.PROPOSAL_CANCELED: "cancel-proposal",
    EntryKind.MEMBER_EXIT_REQUESTED: "request-exit",
    EntryKind.POINTS_DEPOSITED: "deposit",
}
"""The action a request must name to authorise an entry of each kind (no other kind may carry
an authorising request)."""

BINDINGS: dict[str, tuple[str, ...]] = {
    EntryKind.VOTE_CAST: ("proposal_id", "support", "comment_sha256"),
    EntryKind.PROPOSAL_CREATED: ("kind", "params"),
    EntryKind.PROPOSAL_CANCELED: ("proposal_id",),
    EntryKind.MEMBER_EXIT_REQUESTED: ("member",),
    EntryKind.POINTS_DEPOSITED: ("account", "amount", "external_ref"),
}
"""The payload fields of each kind that must equal the same field of the request body."""


class RequestRejected(OperationRefused):
    """A signed request is refused before anything is written.

    Codes: ``malformed``, ``bad-signature``, ``expired``, ``issued-in-future``, ``replay``,
    ``wrong-action``, ``body-mismatch``, ``not-allowed``.
    """


def new_nonce() -> str:
    """Return a fresh random nonce (32 hex digits, 128 bits)."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class SignedRequest:
    """A request as its actor signed it.

    Attributes
    ----------
    action : str
        What the actor asks for (``vote``, ``propose``, ...; a kebab token).
    actor_key_id : str
        The actor's key id; the signature must verify under that registered key.
    issued_at : str
        Canonical UTC time the actor signed it (its own clock).
    nonce : str
        32 to 64 lower-case hex digits, never used before.
    body : Mapping[str, object]
        The action's parameters (ids, numbers, hashes and enums only).
    signature : bytes
        Ed25519 signature over :meth:`signing_bytes`.
    """

    action: str
    actor_key_id: str
    issued_at: str
    nonce: str
    body: Mapping[str, object] = field(hash=False)
    signature: bytes

    @property
    def subject(self) -> str:
        """``request <action> <nonce>`` for errors."""
        return f"request {self.action} {self.nonce[:16]}"

    def signing_bytes(self) -> bytes:
        """Return the RFC 8785 bytes the signature covers (everything but the signature)."""
        return canonical_json(
            {
                "action": self.action,
                "actor_key_id": self.actor_key_id,
                "issued_at": self.issued_at,
                "nonce": self.nonce,
                "body": dict(self.body),
            }
        )

    def verify(self, public_key: bytes) -> None:
        """Check the signature against the actor's ``public_key``.

        Raises
        ------
        RequestRejected
            ``bad-signature``.
        """
        if not is_valid_signature(public_key, self.signature, self.signing_bytes()):
            raise RequestRejected(
                self.subject, code="bad-signature",
                reason="the signature does not verify for the actor's registered key",
            )  # fmt: skip

    def to_json(self) -> dict[str, object]:
        """Return the wire (and ledger payload) form; the signature in hex."""
        return {
            "action": self.action,
            "actor_key_id": self.actor_key_id,
            "issued_at": self.issued_at,
            "nonce": self.nonce,
            "body": dict(self.body),
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_json(cls, data: object) -> SignedRequest:
        """Inverse of :meth:`to_json`, checking every field.

        Raises
        ------
        RequestRejected
            ``malformed``, naming the field.
        """

        def bad(name: str, reason: str) -> RequestRejected:
            return RequestRejected("request", code="malformed", reason=f"{name}: {reason}")

        if not isinstance(data, Mapping):
            raise bad("request", "must be a JSON object")
        extra = sorted(set(data) - {"action", "actor_key_id", "issued_at", "nonce", "body",
                                    "signature"})  # fmt: skip
        if extra:
            raise bad(str(extra[0]), "unknown field")
        action, key_id = data.get("action"), data.get("actor_key_id")
        issued_at, nonce = data.get("issued_at"), data.get("nonce")
        body, signature = data.get("body"), data.get("signature")
        if not isinstance(action, str) or not _ACTION_RE.match(action):
            raise bad("action", "must be a kebab-case token")
        if not isinstance(key_id, str) or not KEY_ID_RE.match(key_id):
            raise bad("actor_key_id", "must be a 64-hex key id")
        if not isinstance(issued_at, str):
            raise bad("issued_at", "must be a canonical UTC time")
        try:
            parse_time(issued_at)
        except EncodingError as exc:
            raise bad("issued_at", exc.reason) from exc
        if not isinstance(nonce, str) or not _NONCE_RE.match(nonce):
            raise bad("nonce", "must be 32 to 64 lower-case hex digits")
        if not isinstance(body, Mapping):
            raise bad("body", "must be a JSON object")
        if not isinstance(signature, str) or not re.fullmatch(r"[0-9a-f]{128}", signature):
            raise bad("signature", f"must be {SIGNATURE_BYTES} bytes in lower-case hex")
        request = cls(action, key_id, issued_at, nonce, dict(body), bytes.fromhex(signature))
        try:
            request.signing_bytes()
        except EncodingError as exc:
            raise bad("body", exc.reason) from exc
        return request


def sign_request(
    *,
    action: str,
    body: Mapping[str, object],
    signer: Signer,
    now: datetime,
    nonce: str | None = None,
) -> SignedRequest:
    """Sign a request on the actor's machine.

    Parameters
    ----------
    action
        What is asked (``vote``, ``propose``, ...).
    body
        Its parameters; ids, numbers, hashes and enums only.
    signer
        The actor's own key.
    now
        The actor's clock (tz-aware); the coordinator accepts it within its window.
    nonce
        Default: :func:`new_nonce`.
    """
    unsigned = SignedRequest(
        action, signer.key_id, format_time(now), nonce or new_nonce(), dict(body), b""
    )
    request = SignedRequest(
        unsigned.action, unsigned.actor_key_id, unsigned.issued_at, unsigned.nonce,
        unsigned.body, signer.sign(unsigned.signing_bytes()),
    )  # fmt: skip
    return SignedRequest.from_json(request.to_json())  # the same checks the coordinator runs


def check_window(request: SignedRequest, *, now: datetime) -> None:
    """Refuse a request issued too long before ``now`` or too far after it (coordinator clock).

    Raises
    ------
    RequestRejected
        ``expired`` or ``issued-in-future``.
    """
    issued = parse_time(request.issued_at)
    if now - issued > MAX_AGE:
        raise RequestRejected(
            request.subject, code="expired", reason=f"issued more than {MAX_AGE} before it arrived"
        )
    if issued - now > MAX_CLOCK_SKEW:
        raise RequestRejected(
            request.subject, code="issued-in-future",
            reason=f"issued more than {MAX_CLOCK_SKEW} after the coordinator's time",
        )  # fmt: skip


@dataclass(frozen=True)
class Countersigned:
    """A verified request the coordinator writes an entry for, signed with its own key.

    Stores accept one wherever they accept the actor's own :class:`Signer`: ``key_id`` is the
    actor's (who authorised the entry), and the ledger embeds the request in the entry.
    """

    coordinator: Signer = field(repr=False)
    request: SignedRequest

    @property
    def key_id(self) -> str:
        """The authorising actor's key id."""
        return self.request.actor_key_id


Actor = Signer | Countersigned
"""Who acts for a store call: a key signing in-process, or a request the coordinator
countersigns."""


def embedded_request(kind: str, payload: bytes) -> SignedRequest | None:
    """Return the request an entry's canonical payload embeds, ``None`` if it embeds none.

    Raises
    ------
    VerificationError
        If the payload embeds a malformed request.
    """
    if b'"request":' not in payload:  # fast path: most entries are not countersigned
        return None
    import json  # noqa: PLC0415  (only for countersigned entries)

    data = json.loads(payload)
    if not isinstance(data, dict) or REQUEST_FIELD not in data:
        return None
    try:
        return SignedRequest.from_json(data[REQUEST_FIELD])
    except RequestRejected as exc:
        raise VerificationError(f"{kind} entry embeds a malformed request: {exc.reason}") from exc


def binding_problem(
    kind: str, payload: Mapping[str, object], request: SignedRequest
) -> tuple[str, str] | None:
    """Say why ``request`` does not authorise an entry of ``kind`` with ``payload``, or ``None``.

    The action must be the one :data:`KIND_ACTIONS` names for ``kind``, and every field
    :data:`BINDINGS` lists must be equal in the payload and the body (absent in both is equal).
    A ``join`` request is judged by :func:`admission_problem` (which checks its signature too).

    Returns
    -------
    tuple[str, str] | None
        ``(code, reason)``: ``wrong-action``, ``body-mismatch`` (or ``bad-signature`` for a
        join); ``None`` if it authorises.
    """
    if request.action == JOIN_ACTION:
        return admission_problem(kind, payload, request)
    action = KIND_ACTIONS.get(kind)
    if action is None:
        return "wrong-action", f"a {kind} entry cannot be authorised by a request"
    if request.action != action:
        return "wrong-action", f"a {kind} entry needs a {action!r} request, not {request.action!r}"
    for name in BINDINGS.get(kind, ()):
        if payload.get(name) != request.body.get(name):
            return "body-mismatch", f"{name} differs between the entry and the signed request"
    return None


def authoriser(kind: str, payload: bytes, signer_key_id: str) -> str:
    """Return the key id that authorised an entry: the embedded request's actor, else its signer.

    Raises
    ------
    VerificationError
        If the payload embeds a malformed request.
    """
    request = embedded_request(kind, payload)
    return signer_key_id if request is None else request.actor_key_id


def payload_with_request(
    payload: Mapping[str, object], request: SignedRequest
) -> dict[str, object]:
    """Return ``payload`` with ``request`` embedded under :data:`REQUEST_FIELD`."""
    if REQUEST_FIELD in payload:
        raise RequestRejected(request.subject, code="malformed",
                              reason=f"payload already has a {REQUEST_FIELD!r} field")  # fmt: skip
    return {**payload, REQUEST_FIELD: cast(object, request.to_json())}
