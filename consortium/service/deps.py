"""Dependencies of the routes: the running state, and signed requests checked on arrival.

:func:`signed_request` parses the ``request`` field of a write's body and checks its form and
time window against the coordinator's clock (no database). :func:`countersign` then runs in the
write's transaction: the actor's key, the signature and the nonce, before any store is called
(the ledger checks them again when it writes: :func:`consortium.ledger.store.check_request`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from consortium.ledger.models import RequestNonceRow
from consortium.ledger.requests import (
    Countersigned,
    RequestRejected,
    SignedRequest,
    check_window,
)
from consortium.ledger.store import KeyProblem, SignerNotAllowed, active_key
from consortium.service.state import ServiceState


def service_state(request: Request) -> ServiceState:
    """Return the state the app was created with."""
    state: ServiceState = request.app.state.service
    return state


State = Annotated[ServiceState, Depends(service_state)]
"""A route parameter receiving the service state."""
KnownSize = Annotated[int | None, Query(ge=0)]
"""A write's ``?known_size=``: the head size the client holds (its receipt proves consistency)."""


def signed_request(action: str) -> Callable[[Request], Awaitable[SignedRequest]]:
    """Return a dependency that reads the body's ``request`` as a ``action`` request.

    Raises
    ------
    RequestRejected
        ``malformed`` (missing, or not a signed request), ``wrong-action``, ``expired`` or
        ``issued-in-future`` (the coordinator's clock).
    """

    async def dependency(http: Request) -> SignedRequest:
        try:
            data = await http.json()
        except ValueError as exc:
            raise RequestRejected("request", code="malformed", reason="not JSON") from exc
        raw = data.get("request") if isinstance(data, dict) else None
        request = SignedRequest.from_json(raw)
        if request.action != action:
            raise RequestRejected(request.subject, code="wrong-action",
                                  reason=f"this endpoint takes {action!r} requests")  # fmt: skip
        check_window(request, now=service_state(http).clock.now())
        return request

    return dependency


def countersign(session: Session, state: ServiceState, request: SignedRequest) -> Countersigned:
    """Check the actor's key, the signature and the nonce; return the request to countersign.

    Raises
    ------
    RequestRejected
        ``unknown-actor`` / ``not-allowed`` (key unknown or revoked), ``bad-signature``,
        ``replay``.
    """
    try:
        key = active_key(session, request.actor_key_id, action=request.action)
    except SignerNotAllowed as exc:
        code = "unknown-actor" if exc.problem is KeyProblem.NOT_REGISTERED else "not-allowed"
        raise RequestRejected(request.subject, code=code, reason=exc.reason) from exc
    request.verify(bytes(key.public_key))
    if session.get(RequestNonceRow, request.nonce) is not None:
        raise RequestRejected(request.subject, code="replay",
                              reason="this request's nonce was used before")  # fmt: skip
    return Countersigned(state.coordinator, request)
