import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from consortium.ledger.signing import Signer
from consortium.policy.model import ConsortiumPolicy
from consortium.policy.store import change_policy, current_policy
from consortium.queries.policy import (
    flatten_policy,
    policy_history_frame,
    policy_in_force,
    policy_parameters,
)
from tests.queries.world import MIN_GROUP_SIZE, TIMINGS, World


def test_policy_in_force_is_the_latest_version_with_its_entry(world: World) -> None:
    with world.factory.begin() as s:
        in_force = policy_in_force(s)
        current = current_policy(s)
    assert in_force.version == 1
    assert in_force.proposal_id is None
    assert in_force.seq is not None
    assert in_force.time is not None
    assert in_force.policy == current
    assert in_force.policy.min_group_size == MIN_GROUP_SIZE


def test_history_says_what_each_version_changed(world: World) -> None:
    with world.factory.begin() as s:
        history = policy_history_frame(s)
    assert history["version"].tolist() == [1]
    changes = history.loc[0, "changes"].split("; ")
    defaults = ConsortiumPolicy()
    assert sorted(changes) == sorted(
        f"{key}: {getattr(defaults, key)} -> {value}" for key, value in TIMINGS.items()
    )


def test_two_changes_are_diffed_against_the_previous_version(
    factory: sessionmaker[Session], coordinator: Signer
) -> None:
    # Prepare
    with factory.begin() as s:
        change_policy(s, changes={"fees": {"lane": 12}}, signer=coordinator, proposal_id="p-1")
        change_policy(s, changes={"fees": {"lane": 15}, "quorum_bps": 2500}, signer=coordinator)
    # Execute
    with factory.begin() as s:
        history = policy_history_frame(s)
        in_force = policy_in_force(s)
    # Assert
    assert history["changes"].tolist() == [
        "fees.lane: 10 -> 12", "fees.lane: 12 -> 15; quorum_bps: 2000 -> 2500"
    ]  # fmt: skip
    assert history.loc[0, "proposal_id"] == "p-1"
    assert pd.isna(history.loc[1, "proposal_id"])
    assert in_force.version == 2
    assert in_force.policy.fees["lane"] == 15


def test_defaults_are_version_zero(factory: sessionmaker[Session]) -> None:
    with factory.begin() as s:
        in_force = policy_in_force(s)
        history = policy_history_frame(s)
    assert (in_force.version, in_force.seq, in_force.policy) == (0, None, ConsortiumPolicy())
    assert history.empty


def test_parameters_table_flattens_the_fee_schedule() -> None:
    table = policy_parameters(ConsortiumPolicy())
    values = dict(zip(table["parameter"], table["value"], strict=True))
    assert values["fees.lane"] == "10"
    assert values["fees.warehouse"] == "25"
    assert set(values) == set(flatten_policy(ConsortiumPolicy()))
