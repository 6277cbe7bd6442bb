"""Contribution awards: the points one round earns each member under the board's rule (pure).

``examples`` (the default) pays the examples a member trained, capped per round;
``leave-one-out`` splits the same pot by each member's quality score
(:mod:`consortium.points.valuation`). The coordinator's recorder
(:mod:`consortium.contributions.recording`) applies them after every round.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from consortium.errors import PointsError
from consortium.points.accounts import account_kind, check_amount
from consortium.points.revenue import largest_remainder

CONTRIBUTION_RULES = ("examples", "leave-one-out")
"""``examples``: examples trained in the round (as signed by the member) times the points per
example; ``leave-one-out``: the same round's pot split by each member's first-order
leave-one-out value (how much validation loss the global model would lose without its update,
:mod:`consortium.points.valuation`). Both are capped per member and round; rejected or dropped
members get nothing."""


def contribution_points(*, examples: int, points_per_example: int, cap: int) -> int:
    """Points one member earns in one round: ``min(examples * points_per_example, cap)``.

    Parameters
    ----------
    examples
        Examples the member trained on in the round, as it signed them; 0 for a member whose
        update was rejected or who dropped.
    points_per_example
        The board's rate (``ConsortiumPolicy.points_per_example``).
    cap
        The board's cap per member and round (``ConsortiumPolicy.contribution_cap_per_round``).

    Raises
    ------
    PointsError
        ``bad-amount`` if any argument is not a non-negative int.

    Examples
    --------
    >>> contribution_points(examples=1200, points_per_example=1, cap=5000)
    1200
    >>> contribution_points(examples=9000, points_per_example=1, cap=5000)
    5000
    """
    for name, value in (("examples", examples), ("points_per_example", points_per_example),
                        ("cap", cap)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise PointsError(name, code="bad-amount", reason=f"{value!r} is not an int >= 0")
    return min(examples * points_per_example, cap)


def contribution_awards(
    *,
    rule: str,
    scores: Mapping[str, int],
    accepted: Iterable[str],
    points_per_example: int,
    cap: int,
    quality: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Points to mint after one round, per member account, under the board's rule.

    Parameters
    ----------
    rule
        One of :data:`CONTRIBUTION_RULES`.
    scores
        Per member account: examples trained in the round, as the member signed them.
    accepted
        Accounts whose update was accepted into the aggregate; everyone else gets nothing.
    points_per_example, cap
        The board's rate and per-round cap.
    quality
        ``leave-one-out`` only: the round's integer quality scores per account
        (:func:`consortium.points.valuation.quality_scores`); see :func:`quality_awards`.

    Returns
    -------
    dict of str to int
        Positive awards only, keyed by account, sorted.

    Raises
    ------
    PointsError
        ``unknown-rule`` or ``bad-amount``/``bad-account`` for malformed input.

    Examples
    --------
    >>> contribution_awards(rule="examples", scores={"member:aa": 900, "member:bb": 7000,
    ...                     "member:cc": 50}, accepted=["member:aa", "member:bb"],
    ...                     points_per_example=1, cap=5000)
    {'member:aa': 900, 'member:bb': 5000}
    """
    if rule not in CONTRIBUTION_RULES:
        raise PointsError(rule, code="unknown-rule", reason=f"use one of {CONTRIBUTION_RULES}")
    for account in scores:
        if account_kind(account) != "member":
            raise PointsError(account, code="bad-account", reason="only members earn points")
    if rule == "leave-one-out":
        if quality is None:
            raise PointsError(rule, code="no-quality", reason="leave-one-out needs quality scores")
        return quality_awards(
            quality=quality,
            examples=scores,
            accepted=accepted,
            points_per_example=points_per_example,
            cap=cap,
        )
    return _examples_awards(scores, accepted, points_per_example=points_per_example, cap=cap)


def _examples_awards(
    examples: Mapping[str, int], accepted: Iterable[str], *, points_per_example: int, cap: int
) -> dict[str, int]:
    """Apply the ``examples`` rule: ``min(examples * rate, cap)`` per accepted account."""
    keep = set(accepted)
    awards: dict[str, int] = {}
    for account in sorted(examples):
        points = contribution_points(
            examples=examples[account], points_per_example=points_per_example, cap=cap
        )
        if account in keep and points > 0:
            awards[account] = points
    return awards


def quality_awards(
    *,
    quality: Mapping[str, int],
    examples: Mapping[str, int],
    accepted: Iterable[str],
    points_per_example: int,
    cap: int,
) -> dict[str, int]:
    """Points to mint under ``leave-one-out``: the round's pot, split by quality score.

    The pot is what the ``examples`` rule would mint for the accepted members
    (``Σ min(examples_i * points_per_example, cap)``), so the board's rate and cap bound the
    supply exactly as under the default rule. It is divided in proportion to the positive
    integer ``quality`` scores by largest remainder, and each award is capped at ``cap``
    (what a cap cuts off is not minted). Members with no positive score get nothing; a round
    where nobody has one mints nothing.

    Examples
    --------
    >>> quality_awards(quality={"member:aa": 750000, "member:bb": 250000, "member:cc": 0},
    ...                examples={"member:aa": 100, "member:bb": 900, "member:cc": 500},
    ...                accepted=["member:aa", "member:bb", "member:cc"],
    ...                points_per_example=1, cap=5000)
    {'member:aa': 1125, 'member:bb': 375}
    """
    keep = set(accepted)
    pot = sum(
        _examples_awards(examples, keep, points_per_example=points_per_example, cap=cap).values()
    )
    for account, value in quality.items():
        check_amount(value, subject=account, allow_zero=True)
    positive = {a: q for a, q in quality.items() if a in keep and q > 0}
    if not positive or pot == 0:
        return {}
    shares = largest_remainder(pot, positive)
    return {a: min(p, cap) for a, p in sorted(shares.items()) if min(p, cap) > 0}
