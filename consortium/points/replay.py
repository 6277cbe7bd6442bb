"""Ledger replay of points: balances, supply and contributions rebuilt from entries alone (pure).

Anyone holding a ledger export can run :func:`replay_balances` and compare with the
coordinator's balances, and sum :func:`contributions_from_entries` to recompute a revenue split.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from consortium.errors import PointsError
from consortium.ledger.entry import Entry
from consortium.ledger.kinds import POINTS_KINDS, EntryKind
from consortium.points.accounts import BURN_SINK, MINT_SOURCE


def journal_lines(kind: str, payload: Mapping[str, object]) -> list[tuple[str, int]]:
    """Return the journal lines ``(account, delta)`` one points entry stands for (sum zero).

    Raises
    ------
    PointsError
        ``malformed-entry`` if the payload lacks a field the kind needs.

    Examples
    --------
    >>> journal_lines("points-minted", {"account": "member:aa", "amount": 5})
    [('mint', -5), ('member:aa', 5)]
    """
    try:
        if kind in (EntryKind.POINTS_MINTED, EntryKind.POINTS_DEPOSITED):
            account, amount = str(payload["account"]), int(payload["amount"])  # type: ignore[call-overload]
            return [(MINT_SOURCE, -amount), (account, amount)]
        if kind == EntryKind.POINTS_REDEEMED:
            account, amount = str(payload["account"]), int(payload["amount"])  # type: ignore[call-overload]
            return [(account, -amount), (BURN_SINK, amount)]
        if kind == EntryKind.QUERY_SETTLED:
            parts = payload["parts"]
            if not isinstance(parts, list):
                raise TypeError("parts is not a list")
            paid = [(str(p["account"]), int(p["amount"])) for p in parts]
            return [(str(payload["payer"]), -sum(a for _, a in paid)), *paid]
    except (KeyError, TypeError, ValueError) as exc:
        raise PointsError(kind, code="malformed-entry", reason=f"payload: {exc}") from exc
    raise PointsError(kind, code="malformed-entry", reason="not a points entry kind")


@dataclass(frozen=True)
class Replay:
    """Balances, minted and burned totals rebuilt from ledger entries alone."""

    balances: dict[str, int]
    minted: int
    burned: int


def replay_balances(entries: Iterable[Entry]) -> Replay:
    """Rebuild every balance from the points entries of a ledger (other kinds are skipped).

    Anyone with an export can run this and compare with the coordinator's balances.

    Raises
    ------
    PointsError
        ``negative-balance`` if the entries would ever overdraw an account (a forged log),
        ``malformed-entry`` for a malformed payload.
    """
    balances: dict[str, int] = {}
    minted = burned = 0
    for entry in entries:
        if entry.kind not in POINTS_KINDS:
            continue
        for account, delta in journal_lines(entry.kind, entry.payload_object()):
            if account == MINT_SOURCE:
                minted -= delta
            elif account == BURN_SINK:
                burned += delta
            else:
                balances[account] = balances.get(account, 0) + delta
                if balances[account] < 0:
                    raise PointsError(
                        account, code="negative-balance",
                        reason=f"entry {entry.seq} overdraws it to {balances[account]}",
                    )  # fmt: skip
    return Replay(dict(sorted(balances.items())), minted, burned)


def contributions_from_entries(
    entries: Iterable[Entry],
    *,
    model: str,
    up_to_round: int | None = None,
    run_id: str | None = None,
) -> dict[str, int]:
    """Contribution points minted for ``model`` (rounds ``<= up_to_round`` of run ``run_id``).

    ``run_id`` ``None`` counts every run's mints; ``""`` the mints that name no run.

    The ledger-only twin of :func:`consortium.points.store.contributions`: with it and
    :func:`split_revenue` anyone recomputes the split recorded in a ``query-settled`` entry.
    """
    totals: dict[str, int] = {}
    for entry in entries:
        if entry.kind != EntryKind.POINTS_MINTED:
            continue
        payload = entry.payload_object()
        refs = payload.get("refs")
        if payload.get("reason") != "contribution" or not isinstance(refs, dict):
            continue
        round_ = refs.get("round")
        if refs.get("model") != model or not isinstance(round_, int):
            continue
        if up_to_round is not None and round_ > up_to_round:
            continue
        if run_id is not None and refs.get("run", "") != run_id:
            continue
        account, amount = payload.get("account"), payload.get("amount")
        if isinstance(account, str) and isinstance(amount, int):
            totals[account] = totals.get(account, 0) + amount
    return dict(sorted(totals.items()))
