from collections.abc import Callable
from datetime import date

from streamlit.testing.v1 import AppTest

from consortium.points.rules import cargo_account
from consortium.points.store import balance
from consortium.queries.paid import paid_queries_frame
from tests.dashboards.conftest import VIEWS, configure
from tests.queries.world import LANE, PASSPHRASE, World


def _lane_form(at: AppTest, world: World, *, passphrase: str = PASSPHRASE) -> AppTest:
    origin, destination, mode = LANE
    at.text_input(key="paid-key").input(str(world.cargo_key))
    at.text_input(key="paid-passphrase").input(passphrase)
    at.text_input(key="paid-origin").input(origin)
    at.text_input(key="paid-destination").input(destination)
    at.selectbox(key="paid-mode").set_value(mode)
    at.date_input(key="paid-from").set_value(date.today())
    at.button(key="paid-submit").click()
    return at.run()


def _cargo_balance(world: World) -> int:
    with world.factory.begin() as s:
        return balance(s, cargo_account(world.cargo.key_id))


def test_a_signed_lane_query_is_answered_charged_and_split(
    page: Callable[..., AppTest], fresh_world: World
) -> None:
    # Prepare
    before = _cargo_balance(fresh_world)
    at = page("paid_queries", fresh_world)
    # Execute
    _lane_form(at, fresh_world)
    # Assert
    assert not at.error
    assert at.success[0].value.startswith("Query q-")
    with fresh_world.factory.begin() as s:
        history = paid_queries_frame(s)
    fee = int(history.iloc[0]["fee"])
    assert len(history) == 2
    assert _cargo_balance(fresh_world) == before - fee
    parts = at.dataframe[0].value
    assert parts["points"].sum() == fee
    shown = at.dataframe[1].value
    assert shown["query_id"].tolist() == history["query_id"].tolist()
    assert shown["split_verified"].all()


def test_a_wrong_passphrase_charges_nothing(
    page: Callable[..., AppTest], fresh_world: World
) -> None:
    before = _cargo_balance(fresh_world)
    at = _lane_form(page("paid_queries", fresh_world), fresh_world, passphrase="wrong")
    assert at.error[0].value.startswith("Not answered, nothing charged.")
    assert "passphrase" in at.error[0].value
    assert _cargo_balance(fresh_world) == before
    assert len(at.dataframe[0].value) == 1  # the history still holds the world's one query


def test_a_declined_warehouse_query_costs_nothing(
    page: Callable[..., AppTest], fresh_world: World
) -> None:
    # Prepare: the synthetic warehouses hold fewer SKU series than the minimum group size
    before = _cargo_balance(fresh_world)
    at = page("paid_queries", fresh_world, members=True)
    at.radio(key="paid-kind").set_value("warehouse").run()
    warehouses = at.selectbox(key="paid-warehouse").options
    # Execute
    at.text_input(key="paid-key").input(str(fresh_world.cargo_key))
    at.text_input(key="paid-passphrase").input(PASSPHRASE)
    at.selectbox(key="paid-warehouse").set_value(warehouses[0])
    at.button(key="paid-submit").click().run()
    # Assert
    assert len(warehouses) == 3
    assert "[declined]" in at.error[0].value
    assert _cargo_balance(fresh_world) == before


def test_without_the_coordinator_key_queries_are_refused(world: World) -> None:
    at = AppTest.from_file(str(VIEWS / "paid_queries.py"), default_timeout=60)
    configure(at, world)
    del at.secrets["coordinator_key"]
    at.run()
    _lane_form(at, world)
    assert "coordinator_key" in at.error[0].value
