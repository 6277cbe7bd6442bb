from consortium.queries.rounds import (
    epsilon_frame,
    examples_frame,
    rounds_frame,
)
from tests.queries.world import World


def test_rounds_list_completed_degraded_and_failed_rounds(world: World) -> None:
    with world.factory.begin() as s:
        rounds = rounds_frame(s)
        eta = rounds_frame(s, model="eta")
    first, second = world.models.reports
    assert rounds[["model", "round", "status"]].values.tolist() == [
        ["eta", 1, "ok"], ["eta", 2, "degraded"], ["stock", 1, "failed"]
    ]  # fmt: skip
    assert rounds["seq"].is_monotonic_increasing
    assert eta["members"].tolist() == [len(first.examples), len(second.examples)]
    assert eta["examples"].tolist() == [sum(first.examples.values()), sum(second.examples.values())]
    assert eta.loc[1, "sat_out"] == "aurora"
    assert eta.loc[1, "model_version"] == str(second.model_version)[:12]
    assert rounds.loc[2, "code"] == "too-few-members"
    assert rounds["rule"].tolist() == ["examples", "examples", ""]  # failed rounds pay nobody


def test_epsilon_per_member_and_round_comes_from_the_ledger(world: World) -> None:
    with world.factory.begin() as s:
        epsilon = epsilon_frame(s, model="eta")
        none = epsilon_frame(s, model="stock")
    recorded = {
        (report.server_round, member): eps
        for report in world.models.reports
        for member, eps in report.epsilon_spent.items()
    }
    got = {(r, m): e for r, m, e in epsilon[["round", "member", "epsilon_spent"]].values.tolist()}
    assert got == recorded
    assert none.empty
    for _, spent in epsilon.sort_values("round").groupby("member")["epsilon_spent"]:
        assert spent.is_monotonic_increasing  # ε never decreases across rounds


def test_examples_per_member_and_round(world: World) -> None:
    with world.factory.begin() as s:
        examples = examples_frame(s, model="eta")
    totals = examples.groupby("member")["examples"].sum().to_dict()
    expected: dict[str, int] = {}
    for report in world.models.reports:
        for member, n in report.examples.items():
            expected[member] = expected.get(member, 0) + n
    assert totals == expected
