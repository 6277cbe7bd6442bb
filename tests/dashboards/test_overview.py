from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from consortium.queries.ledger import ledger_overview
from consortium.queries.points import points_overview
from tests.dashboards.charts import chart_specs, fields
from tests.queries.world import MEMBERS, World


def test_overview_shows_the_consortium_at_a_glance(
    page: Callable[..., AppTest], world: World
) -> None:
    # Prepare
    with world.factory.begin() as s:
        ledger, points = ledger_overview(s), points_overview(s)
    # Execute
    at = page("overview", world)
    # Assert
    metrics = {m.label: m.value for m in at.metric}
    assert at.title[0].value == "Logistics Consortium"
    assert metrics["Ledger entries"] == str(ledger.size)
    assert metrics["Active members"] == str(len(MEMBERS))
    assert metrics["Points in circulation"] == str(points.circulating)
    assert metrics["Open proposals"] == "1"
    assert metrics["Federated rounds"] == "2"
    assert metrics["Paid queries"] == "1"
    assert [fields(spec) for spec in chart_specs(at)] == [{"kind", "entries"}, {"member", "points"}]
    assert at.dataframe[0].value["member"].tolist() == list(MEMBERS)
