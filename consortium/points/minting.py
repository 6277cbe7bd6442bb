"""Minting: contribution points created for a federated round, by the coordinator only.

:func:`mint` is the only way points are created for work: one ``points-minted`` entry per member
and round, paid at most once per model, run and round (the ``points_contributions`` row is the
guard), with the amount the board's rule computed (:mod:`consortium.points.awards`).
:func:`mint_contributions` mints one round's awards. Both move points through
:func:`consortium.points.posting.post` and never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from consortium.errors import PointsError
from consortium.identity.registry import require_role
from consortium.ledger.entry import Entry
from consortium.ledger.keyring import Role
from consortium.ledger.kinds import EntryKind
from consortium.ledger.signing import Signer
from consortium.points.accounts import MINT_REASONS, MINT_SOURCE, account_kind, check_amount
from consortium.points.models import RUN_ID_LENGTH, ContributionRow
from consortium.points.posting import Conflict, post

__all__ = ["mint", "mint_contributions"]

logger = logging.getLogger(__name__)

_contributions = ContributionRow.__table__.c


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
        (:func:`~consortium.points.awards.contribution_awards`).
    reason
        ``contribution`` (the only reason points may be created).
    refs
        ``{"model": ..., "round": ..., "model_version": ..., "run": ...}``: which round of which
        federation run earned them (``run`` optional, default ``""``). A member is paid at most
        once per model, run and round, so a second run of the same model earns its own points
        and a re-recorded round none.
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
    >>> from consortium.points.books import balance, supply
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
    model, round_, run = refs.get("model"), refs.get("round"), refs.get("run", "")
    if not isinstance(model, str) or not model or len(model) > 128:
        raise PointsError("refs.model", code="bad-refs", reason="refs need the model's id")
    if isinstance(round_, bool) or not isinstance(round_, int) or round_ < 0:
        raise PointsError("refs.round", code="bad-refs", reason="refs need the round (int >= 0)")
    if not isinstance(run, str) or len(run) > RUN_ID_LENGTH:
        raise PointsError("refs.run", code="bad-refs", reason="refs.run is the run id (str)")
    require_role(session, signer.key_id, Role.COORDINATOR, action="mint points", error=PointsError)
    already = session.execute(
        select(_contributions.seq).where(
            _contributions.model == model,
            _contributions.run_id == run,
            _contributions.round == round_,
            _contributions.account == account,
        )
    ).first()
    conflict = Conflict(
        account,
        "already-minted",
        f"contribution points for {model} round {round_} {_of_run(run)}already minted",
    )
    if already is not None:
        raise PointsError(conflict.subject, code=conflict.code, reason=conflict.reason)

    def contribution_row(seq: int) -> None:
        session.execute(
            insert(ContributionRow).values(
                seq=seq, account=account, model=model, round=round_, amount=amount, run_id=run
            )
        )

    entry = post(
        session,
        kind=EntryKind.POINTS_MINTED,
        payload={"account": account, "amount": amount, "reason": reason, "refs": dict(refs)},
        signer=signer,
        lines=[(MINT_SOURCE, -amount), (account, amount)],
        moment=moment,
        side_row=contribution_row,
        conflict=conflict,
    )
    logger.info("minted %d points to %s for %s round %d", amount, account, model, round_)
    return entry


def _of_run(run: str) -> str:
    return f"of run {run} " if run else ""


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
