"""Price a paid query and split its fee among the contributors of the answering model version.

The fee is ``policy.fees[kind]`` of the policy in force. The split goes to the contributors of the
model version that answered: the round whose ``round-completed`` entry produced that version is
found through the round index (:func:`consortium.points.rounds.run_round_of_version`, an indexed
column, never a search of the entries' text), the contribution points minted for that model by
that round's federation run up to that round are the weights (under the board's ``split_rule``;
another run of the same model on the same database weighs nothing), and
:func:`consortium.points.rules.split_revenue` divides the fee exactly, the board's treasury share
first. A version no round produced (a model trained outside the federation) weighs every
contribution minted for that model so far.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from consortium.errors import InsufficientPoints, QueryRejected
from consortium.forecasts.messages import CheckedQuery
from consortium.forecasts.store import seen_before
from consortium.points import store as points
from consortium.points.rounds import run_round_of_version
from consortium.points.rules import cargo_account, split_revenue, split_weights
from consortium.policy.model import ConsortiumPolicy
from consortium.policy.store import current_policy

logger = logging.getLogger(__name__)

MODEL_OF_KIND: Mapping[str, str] = {"lane": "eta", "warehouse": "stock"}
"""Which pooled model answers each query kind (the ``model`` of its contribution mints)."""


@dataclass(frozen=True)
class Quote:
    """A checked query with its price: what :func:`quote_query` establishes before answering."""

    checked: CheckedQuery
    payer: str
    fee: int
    min_group_size: int
    on_time_tolerance_minutes: Mapping[str, int] = field(default_factory=dict)
    """The board's on-time tolerance per mode when priced (a lane answer reads its mode's)."""


def price_query(session: Session, checked: CheckedQuery) -> tuple[Quote, ConsortiumPolicy]:
    """Price a checked query with the policy in force; read-only.

    Refuses replays (query id or nonce already answered), a fee above ``max_price_points`` and
    a balance below the fee. Returns the quote and the policy it was priced with.

    Raises
    ------
    QueryRejected
        ``replay``, ``not-offered`` or ``over-max-price``.
    InsufficientPoints
        The owner's balance is below the fee.
    """
    subject = checked.subject
    if seen_before(session, query_id=checked.query_id, nonce=checked.nonce):
        raise QueryRejected(subject, code="replay", reason="this query id or nonce was used before")
    policy = current_policy(session)
    fee = policy.fees.get(checked.kind)
    if not isinstance(fee, int) or isinstance(fee, bool) or fee < 0:
        raise QueryRejected(subject, code="not-offered", reason="the fee schedule has no price")
    if fee > checked.max_price_points:
        raise QueryRejected(
            subject,
            code="over-max-price",
            reason=f"the fee is {fee} points, above max_price_points {checked.max_price_points}",
        )
    payer = cargo_account(checked.issuer_key_id)
    available = points.balance(session, payer)
    if available < fee:
        raise InsufficientPoints(payer, available, fee)
    quote = Quote(checked=checked, payer=payer, fee=fee, min_group_size=policy.min_group_size,
                  on_time_tolerance_minutes=policy.on_time_tolerance_minutes)  # fmt: skip
    return quote, policy


def split_fee(
    session: Session, *, quote: Quote, policy: ConsortiumPolicy, model_version: str
) -> tuple[int | None, str | None, dict[str, int]]:
    """Return the round and run that produced ``model_version`` (if any) and the fee's split.

    The weights are the contributions minted for that run of the model up to that round, so
    two federations of the same model on one database never share each other's fees.

    Examples
    --------
    >>> # round_, run, parts = split_fee(session, quote=quote, policy=policy,
    >>> #                                model_version=answer.model_version)
    >>> # sum(parts.values()) == quote.fee
    """
    model = MODEL_OF_KIND[quote.checked.kind]
    found = run_round_of_version(session, model=model, version=model_version)
    run, round_ = (None, None) if found is None else found
    weights = split_weights(
        rule=policy.split_rule,
        contributions=points.contributions(session, model=model, up_to_round=round_, run_id=run),
    )
    return (
        round_,
        run,
        split_revenue(quote.fee, weights=weights, treasury_share_bps=policy.treasury_share_bps),
    )
