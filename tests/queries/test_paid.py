from consortium.points.rules import cargo_account
from consortium.policy.store import current_policy
from consortium.queries.paid import (
    answer_summary,
    paid_queries_frame,
    query_splits_frame,
    revenue_by_account,
    split_checks,
)
from tests.queries.world import LANE, World


def test_history_lists_the_paid_query_with_its_fee_and_answer(world: World) -> None:
    with world.factory.begin() as s:
        history = paid_queries_frame(s)
        fee = current_policy(s).fees["lane"]
    assert len(history) == 1
    row = history.iloc[0]
    assert row["query_id"] == world.paid.query_id
    assert row["kind"] == "lane"
    assert row["fee"] == world.paid.fee == fee
    assert cargo_account(world.cargo.key_id).startswith(row["payer"])
    assert row["model_round"] == world.paid.model_round == 2
    assert row["answered_seq"] == world.paid.answered_seq
    assert row["settled_seq"] == world.paid.settled_seq
    origin, destination, mode = LANE
    assert row["answer"].startswith(f"{origin}>{destination} {mode}: on time ")


def test_splits_are_the_parts_that_were_paid(world: World) -> None:
    with world.factory.begin() as s:
        splits = query_splits_frame(s)
        only = query_splits_frame(s, query_ids=["q-none"])
    assert dict(zip(splits["account"], splits["amount"], strict=True)) == dict(world.paid.parts)
    assert splits["amount"].sum() == world.paid.fee
    assert set(splits["kind"]) <= {"member", "treasury"}
    assert only.empty


def test_every_split_recomputes_from_the_ledger(world: World) -> None:
    with world.factory.begin() as s:
        checks = split_checks(s, query_ids=[world.paid.query_id, "q-never-asked"])
    rows = checks.set_index("query_id")
    assert bool(rows.loc[world.paid.query_id, "matches"])
    assert rows.loc[world.paid.query_id, "fee"] == world.paid.fee
    assert not bool(rows.loc["q-never-asked", "matches"])
    assert "not-answered" in rows.loc["q-never-asked", "problem"]


def test_revenue_by_account_sums_the_parts(world: World) -> None:
    with world.factory.begin() as s:
        revenue = revenue_by_account(query_splits_frame(s))
        none = revenue_by_account(query_splits_frame(s, query_ids=[]))
    assert dict(zip(revenue["account"], revenue["points"], strict=True)) == dict(world.paid.parts)
    assert revenue["points"].is_monotonic_decreasing
    assert none.empty
    assert list(none.columns) == ["account", "points"]


def test_answer_summary_of_a_warehouse_answer() -> None:
    text = answer_summary(
        "warehouse",
        {"warehouse_id": "WH-NLRTM-01", "horizon_days": 7, "p_stockout_mean": 0.125,
         "sku_series": 20},
    )  # fmt: skip
    assert text == "WH-NLRTM-01 7 d: stock-out 12.5 % of 20+ SKU series"
