"""The revenue split of a paid query: exact integer shares by largest remainder (pure).

:func:`split_weights` turns contribution points into weights under the board's ``split_rule``;
:func:`split_revenue` divides a fee exactly among them after the treasury's share. Anyone holding
a ledger export recomputes a split with these and
:func:`~consortium.points.replay.contributions_from_entries`.
"""

from __future__ import annotations

from collections.abc import Mapping

from consortium.errors import PointsError
from consortium.points.accounts import BPS, TREASURY, account_kind, check_amount, check_bps

SPLIT_RULES = ("pro-rata-contribution", "equal")
"""``pro-rata-contribution``: weights are the contribution points minted for the answering model
version; ``equal``: every contributor of that version weighs 1."""


def split_weights(*, rule: str, contributions: Mapping[str, int]) -> dict[str, int]:
    """Turn contribution points into split weights under the board's ``split_rule``.

    Examples
    --------
    >>> split_weights(rule="equal", contributions={"member:aa": 90, "member:bb": 10})
    {'member:aa': 1, 'member:bb': 1}
    """
    if rule not in SPLIT_RULES:
        raise PointsError(rule, code="unknown-rule", reason=f"use one of {SPLIT_RULES}")
    positive = {a: w for a, w in sorted(contributions.items()) if w > 0}
    if rule == "equal":
        return dict.fromkeys(positive, 1)
    return positive


def largest_remainder(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Divide ``total`` exactly in proportion to positive integer ``weights``.

    Each key gets ``floor(total * w / W)``; the points left over (fewer than the number of keys)
    go one each to the largest remainders ``total * w mod W``, ties broken by key in ascending
    order. The parts sum to ``total`` and depend on nothing but the arguments.

    Examples
    --------
    >>> largest_remainder(10, {"b": 1, "a": 1, "c": 1})
    {'a': 4, 'b': 3, 'c': 3}
    """
    weight_sum = sum(weights.values())
    parts: dict[str, int] = {}
    remainders: list[tuple[int, str]] = []
    for key in sorted(weights):
        share, remainder = divmod(total * weights[key], weight_sum)
        parts[key] = share
        remainders.append((remainder, key))
    left = total - sum(parts.values())
    remainders.sort(key=lambda item: (-item[0], item[1]))
    for _, key in remainders[:left]:
        parts[key] += 1
    return parts


def split_revenue(
    fee: int, *, weights: Mapping[str, int], treasury_share_bps: int
) -> dict[str, int]:
    """Split a fee exactly: the treasury's share, then the rest pro rata by largest remainder.

    The treasury gets ``floor(fee * treasury_share_bps / 10000)``. The rest ``R`` is divided
    among the accounts with a positive weight: each gets ``floor(R * w / W)``, and the points
    left over (fewer than the number of accounts) go one each to the largest remainders
    ``R * w mod W``, ties broken by account id in ascending order. With no positive weight the
    whole fee goes to the treasury. Every part is therefore within 1 of its exact share, the
    parts sum to ``fee`` exactly, and the result depends on nothing but the arguments.

    Parameters
    ----------
    fee
        Points paid, an ``int`` in ``0..MAX_AMOUNT``.
    weights
        Per account, a non-negative ``int`` (contribution points of the answering model).
    treasury_share_bps
        The treasury's share in basis points (``0..10000``).

    Returns
    -------
    dict of str to int
        The positive parts, keyed by account in sorted order; they sum to ``fee``.

    Raises
    ------
    PointsError
        ``bad-amount``, ``bad-share`` or ``bad-account`` for malformed input.

    Examples
    --------
    >>> split_revenue(10, weights={"member:aa": 2, "member:bb": 1}, treasury_share_bps=1000)
    {'member:aa': 6, 'member:bb': 3, 'treasury': 1}
    >>> split_revenue(7, weights={}, treasury_share_bps=1000)
    {'treasury': 7}
    """
    check_amount(fee, subject="fee", allow_zero=True)
    check_bps(treasury_share_bps, subject="treasury_share_bps")
    positive: dict[str, int] = {}
    for account, weight in weights.items():
        account_kind(account)
        check_amount(weight, subject=account, allow_zero=True)
        if weight > 0:
            positive[account] = weight
    treasury = fee * treasury_share_bps // BPS
    parts: dict[str, int] = {}
    if positive:
        parts = largest_remainder(fee - treasury, positive)
    else:
        treasury = fee
    parts[TREASURY] = parts.get(TREASURY, 0) + treasury
    return {account: parts[account] for account in sorted(parts) if parts[account] > 0}
