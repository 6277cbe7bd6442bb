"""Names a command checks before it acts: accounts and warehouses, with "did you mean".

A typo in a name is an error that names what is known and the nearest match (difflib), never a
silent zero or an unrelated refusal further on.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from consortium.errors import PointsError, QueryRejected

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """Return ``"; did you mean X?"`` for the known name nearest ``name``, or ``""``.

    Examples
    --------
    >>> did_you_mean("member:rhine-raod", ["member:rhine-road", "member:meridian-line"])
    '; did you mean member:rhine-road?'
    >>> did_you_mean("member:zzz", ["member:rhine-road"])
    ''
    """
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return f"; did you mean {close[0]}?" if close else ""


def known_accounts(session: Session) -> set[str]:
    """Every account that exists: opened ones, the treasury, every member's, every buyer's."""
    from consortium.identity.registry import list_keys  # noqa: PLC0415
    from consortium.ledger.keyring import Role  # noqa: PLC0415
    from consortium.membership import list_members  # noqa: PLC0415
    from consortium.points.accounts import TREASURY, cargo_account, member_account  # noqa: PLC0415
    from consortium.points.store import balances  # noqa: PLC0415

    known = set(balances(session)) | {TREASURY}
    known |= {member_account(m.member) for m in list_members(session)}
    known |= {cargo_account(k.key_id) for k in list_keys(session, role=Role.CARGO_OWNER)}
    return known


def require_account(session: Session, account: str) -> None:
    """Refuse an account that does not exist (a typo), naming the nearest one.

    Raises
    ------
    PointsError
        ``bad-account`` (not an account name) or ``unknown-account``.
    """
    from consortium.points.accounts import account_kind  # noqa: PLC0415

    account_kind(account)
    known = known_accounts(session)
    if account not in known:
        raise PointsError(
            account,
            code="unknown-account",
            reason="no such account (not opened, no admitted member, no registered cargo owner)"
            + did_you_mean(account, known),
        )


def require_warehouse(warehouse_id: str, known: Iterable[str]) -> None:
    """Refuse a warehouse no member operates, listing the known ones (nothing is charged).

    Raises
    ------
    QueryRejected
        ``unknown-warehouse``.
    """
    names = sorted(known)
    if warehouse_id not in names:
        raise QueryRejected(
            f"warehouse {warehouse_id}",
            code="unknown-warehouse",
            reason=f"no member operates it (known: {', '.join(names) or 'none'})"
            + did_you_mean(warehouse_id, names),
        )
