"""A member's privacy report: ε per model and round against its budget, and what ε omits."""

from __future__ import annotations

from typing import Any

import pytest

from consortium.client.privacy_report import privacy_report
from consortium.errors import ConfigError


def _card(
    spent: list[dict[str, float]], *, not_covered: str = "exact secure sums"
) -> dict[str, Any]:
    reports = [{"server_round": i + 1, "status": "ok", "epsilon_spent": s}
               for i, s in enumerate(spent)]  # fmt: skip
    return {"federation": {"round_reports": reports},
            "privacy": {"not_covered_by_epsilon": not_covered}}  # fmt: skip


def test_report_gives_each_rounds_share_and_the_running_total_against_the_budget() -> None:
    # Prepare
    cards = {"eta": _card([{"a": 1.0, "b": 0.5}, {"a": 2.5, "b": 1.0}], not_covered="sums"),
             "stock": _card([{"w": 3.0}], not_covered="stock sums")}  # fmt: skip

    # Execute
    report = privacy_report(cards, member="a", budgets={"eta": 5.0})

    # Assert
    rows = report.rounds.to_dict("records")
    assert [(r["model"], r["round"]) for r in rows] == [("eta", 1), ("eta", 2)]
    assert [r["epsilon_this_round"] for r in rows] == pytest.approx([1.0, 1.5])
    assert [r["budget_used_percent"] for r in rows] == pytest.approx([20.0, 50.0])
    assert report.summary().loc["eta", "epsilon_spent"] == pytest.approx(2.5)
    assert report.absent == ("stock",)
    assert report.not_covered == {"eta": "sums", "stock": "stock sums"}
    assert report.over_budget() == []


def test_a_round_past_the_budget_gets_a_warning_line() -> None:
    # Execute
    report = privacy_report({"eta": _card([{"a": 1.0}, {"a": 4.2}])}, member="a",
                            budgets={"eta": 4.0})  # fmt: skip

    # Assert
    lines = report.over_budget()
    assert len(lines) == 1
    assert "round 2" in lines[0]
    assert "over the budget of 4.00" in lines[0]


def test_a_model_the_member_trained_without_a_budget_is_refused() -> None:
    with pytest.raises(ConfigError, match="no ε budget"):
        privacy_report({"eta": _card([{"a": 1.0}])}, member="a", budgets={})


def test_a_card_without_round_reports_is_refused() -> None:
    with pytest.raises(ConfigError, match="no round reports"):
        privacy_report({"eta": {"federation": {}}}, member="a", budgets={"eta": 1.0})
