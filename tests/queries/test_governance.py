from datetime import UTC, datetime, timedelta

import pytest

from consortium.errors import GovernanceError
from consortium.governance.rules import quorum
from consortium.governance.store import get_proposal, proposal_state, voting_power
from consortium.queries.governance import (
    proposal,
    proposals,
    proposals_frame,
    tally_frame,
    voting_power_frame,
)
from tests.queries.world import MEMBERS, TIMINGS, World


def test_proposals_show_state_tally_and_quorum(world: World) -> None:
    # Execute
    now = datetime.now(UTC)
    with world.factory.begin() as s:
        views = proposals(s, now=now)
        rhine = voting_power(s, world.proposal_id, "rhine")
        meridian = voting_power(s, world.proposal_id, "meridian")
        record = get_proposal(s, world.proposal_id)
    # Assert
    by_id = {v.proposal_id: v for v in views}
    assert [v.proposal_id for v in views] == [world.canceled_id, world.proposal_id]
    assert by_id[world.canceled_id].state == "canceled"
    fees = by_id[world.proposal_id]
    assert fees.state == "active"
    assert fees.kind == "fees"
    assert fees.proposer == "meridian"
    assert (fees.for_power, fees.against_power, fees.abstain_power) == (rhine, meridian, 0)
    assert fees.votes == 2
    assert fees.snapshot_fixed
    assert fees.total_power == record.total_power
    assert fees.quorum_power == quorum(record.total_power, quorum_bps=TIMINGS["quorum_bps"])
    assert fees.quorum_reached == (rhine >= fees.quorum_power)


def test_state_follows_the_clock(world: World) -> None:
    later = datetime.now(UTC) + timedelta(days=8)
    with world.factory.begin() as s:
        view = proposal(s, world.proposal_id, now=later)
        expected = proposal_state(s, world.proposal_id, now=later)
    assert view.state == str(expected) == "succeeded"


def test_voting_power_is_capped_at_the_snapshot(world: World) -> None:
    # Execute
    with world.factory.begin() as s:
        powers = voting_power_frame(s, world.proposal_id).set_index("member")
        view = proposal(s, world.proposal_id, now=datetime.now(UTC))
    # Assert
    assert set(powers.index) == set(MEMBERS)
    assert powers["power"].sum() == view.total_power
    assert powers.loc["rhine", "power"] < powers.loc["rhine", "balance_at_snapshot"]  # capped
    cap = powers["balance_at_snapshot"].sum() * TIMINGS["vote_power_cap_bps"] // 10_000
    assert powers.loc["rhine", "power"] == cap
    assert powers.loc["rhine", "support"] == "for"
    assert powers.loc["rhine", "vote_power"] == powers.loc["rhine", "power"] == view.for_power
    assert powers.loc["meridian", "support"] == "against"
    assert powers.loc["silk", "support"] == ""
    assert powers.loc["silk", "vote_power"] == 0


def test_tally_frame_has_one_row_per_choice(world: World) -> None:
    with world.factory.begin() as s:
        view = proposal(s, world.proposal_id, now=datetime.now(UTC))
    frame = tally_frame(view)
    assert frame["support"].tolist() == ["for", "against", "abstain"]
    assert frame["power"].tolist() == [view.for_power, view.against_power, view.abstain_power]
    assert proposals_frame([view]).loc[0, "proposal_id"] == world.proposal_id


def test_unknown_proposal_is_refused(world: World) -> None:
    with world.factory.begin() as s, pytest.raises(GovernanceError) as caught:
        voting_power_frame(s, "p-0000000000000000")
    assert caught.value.code == "unknown-proposal"
