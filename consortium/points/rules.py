"""Pure points rules: accounts, amounts, contribution awards, the revenue split, ledger replay.

Nothing here touches a database: the store (:mod:`consortium.points.store`) applies these rules
inside a transaction, and anyone holding a ledger export can apply them again to recompute every
balance (:func:`replay_balances`) and every revenue split (:func:`split_revenue` over the
weights :func:`contributions_from_entries` rebuilds).

Points are Python ``int`` everywhere; no float or Decimal is ever involved in an amount.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from consortium.errors import PointsError
from consortium.ledger.entry import Entry

# Ledger entry kinds written by the points store.
POINTS_MINTED = "points-minted"
POINTS_DEPOSITED = "points-deposited"
POINTS_REDEEMED = "points-redeemed"
QUERY_SETTLED = "query-settled"
POINTS_KINDS = (POINTS_MINTED, POINTS_DEPOSITED, POINTS_REDEEMED, QUERY_SETTLED)

# Accounts. ``mint`` and ``burn`` are the journal's source and sink: they appear in journal
# lines (so every entry's lines sum to zero) but hold no balance and can never be named by a
# caller. Holder accounts are members, cargo owners and the treasury.
MINT_SOURCE = "mint"
BURN_SINK = "burn"
TREASURY = "treasury"
MEMBER_PREFIX = "member:"
CARGO_PREFIX = "cargo:"
_MEMBER_RE = re.compile(r"^member:[a-z0-9][a-z0-9-]{1,63}$")
_CARGO_RE = re.compile(r"^cargo:[0-9a-f]{64}$")
_EXTERNAL_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/=+-]{0,127}$")

MAX_AMOUNT = 10**12
"""Largest amount of one operation (and of one fee); keeps every sum far inside BIGINT."""

BPS = 10_000
MINT_REASONS = frozenset({"contribution"})
"""Why points may be created: only for contributions, under the board's rule."""

SPLIT_RULES = ("pro-rata-contribution", "equal")
"""``pro-rata-contribution``: weights are the contribution points minted for the answering model
version; ``equal``: every contributor of that version weighs 1."""

CONTRIBUTION_RULES = ("examples", "leave-one-out")
"""``examples``: examples trained in the round (as signed by the member) times the points per
example; ``leave-one-out``: the same round's pot split by each member's first-order
leave-one-out value (how much validation loss the global model would lose without its update,
:mod:`consortium.points.valuation`). Both are capped per member and round; rejected or dropped
members get nothing."""


def account_kind(account: str) -> str:
    """Return ``member``, ``cargo`` or ``treasury`` for a valid holder account.

    Raises
    ------
    PointsError
        ``bad-account`` if ``account`` is not ``member:<member id>``, ``cargo:<key id>`` or
        ``treasury``.

    Examples
    --------
    >>> account_kind("member:meridian-line"), account_kind("treasury")
    ('member', 'treasury')
    """
    if not isinstance(account, str):
        raise PointsError(repr(account), code="bad-account", reason="an account is a string")
    if account == TREASURY:
        return "treasury"
    if _MEMBER_RE.match(account):
        return "member"
    if _CARGO_RE.match(account):
        return "cargo"
    raise PointsError(
        account[:80],
        code="bad-account",
        reason="not an account: use member:<member id>, cargo:<key id> or treasury",
    )


def member_account(member: str) -> str:
    """Return the point account of a member id (validated).

    Examples
    --------
    >>> member_account("meridian-line")
    'member:meridian-line'
    """
    account = MEMBER_PREFIX + member
    account_kind(account)
    return account


def cargo_account(key_id: str) -> str:
    """Return the point account of a cargo owner's registered key id (validated)."""
    account = CARGO_PREFIX + key_id
    account_kind(account)
    return account


def check_amount(amount: object, *, subject: str, allow_zero: bool = False) -> int:
    """Return ``amount`` if it is an ``int`` in ``1..MAX_AMOUNT`` (``0..`` with ``allow_zero``).

    Raises
    ------
    PointsError
        ``bad-amount`` for a bool, float, Decimal, a non-positive or a too-large value.

    Examples
    --------
    >>> check_amount(5, subject="treasury")
    5
    """
    low = 0 if allow_zero else 1
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise PointsError(
            subject, code="bad-amount", reason=f"amount must be an int, got {type(amount).__name__}"
        )
    if not low <= amount <= MAX_AMOUNT:
        raise PointsError(
            subject, code="bad-amount", reason=f"amount {amount} is outside {low}..{MAX_AMOUNT}"
        )
    return amount


def check_external_ref(external_ref: object) -> str:
    """Return a valid external payment reference (a token: no spaces, no personal data).

    Raises
    ------
    PointsError
        ``bad-external-ref`` unless it matches ``[A-Za-z0-9][A-Za-z0-9._:/=+-]{0,127}``.
    """
    if not isinstance(external_ref, str) or not _EXTERNAL_REF_RE.match(external_ref):
        raise PointsError(
            "external_ref",
            code="bad-external-ref",
            reason="an external reference is a short token such as INV-2026-0042 or a hash",
        )
    return external_ref


def check_bps(value: object, *, subject: str) -> int:
    """Return ``value`` if it is an ``int`` basis-point share in ``0..10000``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= BPS:
        raise PointsError(subject, code="bad-share", reason=f"{value!r} is not an int in 0..{BPS}")
    return value


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
        if kind in (POINTS_MINTED, POINTS_DEPOSITED):
            account, amount = str(payload["account"]), int(payload["amount"])  # type: ignore[call-overload]
            return [(MINT_SOURCE, -amount), (account, amount)]
        if kind == POINTS_REDEEMED:
            account, amount = str(payload["account"]), int(payload["amount"])  # type: ignore[call-overload]
            return [(account, -amount), (BURN_SINK, amount)]
        if kind == QUERY_SETTLED:
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
    entries: Iterable[Entry], *, model: str, up_to_round: int | None = None
) -> dict[str, int]:
    """Contribution points minted for ``model`` (rounds ``<= up_to_round``), per account.

    The ledger-only twin of :func:`consortium.points.store.contributions`: with it and
    :func:`split_revenue` anyone recomputes the split recorded in a ``query-settled`` entry.
    """
    totals: dict[str, int] = {}
    for entry in entries:
        if entry.kind != POINTS_MINTED:
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
        account, amount = payload.get("account"), payload.get("amount")
        if isinstance(account, str) and isinstance(amount, int):
            totals[account] = totals.get(account, 0) + amount
    return dict(sorted(totals.items()))
