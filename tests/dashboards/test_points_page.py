from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from consortium.points.store import balances, contributions
from consortium.queries.points import points_history_frame, points_overview
from tests.dashboards.charts import chart_specs, fields
from tests.queries.world import World


def test_points_page_shows_supply_and_balances(page: Callable[..., AppTest], world: World) -> None:
    # Prepare
    with world.factory.begin() as s:
        overview, held = points_overview(s), balances(s)
    # Execute
    at = page("points", world)
    # Assert
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Minted"] == str(overview.minted)
    assert metrics["In circulation"] == str(overview.circulating)
    assert metrics["Held by cargo owners"] == str(overview.cargo_points)
    assert at.success[0].value.startswith("The books balance")
    table = at.dataframe[0].value
    assert dict(zip(table["account"], table["balance"], strict=True)) == held
    over_time, by_account = chart_specs(at)[:2]
    assert fields(over_time) == {"time", "points", "member"}
    assert fields(by_account) == {"account", "balance", "kind"}
    assert by_account["encoding"]["y"]["axis"]["labelLimit"] == 0  # whole account names


def test_points_over_time_end_at_each_members_balance(world: World) -> None:
    with world.factory.begin() as s:
        history, held = points_history_frame(s), balances(s)
    last = history.groupby("member")["points"].last()
    assert {f"member:{m}": int(p) for m, p in last.items()} == {
        a: b for a, b in held.items() if a.startswith("member:")
    }
    assert history["seq"].is_monotonic_increasing


def test_kind_filter_keeps_member_accounts(page: Callable[..., AppTest], world: World) -> None:
    at = page("points", world)
    at.multiselect(key="points-kinds").set_value(["member"]).run()
    table = at.dataframe[0].value
    assert set(table["kind"]) == {"member"}
    assert table["account"].str.startswith("member:").all()


def test_contributions_table_lists_what_each_round_paid(
    page: Callable[..., AppTest], world: World
) -> None:
    with world.factory.begin() as s:
        minted = contributions(s, model="eta")
    at = page("points", world)
    (table,) = [d.value for d in at.dataframe if "points" in d.value.columns]
    assert set(table.columns) >= {"model", "round", "rule", "member", "examples", "points"}
    paid = table.groupby("member")["points"].sum()
    assert {f"member:{m}": int(p) for m, p in paid.items() if p} == minted
