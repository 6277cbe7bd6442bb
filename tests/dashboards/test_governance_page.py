from collections.abc import Callable

import pandas as pd
from streamlit.testing.v1 import AppTest

from consortium.queries.governance import voting_power_frame
from tests.dashboards.charts import chart_specs, fields
from tests.queries.world import FEES, MEMBERS, MIN_GROUP_SIZE, World

EMPTY = ("None", "nan", "NaN", "<NA>", "NaT")


def _empty_cells(frame: pd.DataFrame) -> list[str]:
    """Every cell (and header) of ``frame`` that shows a missing value as text."""
    found = [str(c) for c in frame.columns if str(c) in EMPTY]
    for column in frame.columns:
        found += [f"{column}: {v!r}" for v in frame[column] if pd.isna(v) or str(v) in EMPTY]
    return found


def test_governance_tables_read_as_text_for_people(
    page: Callable[..., AppTest], world: World
) -> None:
    at = page("governance", world)
    # Assert: proposals with whole names and times to the minute, no empty cell anywhere
    proposals = at.dataframe[0].value.set_index("proposal")
    assert proposals.loc[world.proposal_id, "state"] == "active"
    assert proposals.loc[world.canceled_id, "state"] == "canceled"
    assert set(proposals["proposed by"]) <= set(MEMBERS)  # whole member ids, never cut
    assert proposals["voting closes"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d \w+").all()
    policy = at.dataframe[-2].value.set_index("key")["value"]
    assert policy["min_group_size"] == str(MIN_GROUP_SIZE)
    assert policy["treasury_share_bps"].endswith("%")
    assert policy["voting_period_s"].endswith(("day", "days", "h", "min", "s"))
    history = at.dataframe[-1].value
    assert history["version"].tolist() == [1]
    for number, table in enumerate(at.dataframe):
        assert not _empty_cells(table.value), number


def test_choosing_a_proposal_shows_what_it_changes_its_tally_and_power(
    page: Callable[..., AppTest], world: World
) -> None:
    # Prepare
    with world.factory.begin() as s:
        powers = voting_power_frame(s, world.proposal_id)
    at = page("governance", world)
    # Execute
    at.selectbox(key="gov-proposal").set_value(world.proposal_id).run()
    # Assert
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["State"] == "active"
    assert metrics["Total power at snapshot"] == f"{powers['power'].sum():,}"
    changes = at.dataframe[1].value  # proposals, changes, powers, policy, history
    assert changes.values.tolist() == [
        ["fee: lane query", "10 points", f"{FEES['lane_query_points']} points"],
        ["fee: warehouse query", "25 points", f"{FEES['warehouse_query_points']} points"],
    ]
    shown = at.dataframe[2].value
    assert shown["member"].tolist() == powers["member"].tolist()
    assert shown["power"].tolist() == powers["power"].tolist()
    assert shown["share"].str.endswith("%").all()
    specs = chart_specs(at)
    assert {"power", "support"} <= fields(specs[0])  # the tally, with the quorum rule
    assert len(specs[0]["layer"]) == 2
    assert fields(specs[1]) >= {"member", "power"}
    assert specs[1]["encoding"]["y"]["axis"]["labelLimit"] == 0  # names never cut
