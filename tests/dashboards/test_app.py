from streamlit.testing.v1 import AppTest

from consortium.config import REPO_ROOT
from tests.dashboards.conftest import RUN_TIMEOUT_S, configure
from tests.queries.world import World


def test_router_opens_on_the_overview_and_switches_pages(world: World) -> None:
    # Prepare
    at = AppTest.from_file(str(REPO_ROOT / "dashboards" / "app.py"), default_timeout=RUN_TIMEOUT_S)
    # Execute
    configure(at, world).run()
    first = at.title[0].value
    at.switch_page("views/ledger.py").run()
    # Assert
    assert not at.exception
    assert first == "Logistics Consortium"
    assert at.title[0].value == "Ledger"
    assert at.success[0].value.startswith("Verified:")
