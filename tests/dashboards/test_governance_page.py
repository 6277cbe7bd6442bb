from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from consortium.queries.governance import voting_power_frame
from tests.dashboards.charts import chart_specs, fields
from tests.queries.world import MIN_GROUP_SIZE, World


def test_governance_page_lists_proposals_and_the_policy(
    page: Callable[..., AppTest], world: World
) -> None:
    at = page("governance", world)
    proposals = at.dataframe[0].value.set_index("proposal_id")
    assert proposals.loc[world.proposal_id, "state"] == "active"
    assert proposals.loc[world.canceled_id, "state"] == "canceled"
    policy = at.dataframe[-2].value.set_index("parameter")["value"]
    assert policy["min_group_size"] == str(MIN_GROUP_SIZE)
    history = at.dataframe[-1].value
    assert history["version"].tolist() == [1]


def test_choosing_a_proposal_shows_its_tally_and_voting_power(
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
    assert metrics["Total power at snapshot"] == str(powers["power"].sum())
    shown = at.dataframe[1].value
    assert shown[["member", "power", "support"]].values.tolist() == (
        powers[["member", "power", "support"]].values.tolist()
    )
    specs = chart_specs(at)
    assert {"power", "support"} <= fields(specs[0])  # the tally, with the quorum rule
    assert len(specs[0]["layer"]) == 2
    assert fields(specs[1]) == {"member", "power"}
