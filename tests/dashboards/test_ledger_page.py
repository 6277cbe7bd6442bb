from collections.abc import Callable

from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from consortium.queries.ledger import ledger_overview
from tests.queries.world import World


def test_ledger_page_verifies_and_lists_recent_entries(
    page: Callable[..., AppTest], world: World
) -> None:
    # Prepare
    with world.factory.begin() as s:
        overview = ledger_overview(s)
    # Execute
    at = page("ledger", world)
    # Assert
    assert overview.latest_head is not None
    assert at.success[0].value.startswith(f"Verified: {overview.size} entries")
    assert overview.latest_head.root in at.success[0].value
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Entries covered"] == str(overview.latest_head.size)
    assert metrics["Tree heads published"] == "2"
    entries = at.dataframe[0].value
    assert entries["seq"].tolist() == list(range(overview.size - 1, -1, -1))[: len(entries)]
    # payloads read as fields, never raw JSON; times to the minute; whole actor names
    shown = entries["what it records"]
    assert not shown.str.startswith("{").any()
    assert shown.str.contains(": ").all()
    assert not shown.str.endswith("\u2026").any()
    assert entries["time"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d \w+").all()
    assert {"member:meridian", "member:rhine"} <= set(entries["actor"])


def test_kind_filter_narrows_the_entries(page: Callable[..., AppTest], world: World) -> None:
    # Prepare
    at = page("ledger", world)
    # Execute
    at.multiselect(key="ledger-kinds").set_value(["vote-cast", "proposal-created"]).run()
    # Assert
    entries = at.dataframe[0].value
    assert sorted(entries["kind"]) == ["proposal-created", "proposal-created", "vote-cast",
                                       "vote-cast"]  # fmt: skip


def test_verify_again_reports_a_rewritten_entry(
    page: Callable[..., AppTest], fresh_world: World
) -> None:
    # Prepare: a verified page, then entry 3's payload changed behind the ledger's back
    at = page("ledger", fresh_world)
    assert at.success[0].value.startswith("Verified:")
    with fresh_world.factory.begin() as s:
        s.execute(text("UPDATE ledger_entries SET payload = :p WHERE seq = 3"), {"p": "{}"})
    still_verified = [s.value for s in at.run().success]
    # Execute
    at.button(key="ledger-verify").click().run()
    # Assert: the size did not change, so only an explicit re-verification sees the tamper
    assert still_verified[0].startswith("Verified:")  # the cached verification
    assert not at.success
    assert at.error[0].value.startswith("Verification failed (first failing entry: 3)")
