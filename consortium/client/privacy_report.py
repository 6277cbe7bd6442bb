"""A member's privacy report: ε spent per model and per round against its budget, and what ε omits.

Read from the model cards a federation writes (``federation.round_reports`` and
``privacy.not_covered_by_epsilon``): nothing here is sent anywhere, and the figures are the same
ones the ledger records for each round.

Examples
--------
>>> card = {"kind": "eta", "federation": {"round_reports": [
...     {"server_round": 1, "status": "ok", "epsilon_spent": {"a": 1.5}},
...     {"server_round": 2, "status": "ok", "epsilon_spent": {"a": 2.75}}]},
...     "privacy": {"not_covered_by_epsilon": "exact secure sums"}}
>>> report = privacy_report({"eta": card}, member="a", budgets={"eta": 4.0})
>>> columns = ["epsilon_this_round", "epsilon_spent", "budget_used_percent"]
>>> report.rounds[columns].to_numpy().tolist()
[[1.5, 1.5, 37.5], [1.25, 2.75, 68.75]]
>>> report.not_covered["eta"]
'exact secure sums'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from consortium.errors import ConfigError

__all__ = ["PrivacyReport", "privacy_report"]

_COLUMNS = ["model", "round", "status", "epsilon_this_round", "epsilon_spent", "budget",
            "budget_used_percent"]  # fmt: skip


@dataclass(frozen=True)
class PrivacyReport:
    """One member's ε, round by round per model, and what ε does not cover, per model."""

    member: str
    rounds: pd.DataFrame
    """One row per model and round: ``epsilon_this_round``, ``epsilon_spent`` (so far),
    ``budget`` and ``budget_used_percent``."""
    not_covered: dict[str, str] = field(default_factory=dict)
    """Per model, the card's ``privacy.not_covered_by_epsilon``."""
    absent: tuple[str, ...] = ()
    """Models the member took no part in (no ε spent on them)."""

    def summary(self) -> pd.DataFrame:
        """Return one row per model: ε spent in the end, the budget and the share used (%)."""
        if self.rounds.empty:
            return pd.DataFrame(columns=["epsilon_spent", "budget", "budget_used_percent"])
        last = self.rounds.groupby("model").tail(1).set_index("model")
        return last[["epsilon_spent", "budget", "budget_used_percent"]]

    def over_budget(self) -> list[str]:
        """Return a warning line for every round past the budget (empty: within budget)."""
        over = self.rounds[self.rounds["epsilon_spent"] > self.rounds["budget"] + 1e-9]
        return [
            f"⚠ {self.member}: {r.model} round {r.round} spent ε {r.epsilon_spent:.2f}, "
            f"over the budget of {r.budget:.2f}"
            for r in over.itertuples()
        ]


def privacy_report(
    cards: Mapping[str, Mapping[str, Any]], *, member: str, budgets: Mapping[str, float]
) -> PrivacyReport:
    """Build ``member``'s privacy report from each model's card.

    Parameters
    ----------
    cards
        Model name (``eta``, ``stock``) to its federated model card.
    member
        The member id.
    budgets
        Model name to the member's total ε budget for it.

    Raises
    ------
    ConfigError
        A card without round reports, or a model the member took part in with no budget given.
    """
    rows: list[dict[str, object]] = []
    absent: list[str] = []
    not_covered: dict[str, str] = {}
    for model, card in cards.items():
        reports = card.get("federation", {}).get("round_reports")
        if not reports:
            raise ConfigError("cards", f"{model}: the card has no round reports")
        not_covered[model] = str(card.get("privacy", {}).get("not_covered_by_epsilon", ""))
        mine = [r for r in reports if member in r.get("epsilon_spent", {})]
        if not mine:
            absent.append(model)
            continue
        if model not in budgets:
            raise ConfigError("budgets", f"{model}: no ε budget given for {member}")
        budget, before = float(budgets[model]), 0.0
        for report in sorted(mine, key=lambda r: int(r["server_round"])):
            spent = float(report["epsilon_spent"][member])
            rows.append({
                "model": model, "round": int(report["server_round"]),
                "status": str(report.get("status", "")), "epsilon_this_round": spent - before,
                "epsilon_spent": spent, "budget": budget,
                "budget_used_percent": 100.0 * spent / budget if budget > 0 else float("nan"),
            })  # fmt: skip
            before = spent
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    return PrivacyReport(member=member, rounds=frame, not_covered=not_covered,
                         absent=tuple(absent))  # fmt: skip
