from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from consortium.points.store import balances, contributions
from consortium.queries.points import points_overview
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
    assert fields(chart_specs(at)[0]) == {"account", "balance", "kind"}


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
