"""Self-signed enrolment requests: a newcomer proves it holds the key it asks to register.

A company that wants to join, or a cargo owner that wants an account, has no registered key yet,
so its request cannot be checked against the registry. Instead its body carries the raw public
key (``public_key``, hex) and the request must be signed by that very key (proof of possession),
its ``actor_key_id`` must be that key's id, and it must arrive within the request window
(:func:`~consortium.ledger.requests.check_window`). :func:`register_cargo_owner` is the cargo
owner's whole enrolment; joining goes through :mod:`consortium.membership.joins`.

Examples
--------
>>> from datetime import UTC, datetime
>>> from consortium.ledger.requests import sign_request
>>> owner, now = Signer.generate(), datetime.now(UTC)
>>> request = sign_request(action="register-cargo-owner", body=enrolment_body(owner), signer=owner,
...                        now=now)
>>> check_self_signed(request, action="register-cargo-owner", now=now) == owner.public_key
True
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from consortium.identity.registry import KeyRecord, get_key, register_key
from consortium.ledger.keyring import Role
from consortium.ledger.requests import RequestRejected, SignedRequest, check_window
from consortium.ledger.signing import PUBLIC_KEY_BYTES, Signer, key_id_for

__all__ = [
    "REGISTER_CARGO_OWNER",
    "check_self_signed",
    "enrolment_body",
    "register_cargo_owner",
]

logger = logging.getLogger(__name__)

REGISTER_CARGO_OWNER = "register-cargo-owner"
"""The action of a cargo owner's registration request."""


def enrolment_body(signer: Signer, **fields: object) -> dict[str, object]:
    """Return a request body carrying ``signer``'s public key (hex) and ``fields``."""
    return {"public_key": signer.public_key.hex(), **fields}


def check_self_signed(request: SignedRequest, *, action: str, now: datetime) -> bytes:
    """Check a self-signed enrolment request; return the public key it proves possession of.

    Raises
    ------
    RequestRejected
        ``wrong-action``, ``malformed`` (no valid ``public_key`` in the body, or an
        ``actor_key_id`` that is not its id), ``bad-signature``, ``expired`` or
        ``issued-in-future``.
    """
    if request.action != action:
        raise RequestRejected(
            request.subject, code="wrong-action", reason=f"expected a {action!r} request"
        )
    text = request.body.get("public_key")
    try:
        public_key = bytes.fromhex(text) if isinstance(text, str) else b""
    except ValueError:
        public_key = b""
    if len(public_key) != PUBLIC_KEY_BYTES or text != public_key.hex():
        raise RequestRejected(
            request.subject, code="malformed",
            reason=f"body.public_key must be the {PUBLIC_KEY_BYTES}-byte key in lower-case hex",
        )  # fmt: skip
    if key_id_for(public_key) != request.actor_key_id:
        raise RequestRejected(
            request.subject, code="malformed",
            reason="actor_key_id is not the id of body.public_key",
        )  # fmt: skip
    request.verify(public_key)  # proof of possession
    check_window(request, now=now)
    return public_key


def register_cargo_owner(
    session: Session, *, request: SignedRequest, coordinator: Signer, now: datetime
) -> KeyRecord:
    """Register a cargo owner's key from its self-signed request (``key-registered``).

    Its account ``cargo:<key id>`` can then be credited by the treasurer and pay for queries.

    Raises
    ------
    RequestRejected
        As :func:`check_self_signed`, or ``key-in-use`` if the key is registered (a replayed
        request included); nothing is written.
    """
    public_key = check_self_signed(request, action=REGISTER_CARGO_OWNER, now=now)
    if get_key(session, request.actor_key_id) is not None:
        raise RequestRejected(
            request.subject, code="key-in-use", reason="this key is already registered"
        )
    record = register_key(
        session, public_key=public_key, role=Role.CARGO_OWNER, signer=coordinator, moment=now
    )
    logger.info("registered cargo owner %s", record.key_id[:16])
    return record
