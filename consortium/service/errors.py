"""Every error becomes a status code and ``{"error": {"code", "message"}}``; never a trace.

A refusal of the kit (:class:`~consortium.errors.ConsortiumError`) keeps its stable code; a
malformed body is ``malformed`` (422); anything unexpected is logged here and answered
``internal`` (500) with no detail.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from consortium.errors import (
    ConfigError,
    ConsortiumError,
    InsufficientPoints,
    ModelError,
    OperationRefused,
    VerificationError,
)
from consortium.ledger.store import SignerNotAllowed
from consortium.wire.envelope import ErrorBody, ErrorDetail

logger = logging.getLogger(__name__)

CONFLICT = frozenset({
    "replay", "double-vote", "duplicate-proposal", "voting-closed", "voting-not-open",
    "not-succeeded", "already-member", "key-in-use", "not-queued", "timelock",
    "not-pending", "already-executed", "policy-changed", "already-requested", "member-id-taken",
    "duplicate-external-ref", "exit-already-requested",
})  # fmt: skip
"""Codes of a request that is well formed but conflicts with the state (409)."""
UNAUTHORISED = frozenset({"bad-signature", "expired", "issued-in-future", "unknown-issuer"})
"""Codes of a request whose signature or time cannot be accepted (401)."""
FORBIDDEN = frozenset({"not-allowed", "not-a-member", "not-a-cargo-owner", "revoked-issuer",
                       "not-proposer", "not-a-holder", "member-removed", "wrong-key"})  # fmt: skip
"""Codes of an actor that may not do what it asked (403)."""


def status_of(code: str) -> int:
    """Return the HTTP status of a refusal code (400 for any code not listed)."""
    if code in CONFLICT:
        return 409
    if code in UNAUTHORISED:
        return 401
    if code in FORBIDDEN:
        return 403
    if code.startswith("unknown-"):
        return 404
    return 400


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """Build the one error body."""
    body = ErrorBody(error=ErrorDetail(code=code, message=message))
    return JSONResponse(status_code=status, content=body.model_dump())


def _kit_error(exc: ConsortiumError) -> JSONResponse:
    if isinstance(exc, SignerNotAllowed):
        return error_response(403, "not-allowed", str(exc))
    if isinstance(exc, OperationRefused):
        return error_response(status_of(exc.code), exc.code, f"{exc.subject}: {exc.reason}")
    if isinstance(exc, InsufficientPoints):
        return error_response(402, "insufficient-points", str(exc))
    if isinstance(exc, ModelError | ConfigError):
        logger.error("service misconfigured: %s", exc)
        return error_response(503, "not-available", "the service cannot answer this now")
    if isinstance(exc, VerificationError):
        return error_response(400, "malformed", str(exc))
    code = getattr(exc, "code", None)
    return error_response(400, code if isinstance(code, str) else "refused", str(exc))


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception the routes can raise onto the stable error body."""

    async def kit(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ConsortiumError)
        return _kit_error(exc)

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return error_response(422, "malformed", f"{where}: {first.get('msg', 'invalid')}")

    async def http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = "not-found" if exc.status_code == 404 else "http-error"
        return error_response(exc.status_code, code, str(exc.detail))

    async def store(_: Request, exc: Exception) -> JSONResponse:
        logger.error("database error: %s", exc)
        return error_response(503, "store-unavailable", "the coordinator's store is unavailable")

    async def anything(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error", exc_info=exc)
        return error_response(500, "internal", "internal error (logged by the coordinator)")

    app.add_exception_handler(ConsortiumError, kit)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http)
    app.add_exception_handler(SQLAlchemyError, store)
    app.add_exception_handler(Exception, anything)
