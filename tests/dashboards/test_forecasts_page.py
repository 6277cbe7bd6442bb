from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from streamlit.testing.v1 import AppTest

from consortium.client.connection import load_warehouses
from consortium.evaluation.value import value_table
from consortium.queries.lanes import lane_preview
from consortium.queries.value import value_path
from consortium.queries.warehouses import stock_reliability
from tests.dashboards.charts import chart_specs, fields
from tests.dashboards.conftest import VIEWS
from tests.queries.world import LANE, MEMBERS, MIN_GROUP_SIZE, World

DAY = date(2026, 6, 1)


def _ask(at: AppTest, origin: str, destination: str, mode: str) -> AppTest:
    at.text_input(key="preview-origin").input(origin)
    at.text_input(key="preview-destination").input(destination)
    at.selectbox(key="preview-mode").set_value(mode)
    at.date_input(key="preview-from").set_value(DAY)
    at.number_input(key="preview-days").set_value(14)
    at.button(key="preview-submit").click()
    return at.run()


def test_lane_preview_shows_the_pooled_models_answer(
    page: Callable[..., AppTest], world: World
) -> None:
    # Prepare
    start = datetime.combine(DAY, time(0, 0), tzinfo=UTC)
    origin, destination, mode = LANE
    with world.factory.begin() as s:
        expected = lane_preview(
            s, model_dir=world.models.eta_dir, origin=origin, destination=destination, mode=mode,
            departure_from=start, departure_to=start + timedelta(days=14),
        )  # fmt: skip
    at = page("forecasts", world)
    # Execute
    _ask(at, origin, destination, mode)
    # Assert: a card in the road mode's units, the on-time share at the road tolerance
    assert not at.error
    metrics = {m.label: m.value for m in at.metric}
    hours = expected.transit_hours_median
    assert metrics["Typical transit"] == f"{hours:.1f} h".replace(".0 h", " h")
    assert "On time (within 1 h of schedule)" in metrics
    assert metrics["On time (within 1 h of schedule)"].endswith("%")
    interval = chart_specs(at)[0]
    assert len(interval["layer"]) == 2
    assert "transit" in fields(interval)
    assert interval["height"] >= 100  # not a 20-pixel strip
    assert f"{expected.departures} departures" in at.caption[1].value


def test_lane_preview_explains_a_refusal(page: Callable[..., AppTest], world: World) -> None:
    at = _ask(page("forecasts", world), "ITMIL", "FRPAR", "air")
    assert "[unknown-lane]" in at.error[0].value
    assert "Did you mean ITMIL > FRPAR (road)" in at.info[0].value


def test_model_cards_chart_member_metrics_and_epsilon(
    page: Callable[..., AppTest], world: World
) -> None:
    # Execute
    at = page("forecasts", world)
    at.selectbox(key="cards-metric").set_value("rmse").run()
    # Assert
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Kind"], metrics["Members"], metrics["Rounds"]) == ("eta", "4", "2")
    specs = chart_specs(at)
    assert fields(specs[0]) == {"member", "value"}
    assert {"round", "epsilon_spent", "member", "cap"} <= fields(specs[1])
    assert len(specs[1]["layer"]) == 2  # the members' lines and the board's cap
    rounds = at.dataframe[0].value
    assert rounds["round"].tolist() == [1, 2]
    assert set(at.selectbox(key="cards-metric").options) >= {"mae", "rmse", "coverage"}
    assert len(MEMBERS) == 4


def test_a_card_without_rounds_says_so(page: Callable[..., AppTest], world: World) -> None:
    at = page("forecasts", world)
    at.selectbox(key="cards-model").set_value(str(world.models.stock_dir)).run()
    infos = [i.value for i in at.info]
    assert any("no per-member metrics" in text for text in infos)
    assert any("No round has been recorded" in text for text in infos)
    assert at.dataframe[0].value["status"].tolist() == ["failed"]


def test_without_a_models_folder_the_page_says_how_to_set_one(world: World) -> None:
    at = AppTest.from_file(str(VIEWS / "forecasts.py"), default_timeout=60)
    at.secrets["database_url"] = world.url
    at.run()
    assert not at.exception
    assert "No models folder configured" in at.info[0].value


def test_the_value_of_joining_is_charted_from_the_value_table(
    page: Callable[..., AppTest], world: World
) -> None:
    # Prepare: what `consortium value` writes next to the pooled model (value_table's own shape)
    scores = {
        member: pd.DataFrame(
            {"mae": [40.0, 30.0 + i, 25.0, 22.0 + i], "n": [50, 50, 50, 50]},
            index=pd.Index(["timetable", "lightgbm", "pooled", "own"], name="model"),
        )
        for i, member in enumerate(MEMBERS.values())
    }
    table = value_table(scores, metric="mae", local_only=("lightgbm",))
    path = value_path(world.models.eta_dir)
    table.to_csv(path)
    try:
        # Execute
        at = page("forecasts", world)
    finally:
        path.unlink()
    # Assert: a bar per member and model, and each member's gain in percent
    (spec,) = [s for s in chart_specs(at) if "score" in fields(s)]
    assert fields(spec) >= {"member", "model", "score"}
    assert spec["encoding"]["x"]["axis"]["title"].startswith("MAE of the arrival delay (minutes)")
    gains = at.dataframe[0].value.set_index("member")["gain over its best local model"]
    assert gains["meridian-line"] == "+26.7 %"  # (30 - 22) / 30


def test_a_stock_card_shows_the_reliability_of_its_probabilities(
    page: Callable[..., AppTest], world: World
) -> None:
    at = page("forecasts", world, members=True)
    at.selectbox(key="cards-model").set_value(str(world.models.stock_dir)).run()
    assert not at.exception
    (spec,) = [s for s in chart_specs(at) if "observed" in fields(s)]
    assert {"predicted", "observed", "count"} <= fields(spec)
    assert spec["layer"][1]["encoding"]["x"]["axis"]["title"] == (
        "predicted stock-out probability (%)"
    )
    with world.factory.begin() as s:
        curve = stock_reliability(s, answerer=load_warehouses(world.models.synth_dir),
                                  model_dir=world.models.stock_dir)  # fmt: skip
    assert not curve.empty
    assert curve["count"].min() >= MIN_GROUP_SIZE  # no bin smaller than the minimum group
    assert curve["observed_rate"].between(0, 1).all()
