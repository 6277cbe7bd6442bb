"""Signed query messages (``data_schemas/query.v1.schema.json``): build, sign, check.

A cargo owner signs the RFC 8785 canonical bytes of the message with its Ed25519 key; the
signature travels beside the message. :func:`check_query` is everything the service checks
before it looks at prices or models: the message contract, the issuance time, the issuer's key
in the registry (an active ``cargo-owner`` key) and the signature. Each refusal is a
:class:`~consortium.errors.QueryRejected` with subject ``query <id>`` and a stable code.

Examples
--------
>>> from datetime import UTC, datetime
>>> from consortium.ledger.signing import Signer
>>> owner = Signer.generate()
>>> query = new_query(kind="warehouse", params={"warehouse_id": "WH-NLRTM-01",
...                   "horizon_days": 7}, issuer=owner, max_price_points=30,
...                   now=datetime(2026, 3, 1, tzinfo=UTC), query_id="q-1")
>>> signature = sign_query(query, signer=owner)
>>> len(signature), query["issuer_key_id"] == owner.key_id
(64, True)
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from consortium.config import Settings
from consortium.errors import ConfigError, ContractViolation, QueryRejected
from consortium.identity.registry import require_role
from consortium.ledger.canonical import EncodingError, canonical_json
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer, is_valid_signature
from consortium.ledger.store import KeyProblem
from consortium.schemas.messages import validate_message

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MAX_AGE = timedelta(minutes=15)
"""A query issued longer ago than this is refused (``expired``)."""
MAX_CLOCK_SKEW = timedelta(minutes=2)
"""A query issued further in the future than this is refused (``issued-in-future``)."""
_ISSUER_CODES = {
    KeyProblem.NOT_REGISTERED: "unknown-issuer",
    KeyProblem.REVOKED: "revoked-issuer",
    KeyProblem.WRONG_ROLE: "not-a-cargo-owner",
}
"""The code of a refused issuer key, by what the registry found wrong with it."""


def _isoformat(moment: datetime) -> str:
    text = moment.isoformat(timespec="seconds")
    return text.replace("+00:00", "Z")


def new_query(
    *,
    kind: str,
    params: Mapping[str, object],
    issuer: Signer,
    max_price_points: int,
    now: datetime,
    query_id: str | None = None,
    nonce: str | None = None,
) -> dict[str, Any]:
    """Return a query message (not yet signed) in the ``query.v1`` shape.

    Parameters
    ----------
    kind
        ``lane`` or ``warehouse``.
    params
        The kind's parameters (see the schema).
    issuer
        The cargo owner's key; its key id goes into the message.
    max_price_points
        The most the owner agrees to pay.
    now
        Issuance time (tz-aware).
    query_id, nonce
        Default: random tokens.
    """
    return {
        "schema_version": SCHEMA_VERSION,
        "query_id": query_id or f"q-{secrets.token_hex(8)}",
        "kind": kind,
        "params": dict(params),
        "max_price_points": max_price_points,
        "issuer_key_id": issuer.key_id,
        "issued_at": _isoformat(now),
        "nonce": nonce or secrets.token_urlsafe(24),
    }


def query_bytes(query: Mapping[str, object]) -> bytes:
    """Return the bytes a query signature covers: RFC 8785 canonical JSON of the message."""
    return canonical_json(dict(query))


def sign_query(query: Mapping[str, object], *, signer: Signer) -> bytes:
    """Return the issuer's Ed25519 signature of :func:`query_bytes`."""
    return signer.sign(query_bytes(query))


def query_subject(query: object) -> str:
    """``query <id>`` for errors, tolerant of a malformed message."""
    query_id = query.get("query_id") if isinstance(query, Mapping) else None
    return f"query {query_id[:128]}" if isinstance(query_id, str) else "query <no id>"


@dataclass(frozen=True)
class CheckedQuery:
    """A query that passed :func:`check_query`: the message, its digest and the payer."""

    query_id: str
    kind: str
    params: Mapping[str, object]
    max_price_points: int
    issuer_key_id: str
    nonce: str
    issued_at: datetime
    digest: str

    @property
    def subject(self) -> str:
        """``query <id>``."""
        return f"query {self.query_id}"


def check_query(
    session: Session,
    *,
    query: Mapping[str, object],
    signature: bytes,
    now: datetime,
    settings: Settings | None = None,
) -> CheckedQuery:
    """Check a signed query message; read-only.

    ``settings`` says where the message contracts live (default: :func:`load_settings`).

    Raises
    ------
    ConfigError
        ``now`` is naive.
    QueryRejected
        ``malformed`` (breaks ``query.v1``; the reason names the JSON pointer),
        ``expired`` / ``issued-in-future`` (``issued_at`` too far from ``now``),
        ``unknown-issuer``, ``revoked-issuer``, ``not-a-cargo-owner`` (registry), or
        ``bad-signature``.
    """
    if now.utcoffset() is None:
        raise ConfigError("now", "the arrival time must be timezone-aware")
    subject = query_subject(query)
    if not isinstance(query, Mapping):
        raise QueryRejected(subject, code="malformed", reason="a query is a JSON object")
    try:
        validate_message("query", query, settings=settings)
        data = query_bytes(query)
    except ContractViolation as exc:
        where = f"{exc.column}: " if exc.column else ""
        raise QueryRejected(
            subject, code="malformed", reason=f"{where}{exc.problems[0].reason} [{exc.code}]"
        ) from exc
    except EncodingError as exc:
        raise QueryRejected(subject, code="malformed", reason=exc.reason) from exc
    issued_at = datetime.fromisoformat(str(query["issued_at"]))
    if now - issued_at > MAX_AGE:
        raise QueryRejected(
            subject, code="expired", reason=f"issued more than {MAX_AGE} before it arrived"
        )
    if issued_at - now > MAX_CLOCK_SKEW:
        raise QueryRejected(subject, code="issued-in-future", reason="issued_at is in the future")
    key_id = str(query["issuer_key_id"])
    key = require_role(
        session, key_id, Role.CARGO_OWNER, action="issue paid queries", error=QueryRejected,
        subject=subject, codes=_ISSUER_CODES,
    )  # fmt: skip
    if not is_valid_signature(key.public_key, bytes(signature), data):
        raise QueryRejected(
            subject, code="bad-signature", reason="the signature does not verify for the issuer key"
        )
    return CheckedQuery(
        query_id=str(query["query_id"]),
        kind=str(query["kind"]),
        params=dict(query["params"]),  # type: ignore[call-overload]
        max_price_points=int(query["max_price_points"]),  # type: ignore[call-overload]
        issuer_key_id=key_id,
        nonce=str(query["nonce"]),
        issued_at=issued_at,
        digest=hashlib.sha256(data).hexdigest(),
    )
