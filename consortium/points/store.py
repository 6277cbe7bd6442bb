"""The points store: the operations that move points, each one ledger entry.

The operations and who may perform them: :func:`mint` (coordinator, contributions only),
:func:`deposit` and :func:`redeem` (treasurer, against off-ledger payments) and :func:`settle`
(coordinator, paid queries). There is no free transfer. Each one validates its arguments and
the signer's role, then moves points through :func:`consortium.points.posting.post`, which writes
the ledger entry, the conditional balance updates and the journal lines in one SAVEPOINT: on
any error nothing of the operation is written, even if the caller catches the error and commits.

Nothing here commits: the edge frames ``with factory.begin() as session:``. The reads
(:func:`balance`, :func:`balances`, :func:`balances_at`, :func:`supply`, :func:`contributions`,
:func:`history`, :func:`check_books`) live in :mod:`consortium.points.books` and are re-exported
here, so ``consortium.points.store`` is the one place to import the points API from.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from consortium.errors import PointsError
from consortium.ledger.entry import Entry
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.ledger.store import SignerNotAllowed, active_key
from consortium.points.books import (
    Movement,
    Supply,
    balance,
    balances,
    balances_at,
    check_books,
    contributions,
    history,
    supply,
)
from consortium.points.models import ContributionRow, PaymentRow
from consortium.points.posting import Conflict, open_account, post, require_role
from consortium.points.rules import (
    BURN_SINK,
    CARGO_PREFIX,
    MINT_REASONS,
    MINT_SOURCE,
    POINTS_DEPOSITED,
    POINTS_MINTED,
    POINTS_REDEEMED,
    QUERY_SETTLED,
    account_kind,
    check_amount,
    check_external_ref,
)

__all__ = [
    "Movement",
    "Supply",
    "balance",
    "balances",
    "balances_at",
    "check_books",
    "contributions",
    "deposit",
    "history",
    "mint",
    "mint_contributions",
    "open_account",
    "redeem",
    "settle",
    "supply",
]

logger = logging.getLogger(__name__)

_contributions = ContributionRow.__table__.c
_payments = PaymentRow.__table__.c


def mint(
    session: Session,
    *,
    account: str,
    amount: int,
    reason: str,
    refs: Mapping[str, object],
    signer: Signer,
    moment: datetime | None = None,
) -> Entry:
    """Create ``amount`` points on a member's account for a contribution (``points-minted``).

    Parameters
    ----------
    account
        ``member:<member id>``; only members earn contribution points.
    amount
        Points computed by the board's rule
        (:func:`~consortium.points.rules.contribution_awards`).
    reason
        ``contribution`` (the only reason points may be created).
    refs
        ``{"model": ..., "round": ..., "model_version": ...}``: which round earned them. A member
        is paid at most once per model and round.
    signer
        A coordinator key.
    moment
        Entry time (tz-aware); default now.

    Returns
    -------
    Entry
        The ``points-minted`` entry ``{account, amount, reason, refs}``.

    Raises
    ------
    PointsError
        ``not-allowed`` (not a coordinator key), ``bad-reason``, ``bad-account``,
        ``bad-amount``, ``bad-refs`` or ``already-minted``; nothing is written.

    Examples
    --------
    >>> from consortium.db import create_schema, make_engine, make_session_factory
    >>> from consortium.identity.registry import bootstrap_coordinator
    >>> engine = make_engine("sqlite://"); create_schema(engine)
    >>> coordinator = Signer.generate()
    >>> with make_session_factory(engine).begin() as s:
    ...     _ = bootstrap_coordinator(s, coordinator=coordinator)
    ...     _ = mint(s, account="member:meridian-line", amount=1200, reason="contribution",
    ...              refs={"model": "eta", "round": 1}, signer=coordinator)
    ...     balance(s, "member:meridian-line"), supply(s).minted
    (1200, 1200)
    """
    check_amount(amount, subject=str(account)[:80])
    if reason not in MINT_REASONS:
        raise PointsError(
            str(reason)[:40], code="bad-reason",
            reason=f"points are minted only for {sorted(MINT_REASONS)}",
        )  # fmt: skip
    if account_kind(account) != "member":
        raise PointsError(account, code="bad-account", reason="contribution points go to members")
    model, round_ = refs.get("model"), refs.get("round")
    if not isinstance(model, str) or not model or len(model) > 128:
        raise PointsError("refs.model", code="bad-refs", reason="refs need the model's id")
    if isinstance(round_, bool) or not isinstance(round_, int) or round_ < 0:
        raise PointsError("refs.round", code="bad-refs", reason="refs need the round (int >= 0)")
    require_role(session, signer, Role.COORDINATOR, "mint points")
    already = session.execute(
        select(_contributions.seq).where(
            _contributions.model == model,
            _contributions.round == round_,
            _contributions.account == account,
        )
    ).first()
    conflict = Conflict(
        account, "already-minted", f"contribution points for {model} round {round_} already minted"
    )
    if already is not None:
        raise PointsError(conflict.subject, code=conflict.code, reason=conflict.reason)

    def contribution_row(seq: int) -> None:
        session.execute(
            insert(ContributionRow).values(
                seq=seq, account=account, model=model, round=round_, amount=amount
            )
        )

    entry = post(
        session,
        kind=POINTS_MINTED,
        payload={"account": account, "amount": amount, "reason": reason, "refs": dict(refs)},
        signer=signer,
        lines=[(MINT_SOURCE, -amount), (account, amount)],
        moment=moment,
        side_row=contribution_row,
        conflict=conflict,
    )
    logger.info("minted %d points to %s for %s round %d", amount, account, model, round_)
    return entry


def mint_contributions(
    session: Session,
    *,
    awards: Mapping[str, int],
    refs: Mapping[str, object],
    signer: Signer,
    moment: datetime | None = None,
) -> list[Entry]:
    """Mint one round's awards (zero awards skipped), one entry per account in sorted order."""
    return [
        mint(session, account=account, amount=amount, reason="contribution", refs=refs,
             signer=signer, moment=moment)
        for account, amount in sorted(awards.items())
        if amount
    ]  # fmt: skip


def _payment(
    session: Session,
    *,
    direction: str,
    account: str,
    amount: int,
    external_ref: str,
    signer: Signer,
    moment: datetime | None,
) -> Entry:
    check_amount(amount, subject=str(account)[:80])
    check_external_ref(external_ref)
    kind = account_kind(account)
    require_role(session, signer, Role.TREASURER, f"{direction} points")
    if direction == "deposit":
        if kind != "cargo":
            raise PointsError(
                account, code="not-a-cargo-account",
                reason="deposits go to cargo:<key id> accounts only (bought points carry no vote)",
            )  # fmt: skip
        _require_cargo_owner(session, account)
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
        kind=POINTS_DEPOSITED if direction == "deposit" else POINTS_REDEEMED,
        payload={"account": account, "amount": amount, "external_ref": external_ref},
        signer=signer,
        lines=lines,
        moment=moment,
        side_row=payment_row,
        conflict=conflict,
    )
    logger.info("%s of %d points on %s (entry %d)", direction, amount, account, entry.seq)
    return entry


def _require_cargo_owner(session: Session, account: str) -> None:
    key_id = account[len(CARGO_PREFIX) :]
    try:
        row = active_key(session, key_id)
    except SignerNotAllowed as exc:
        raise PointsError(
            account, code="unknown-cargo-owner", reason=f"the account's key is {exc.reason}"
        ) from exc
    if row.role != Role.CARGO_OWNER:
        raise PointsError(
            account, code="unknown-cargo-owner", reason=f"the account's key is a {row.role} key"
        )


def deposit(
    session: Session,
    *,
    account: str,
    amount: int,
    external_ref: str,
    signer: Signer,
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
        A treasurer key (registered by the coordinator with ``Role.TREASURER``).
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


def settle(
    session: Session,
    *,
    payer: str,
    parts: Mapping[str, int],
    refs: Mapping[str, object],
    signer: Signer,
    moment: datetime | None = None,
) -> Entry:
    """Debit ``payer`` the sum of ``parts`` and credit each part, in one ``query-settled`` entry.

    The paid-query path: the caller computes ``parts`` with
    :func:`~consortium.points.rules.split_revenue` and passes what anyone needs to recompute
    them in ``refs`` (query id, model, round, fee kind, treasury share).

    Parameters
    ----------
    payer
        The paying account (``cargo:<key id>`` or ``member:<id>``); it must hold the total.
    parts
        Positive points per receiving account; the payer may be one of them.
    refs
        Ids, ints and short tokens only (ledger payload policy).
    signer
        A coordinator key (the query service).
    moment
        Entry time (tz-aware); default now.

    Returns
    -------
    Entry
        ``query-settled`` ``{payer, amount, parts: [{account, amount}, ...], refs}``.

    Raises
    ------
    InsufficientPoints
        If the payer holds less than the total; nothing is written.
    PointsError
        ``not-allowed``, ``bad-account``, ``bad-amount`` or ``no-parts``; nothing is written.

    Examples
    --------
    >>> # parts = split_revenue(10, weights=contributions(s, model="eta", up_to_round=3),
    >>> #                       treasury_share_bps=policy.treasury_share_bps)
    >>> # settle(s, payer=cargo, parts=parts, refs={"query": qid, "model": "eta", "round": 3},
    >>> #        signer=coordinator)
    """
    account_kind(payer)
    if not parts:
        raise PointsError(payer, code="no-parts", reason="a settlement credits at least one part")
    for account, amount in parts.items():
        account_kind(account)
        check_amount(amount, subject=account)
    total = check_amount(sum(parts.values()), subject=payer)
    require_role(session, signer, Role.COORDINATOR, "settle queries")
    ordered = sorted(parts.items())
    entry = post(
        session,
        kind=QUERY_SETTLED,
        payload={
            "payer": payer,
            "amount": total,
            "parts": [{"account": a, "amount": n} for a, n in ordered],
            "refs": dict(refs),
        },
        signer=signer,
        lines=[(payer, -total), *ordered],
        moment=moment,
    )
    logger.debug("settled %d points from %s to %d parts (entry %d)", total, payer, len(parts),
                 entry.seq)  # fmt: skip
    return entry
