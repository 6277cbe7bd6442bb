"""The board-set policy value: defaults, validation naming the key, merge, round trips, replay."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consortium.errors import GovernanceError
from consortium.ledger.entry import sign_entry
from consortium.ledger.signing import Signer
from consortium.policy.model import (
    ConsortiumPolicy,
    change_payload,
    policy_from_entries,
    policy_keys,
)


def test_defaults_are_the_documented_ones() -> None:
    policy = ConsortiumPolicy()
    assert policy.to_dict() == {
        "fees": {"lane": 10, "warehouse": 25},
        "treasury_share_bps": 1000,
        "split_rule": "pro-rata-contribution",
        "max_epsilon_per_round": 2.0,
        "max_delta": 1e-5,
        "min_group_size": 20,
        "min_members": 3,
        "contribution_rule": "examples",
        "points_per_example": 1,
        "contribution_cap_per_round": 5000,
        "voting_delay_s": 3600,
        "voting_period_s": 3 * 86400,
        "quorum_bps": 2000,
        "timelock_s": 86400,
        "late_quorum_extension_s": 86400,
        "vote_power_cap_bps": 3000,
        "on_time_tolerance_minutes": {"air": 15, "rail": 720, "road": 60, "sea": 1440},
    }


def test_policy_is_immutable() -> None:
    policy = ConsortiumPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.quorum_bps = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.fees["lane"] = 1  # type: ignore[index]


def test_fee_changes_merge_into_the_schedule() -> None:
    policy = ConsortiumPolicy().with_changes({"fees": {"warehouse": 40}})
    assert dict(policy.fees) == {"lane": 10, "warehouse": 40}


def test_a_tolerance_change_merges_into_the_tolerances_per_mode() -> None:
    policy = ConsortiumPolicy().with_changes({"on_time_tolerance_minutes": {"air": 30}})
    assert dict(policy.on_time_tolerance_minutes) == {
        "air": 30, "rail": 720, "road": 60, "sea": 1440,
    }  # fmt: skip
    assert ConsortiumPolicy.from_dict(policy.to_dict()) == policy
    # a policy stored before the key existed takes the defaults
    stored = {k: v for k, v in policy.to_dict().items() if k != "on_time_tolerance_minutes"}
    assert ConsortiumPolicy.from_dict(stored).on_time_tolerance_minutes["sea"] == 1440


BAD_CHANGES: list[tuple[dict[str, object], str, str]] = [
    ({"fee": {"lane": 1}}, "fee", "unknown-policy-key"),
    ({"fees": {"rail": 5}}, "fees.rail", "unknown-policy-key"),
    ({"fees": {"lane": 0}}, "fees.lane", "bad-policy-value"),
    ({"fees": {"lane": -3}}, "fees.lane", "bad-policy-value"),
    ({"fees": {"lane": 2.5}}, "fees.lane", "bad-policy-type"),
    ({"fees": {"lane": True}}, "fees.lane", "bad-policy-type"),
    ({"fees": {}}, "fees", "bad-policy-type"),
    ({"fees": 10}, "fees", "bad-policy-type"),
    ({"treasury_share_bps": 10_001}, "treasury_share_bps", "bad-policy-value"),
    ({"treasury_share_bps": -1}, "treasury_share_bps", "bad-policy-value"),
    ({"treasury_share_bps": "1000"}, "treasury_share_bps", "bad-policy-type"),
    ({"split_rule": "winner-takes-all"}, "split_rule", "bad-policy-value"),
    ({"split_rule": 1}, "split_rule", "bad-policy-type"),
    ({"max_epsilon_per_round": 0}, "max_epsilon_per_round", "bad-policy-value"),
    ({"max_epsilon_per_round": -1.0}, "max_epsilon_per_round", "bad-policy-value"),
    ({"max_epsilon_per_round": math.inf}, "max_epsilon_per_round", "bad-policy-value"),
    ({"max_epsilon_per_round": math.nan}, "max_epsilon_per_round", "bad-policy-value"),
    ({"max_epsilon_per_round": "2"}, "max_epsilon_per_round", "bad-policy-type"),
    ({"max_delta": 1.0}, "max_delta", "bad-policy-value"),
    ({"max_delta": 0.0}, "max_delta", "bad-policy-value"),
    ({"min_group_size": 0}, "min_group_size", "bad-policy-value"),
    ({"min_group_size": 20.0}, "min_group_size", "bad-policy-type"),
    ({"min_members": 2}, "min_members", "bad-policy-value"),  # a secure sum of two is one's own
    ({"min_members": 3.0}, "min_members", "bad-policy-type"),
    ({"contribution_rule": "shapley"}, "contribution_rule", "bad-policy-value"),
    ({"points_per_example": -1}, "points_per_example", "bad-policy-value"),
    ({"contribution_cap_per_round": 10**13}, "contribution_cap_per_round", "bad-policy-value"),
    ({"voting_delay_s": -1}, "voting_delay_s", "bad-policy-value"),
    ({"voting_period_s": 0}, "voting_period_s", "bad-policy-value"),
    ({"timelock_s": 400 * 86400}, "timelock_s", "bad-policy-value"),
    ({"quorum_bps": 10_001}, "quorum_bps", "bad-policy-value"),
    ({"late_quorum_extension_s": None}, "late_quorum_extension_s", "bad-policy-type"),
    ({"vote_power_cap_bps": 0}, "vote_power_cap_bps", "bad-policy-value"),
    (
        {"on_time_tolerance_minutes": {"air": 0}},
        "on_time_tolerance_minutes.air",
        "bad-policy-value",
    ),
    (
        {"on_time_tolerance_minutes": {"sea": 30 * 1440 + 1}},
        "on_time_tolerance_minutes.sea",
        "bad-policy-value",
    ),
    (
        {"on_time_tolerance_minutes": {"air": 7.5}},
        "on_time_tolerance_minutes.air",
        "bad-policy-type",
    ),
    (
        {"on_time_tolerance_minutes": {"boat": 60}},
        "on_time_tolerance_minutes.boat",
        "unknown-policy-key",
    ),
    ({"on_time_tolerance_minutes": 60}, "on_time_tolerance_minutes", "bad-policy-type"),
    ({}, "policy", "no-changes"),
]


@pytest.mark.parametrize(("changes", "subject", "code"), BAD_CHANGES)
def test_invalid_changes_are_refused_naming_the_key(
    changes: dict[str, object], subject: str, code: str
) -> None:
    with pytest.raises(GovernanceError) as caught:
        ConsortiumPolicy().with_changes(changes)
    assert (caught.value.subject, caught.value.code) == (subject, code)


def test_every_key_is_validated() -> None:
    validated = {subject.split(".")[0] for _, subject, _ in BAD_CHANGES} - {"fee", "policy"}
    assert validated == set(policy_keys())


def test_numbers_given_as_ints_become_floats_where_the_parameter_is_a_float() -> None:
    policy = ConsortiumPolicy().with_changes({"max_epsilon_per_round": 3})
    assert policy.max_epsilon_per_round == 3.0
    assert isinstance(policy.max_epsilon_per_round, float)


VALID_CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "fees": st.fixed_dictionaries({}, optional={"lane": st.integers(1, 10**6),
                                                    "warehouse": st.integers(1, 10**6)}
                                      ).filter(bool),
        "treasury_share_bps": st.integers(0, 10_000),
        "split_rule": st.sampled_from(["pro-rata-contribution", "equal"]),
        "max_epsilon_per_round": st.floats(0.01, 50.0),
        "max_delta": st.floats(1e-12, 0.5),
        "min_group_size": st.integers(1, 1000),
        "min_members": st.integers(3, 1000),
        "contribution_rule": st.sampled_from(["examples", "leave-one-out"]),
        "points_per_example": st.integers(0, 100),
        "contribution_cap_per_round": st.integers(0, 10**6),
        "voting_delay_s": st.integers(0, 86400 * 30),
        "quorum_bps": st.integers(0, 10_000),
        "vote_power_cap_bps": st.integers(1, 10_000),
        "on_time_tolerance_minutes": st.fixed_dictionaries(
            {}, optional={m: st.integers(1, 30 * 1440) for m in ("air", "rail", "road", "sea")}
        ).filter(bool),
    },
).filter(bool)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(first=VALID_CHANGES, second=VALID_CHANGES)
def test_ledger_replay_and_json_round_trip_rebuild_the_same_policy(
    first: dict[str, object], second: dict[str, object]
) -> None:
    # Prepare: two changes recorded as policy-changed entries, as the store writes them
    signer = Signer.generate()
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    one = ConsortiumPolicy().with_changes(first)
    two = one.with_changes(second)
    entries = [
        sign_entry(seq=seq, moment=moment, kind="policy-changed", signer=signer,
                   payload=change_payload(version=seq, changes=changes, new=new,
                                          proposal_id=f"p-{seq}"))
        for seq, changes, new in ((1, first, one), (2, second, two))
    ]  # fmt: skip
    # Execute / Assert
    assert policy_from_entries(entries) == two
    assert policy_from_entries(entries, before_seq=2) == one
    assert policy_from_entries(entries, before_seq=1) == ConsortiumPolicy()
    assert ConsortiumPolicy.from_dict(json.loads(json.dumps(two.to_dict()))) == two
