"""Pure points rules, in one import: accounts, amounts, contribution awards, the split, replay.

Nothing here touches a database: the store (:mod:`consortium.points.store`) applies these rules
inside a transaction, and anyone holding a ledger export can apply them again to recompute every
balance (:func:`replay_balances`) and every revenue split (:func:`split_revenue` over the
weights :func:`contributions_from_entries` rebuilds). Each rule lives in its own module:

* :mod:`consortium.points.accounts`: holder accounts, amounts, payment references;
* :mod:`consortium.points.awards`: the contribution rules (what a round earns each member);
* :mod:`consortium.points.revenue`: the exact revenue split of a paid query;
* :mod:`consortium.points.replay`: journal lines and balances rebuilt from ledger entries.

Points are Python ``int`` everywhere; no float or Decimal is ever involved in an amount.
"""

from __future__ import annotations

from consortium.points.accounts import (
    BPS,
    BURN_SINK,
    CARGO_PREFIX,
    MAX_AMOUNT,
    MEMBER_PREFIX,
    MINT_REASONS,
    MINT_SOURCE,
    TREASURY,
    account_kind,
    cargo_account,
    check_amount,
    check_bps,
    check_external_ref,
    member_account,
)
from consortium.points.awards import (
    CONTRIBUTION_RULES,
    contribution_awards,
    contribution_points,
    quality_awards,
)
from consortium.points.replay import (
    Replay,
    contributions_from_entries,
    journal_lines,
    replay_balances,
)
from consortium.points.revenue import (
    SPLIT_RULES,
    largest_remainder,
    split_revenue,
    split_weights,
)

__all__ = [
    "BPS",
    "BURN_SINK",
    "CARGO_PREFIX",
    "CONTRIBUTION_RULES",
    "MAX_AMOUNT",
    "MEMBER_PREFIX",
    "MINT_REASONS",
    "MINT_SOURCE",
    "SPLIT_RULES",
    "TREASURY",
    "Replay",
    "account_kind",
    "cargo_account",
    "check_amount",
    "check_bps",
    "check_external_ref",
    "contribution_awards",
    "contribution_points",
    "contributions_from_entries",
    "journal_lines",
    "largest_remainder",
    "member_account",
    "quality_awards",
    "replay_balances",
    "split_revenue",
    "split_weights",
]
