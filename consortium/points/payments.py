"""Payments: points bought and paid out against off-ledger money, by a treasurer key only.

:func:`deposit` credits a cargo owner's account (``points-deposited``) and :func:`redeem` burns
points (``points-redeemed``), each against an external payment reference used at most once per
direction (the ``points_payments`` row is the guard). Bought points go to ``cargo:<key id>``
accounts only, so they never carry a vote. Both move points through
:func:`consortium.points.posting.post` and never commit.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from consortium.errors import PointsError
from consortium.identity.registry import require_role
from consortium.ledger.entry import Entry
from consortium.ledger.keyring import Role
from consortium.ledger.kinds import EntryKind
from consortium.ledger.requests import Actor
from consortium.ledger.signing import Signer
from consortium.ledger.store import KeyProblem
from consortium.points.accounts import (
    BURN_SINK,
    CARGO_PREFIX,
    MINT_SOURCE,
    account_kind,
    check_amount,
    check_external_ref,
)
from consortium.points.models import PaymentRow
from consortium.points.posting import Conflict, post

__all__ = ["deposit", "redeem", "require_cargo_owner"]

logger = logging.getLogger(__name__)

_payments = PaymentRow.__table__.c


def _payment(
    session: Session,
    *,
    direction: str,
    account: str,
    amount: int,
    external_ref: str,
    signer: Actor,
    moment: datetime | None,
) -> Entry:
    check_amount(amount, subject=str(account)[:80])
    check_external_ref(external_ref)
    kind = account_kind(account)
    require_role(session, signer.key_id, Role.TREASURER, action=f"{direction} points",
                 error=PointsError)  # fmt: skip
    if direction == "deposit":
        if kind != "cargo":
            raise PointsError(
                account, code="not-a-cargo-account",
                reason="deposits go to cargo:<key id> accounts only (bought points carry no vote)",
            )  # fmt: skip
        require_cargo_owner(session, account)
    conflict = Conflict(
        external_ref, "duplicate-external-ref",
        f"this payment reference was already used for a {direction}",
    )  # fmt: skip
    used = session.execute(
        select(_payments.seq).where(
            _payments.direction == direction, _payments.external_ref == external_ref
        )
    ).first()
    if used is not None:
        raise PointsError(conflict.subject, code=conflict.code, reason=conflict.reason)

    def payment_row(seq: int) -> None:
        session.execute(
            insert(PaymentRow).values(
                seq=seq, direction=direction, external_ref=external_ref, account=account,
                amount=amount,
            )
        )  # fmt: skip

    lines = (
        [(MINT_SOURCE, -amount), (account, amount)]
        if direction == "deposit"
        else [(account, -amount), (BURN_SINK, amount)]
    )
    entry = post(
        session,
        kind=EntryKind.POINTS_DEPOSITED if direction == "deposit" else EntryKind.POINTS_REDEEMED,
        payload={"account": account, "amount": amount, "external_ref": external_ref},
        signer=signer,
        lines=lines,
        moment=moment,
        side_row=payment_row,
        conflict=conflict,
    )
    logger.info("%s of %d points on %s (entry %d)", direction, amount, account, entry.seq)
    return entry


def require_cargo_owner(session: Session, account: str) -> None:
    """Refuse (``unknown-cargo-owner``) unless the account's key is an active cargo-owner key.

    Raises
    ------
    PointsError
        ``unknown-cargo-owner`` if ``account``'s key is unregistered, revoked or of another role.
    """
    require_role(
        session, account[len(CARGO_PREFIX) :], Role.CARGO_OWNER, action="hold a cargo account",
        error=PointsError, subject=account,
        codes=dict.fromkeys(KeyProblem, "unknown-cargo-owner"),
    )  # fmt: skip


def deposit(
    session: Session,
    *,
    account: str,
    amount: int,
    external_ref: str,
    signer: Actor,
    moment: datetime | None = None,
) -> Entry:
    """Credit a cargo owner against an off-ledger payment (``points-deposited``).

    Parameters
    ----------
    account
        ``cargo:<key id>`` of an active cargo-owner key.
    amount
        Points bought.
    external_ref
        The payment's reference (invoice or transfer id, or its hash); no personal data. Each
        reference is deposited at most once.
    signer
        A treasurer key (registered by the coordinator with ``Role.TREASURER``), or the
        treasurer's ``deposit`` request countersigned by the coordinator.
    moment
        Entry time (tz-aware); default now.

    Raises
    ------
    PointsError
        ``not-allowed`` (not a treasurer key), ``not-a-cargo-account``,
        ``unknown-cargo-owner``, ``bad-amount``, ``bad-external-ref`` or
        ``duplicate-external-ref``; nothing is written.

    Examples
    --------
    >>> # deposit(s, account="cargo:" + owner.key_id, amount=500, external_ref="INV-2026-0042",
    >>> #         signer=treasurer)
    """
    return _payment(
        session, direction="deposit", account=account, amount=amount,
        external_ref=external_ref, signer=signer, moment=moment,
    )  # fmt: skip


def redeem(
    session: Session,
    *,
    account: str,
    amount: int,
    external_ref: str,
    signer: Signer,
    moment: datetime | None = None,
) -> Entry:
    """Burn points against an off-ledger pay-out (``points-redeemed``).

    Raises
    ------
    InsufficientPoints
        If the account holds fewer than ``amount`` points; nothing is written.
    PointsError
        ``not-allowed`` (not a treasurer key), ``bad-account``, ``bad-amount``,
        ``bad-external-ref`` or ``duplicate-external-ref``; nothing is written.
    """
    return _payment(
        session, direction="redeem", account=account, amount=amount,
        external_ref=external_ref, signer=signer, moment=moment,
    )  # fmt: skip
