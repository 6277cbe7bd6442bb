import json
from collections.abc import Callable
from datetime import date

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from consortium.errors import GovernanceError
from consortium.governance.clock import wait_until
from consortium.governance.execution import execute_proposal
from consortium.governance.store import create_proposal, queue_proposal
from consortium.governance.votes import cast_vote
from consortium.ledger.models import EntryRow
from consortium.points.rules import cargo_account
from consortium.points.store import balance
from consortium.policy.store import change_policy, current_policy
from consortium.queries.lanes import lane_catalogue
from consortium.queries.paid import paid_queries_frame
from tests.dashboards.conftest import VIEWS, configure
from tests.queries.world import LANE, PASSPHRASE, World


def _key(at: AppTest, world: World, *, passphrase: str = PASSPHRASE) -> AppTest:
    at.text_input(key="paid-key").input(str(world.cargo_key))
    at.text_input(key="paid-passphrase").input(passphrase)
    return at.run()


def _lane_form(
    at: AppTest, world: World, *, lane: tuple[str, str, str] = LANE, passphrase: str = PASSPHRASE
) -> AppTest:
    origin, destination, mode = lane
    _key(at, world, passphrase=passphrase)
    at.text_input(key="paid-origin").input(origin)
    at.text_input(key="paid-destination").input(destination)
    at.selectbox(key="paid-mode").set_value(mode)
    at.date_input(key="paid-from").set_value(date.today())
    at.button(key="paid-submit").click()
    return at.run()


def _cargo_balance(world: World) -> int:
    with world.factory.begin() as s:
        return balance(s, cargo_account(world.cargo.key_id))


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_a_sea_lane_is_answered_as_a_card_in_days_with_the_balance(
    page: Callable[..., AppTest], fresh_world: World
) -> None:
    # Prepare: a sea lane from the catalogue the page offers
    with fresh_world.factory.begin() as s:
        catalogue = lane_catalogue(s, model_dir=fresh_world.models.eta_dir)
    sea = catalogue[catalogue["mode"] == "sea"].iloc[0]
    before = _cargo_balance(fresh_world)
    at = page("paid_queries", fresh_world)
    # Execute
    _lane_form(at, fresh_world, lane=(sea["origin"], sea["destination"], "sea"))
    # Assert: charged once, the card speaks days and shows the balance before and after
    assert not at.error
    with fresh_world.factory.begin() as s:
        fee = int(paid_queries_frame(s).iloc[0]["fee"])
    assert _cargo_balance(fresh_world) == before - fee
    metrics = _metrics(at)
    assert metrics["Your balance"] == f"{before} points"
    assert metrics["Balance left"] == f"{before - fee} points"
    assert metrics["Price paid"] == f"{fee} points"
    assert metrics["Typical transit"].endswith(("days", "day"))
    assert "On time (within 1 day of schedule)" in metrics
    assert f"from {before} to {before - fee} points" in at.success[0].value
    assert at.dataframe[1].value["points"].sum() == fee  # the split of this fee
    assert not any(text in str(v) for v in metrics.values() for text in ("None", "nan"))


def test_a_typo_gets_did_you_mean_and_costs_nothing(
    page: Callable[..., AppTest], fresh_world: World
) -> None:
    before = _cargo_balance(fresh_world)
    origin, destination, mode = LANE
    at = _lane_form(page("paid_queries", fresh_world), fresh_world,
                    lane=(origin, destination[:3] + destination[:2:-1], mode))  # fmt: skip
    assert "Did you mean" in at.warning[0].value
    assert f"{origin} > {destination} ({mode})" in at.warning[0].value
    assert _cargo_balance(fresh_world) == before


def test_the_catalogue_lists_and_searches_the_pooled_lanes(
    page: Callable[..., AppTest], world: World
) -> None:
    at = page("paid_queries", world)
    listed = at.dataframe[0].value
    origin, destination, mode = LANE
    assert ((listed["origin"] == origin) & (listed["destination"] == destination)
            & (listed["mode"] == mode)).any()  # fmt: skip
    at.text_input(key="paid-lane-search").input(f"{origin} {mode}").run()
    found = at.dataframe[0].value
    assert 0 < len(found) < len(listed)
    assert set(found["mode"]) == {mode}


def test_a_wrong_passphrase_charges_nothing(
    page: Callable[..., AppTest], fresh_world: World
) -> None:
    before = _cargo_balance(fresh_world)
    at = _lane_form(page("paid_queries", fresh_world), fresh_world, passphrase="wrong")
    assert at.error[0].value.startswith("Not answered, nothing charged.")
    assert "passphrase" in at.error[0].value
    assert _cargo_balance(fresh_world) == before
    assert len(at.dataframe[-2].value) == 1  # the history still holds the world's one query


def test_a_declining_warehouse_is_flagged_before_purchase(
    page: Callable[..., AppTest], world: World
) -> None:
    # Prepare: the synthetic warehouses hold fewer SKU series than the minimum group size
    before = _cargo_balance(world)
    at = page("paid_queries", world, members=True)
    # Execute
    at.radio(key="paid-kind").set_value("warehouse").run()
    _key(at, world)
    # Assert: each is shown as declining with the rule, and none is offered for sale
    offers = at.dataframe[0].value
    assert len(offers) == 3
    assert set(offers["can_answer"]) == {"no"}
    assert offers["why_not"].str.contains("minimum group size").all()
    assert "would decline" in at.warning[0].value
    assert at.button(key="paid-submit").disabled
    assert _cargo_balance(world) == before


def test_without_the_coordinator_key_queries_are_refused(world: World) -> None:
    at = AppTest.from_file(str(VIEWS / "paid_queries.py"), default_timeout=60)
    configure(at, world)
    del at.secrets["coordinator_key"]
    at.run()
    _lane_form(at, world)
    assert "coordinator_key" in at.error[0].value


FAST_VOTE = {"voting_period_s": 1, "timelock_s": 0, "late_quorum_extension_s": 0}


def _board_sets_tolerance(world: World, mode: str, minutes: int) -> None:
    """The board passes and executes an on-time-tolerance proposal on the coordinator's clock."""
    with world.factory.begin() as s:  # a one-second vote and no timelock, for the test
        change_policy(s, changes=FAST_VOTE, signer=world.coordinator)
        proposal = create_proposal(
            s, kind="on-time-tolerance", params={"on_time_tolerance_minutes": {mode: minutes}},
            title=f"On time by {mode}: within {minutes} min", signer=world.members["rhine"],
        )  # fmt: skip
    wait_until(proposal.vote_start)
    for signer in world.members.values():
        try:
            with world.factory.begin() as s:
                cast_vote(s, proposal_id=proposal.proposal_id, support="for", signer=signer)
        except GovernanceError as exc:  # a member with no points at the snapshot
            if exc.code != "not-a-holder":
                raise
    wait_until(proposal.deadline)
    with world.factory.begin() as s:
        queue_proposal(s, proposal_id=proposal.proposal_id, signer=world.coordinator)
        execute_proposal(s, proposal_id=proposal.proposal_id, signer=world.coordinator)


def test_the_card_and_the_answer_use_the_tolerance_the_board_set(
    page: Callable[..., AppTest], fresh_world: World
) -> None:
    # Prepare: the board allows air cargo 4 hours (default: 15 min)
    with fresh_world.factory.begin() as s:
        catalogue = lane_catalogue(s, model_dir=fresh_world.models.eta_dir)
    air = catalogue[catalogue["mode"] == "air"].iloc[0]
    _board_sets_tolerance(fresh_world, "air", 240)
    at = page("paid_queries", fresh_world)
    # Execute
    _lane_form(at, fresh_world, lane=(air["origin"], air["destination"], "air"))
    # Assert: the card reads on time within 4 h, and so does the recorded answer
    assert not at.error, [e.value for e in at.error]
    assert "On time (within 4 h of schedule)" in _metrics(at)
    with fresh_world.factory.begin() as s:
        answered = s.execute(
            select(EntryRow.payload).where(EntryRow.kind == "query-answered")
            .order_by(EntryRow.seq.desc()).limit(1)
        ).scalar_one()  # fmt: skip
        policy = current_policy(s)
    answer = json.loads(answered)["answer"]
    assert (answer["mode"], answer["tolerance_minutes"]) == ("air", 240)
    assert dict(policy.on_time_tolerance_minutes) == {"air": 240, "rail": 720, "road": 60,
                                                      "sea": 1440}  # fmt: skip
