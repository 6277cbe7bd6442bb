"""What a member sends in plaintext beside its masked vector (issue 14, item 7).

One real federation (the real ServerApp and ClientApps, SecAgg+, on the recording one-machine
grid) and, from :attr:`LocalGrid.received`, everything the coordinator received. The decision
(``consortium.federation.member.training``): no training loss is sent; example counts (the
SecAgg+ weight) are coarsened to two significant figures; ε spent, the members' test metrics and
the rest travel exact and are listed in the model card under what ε does not cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flwr.app import Message
from flwr.app.message_type import MessageType
from flwr.app.user_config import UserConfigValue

from consortium.deployment import member_nodes
from consortium.federation.client_app import app as client_app
from consortium.federation.local_grid import LocalGrid, serve
from consortium.federation.member.training import coarse_count
from consortium.federation.server_app import make_server_app
from consortium.models.store import read_card
from consortium.rounds import FederationEvent, RoundReport
from consortium.synth import generate_consortium

pytestmark = pytest.mark.slow

MODEL = "stock"
WAREHOUSES = {"duisburg-dc", "rotterdam-dc", "warsaw-dc"}


@dataclass
class Recorded:
    received: list[Message]
    reports: list[RoundReport]
    card: dict[str, Any]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    root = tmp_path_factory.mktemp("plaintext")
    generate_consortium(root, seed=7, scale=0.05)
    specs = member_nodes(root / "members", model=MODEL, epsilon=8.0, state_dir=root / "state")
    nodes = {n.member: dict(n.node_config) for n in specs}
    run_config: dict[str, UserConfigValue] = {"model": MODEL, "rounds": 1, "local-epochs": 1,
                                              "out-dir": str(root / "out")}  # fmt: skip
    grid = LocalGrid(client_app, nodes=nodes, run_config=run_config, record=True)
    events: list[FederationEvent] = []
    serve(make_server_app(on_event=events.append), grid, run_config=run_config)
    reports = [e.report for e in events if e.stage == "round" and e.report is not None]
    return Recorded(grid.received, reports, read_card(root / "out" / "model"))


def round_replies(received: list[Message]) -> list[tuple[int, dict[str, Any]]]:
    """(num_examples, metrics) of every training-round reply the coordinator received."""
    found = []
    for msg in received:
        if msg.has_error() or msg.metadata.message_type != MessageType.TRAIN:
            continue
        content = msg.content
        if "fitres.metrics" not in content.config_records:
            continue
        metrics = dict(content.config_records["fitres.metrics"])
        if "epsilon_spent" in metrics:  # a training round (not a statistics/calibration sum)
            n = int(content.metric_records["fitres.num_examples"]["num_examples"])  # type: ignore[arg-type]
            found.append((n, metrics))
    return found


def test_coordinator_receives_no_training_loss(recorded: Recorded) -> None:
    replies = round_replies(recorded.received)
    assert len(replies) == len(WAREHOUSES)  # every member trained once, the check is not vacuous
    for _, metrics in replies:
        assert "loss" not in metrics
    (report,) = recorded.reports
    assert report.loss is None


def test_coordinator_receives_only_coarsened_example_counts(recorded: Recorded) -> None:
    replies = round_replies(recorded.received)
    for n, _ in replies:
        assert n > 0
        assert coarse_count(n) == n  # two significant figures, at least 10
        assert n % 10 == 0
    (report,) = recorded.reports
    assert sorted(report.examples.values()) == sorted(n for n, _ in replies)


def test_card_lists_what_epsilon_does_not_cover(recorded: Recorded) -> None:
    privacy = recorded.card["privacy"]
    plain = privacy["plaintext_per_member"]
    assert plain["training_loss"] == "not sent"
    assert plain["example_count"].startswith("coarsened")
    assert "test metrics" in privacy["not_covered_by_epsilon"]
    # What the card says travels exact does: each member's test metrics, for every member.
    assert set(recorded.card["metrics_per_member"]) == WAREHOUSES


def test_coarse_count_keeps_two_significant_figures() -> None:
    assert [coarse_count(n) for n in (0, 1, 9, 10, 57, 99, 100, 1234, 48_123)] == [
        0, 10, 10, 10, 60, 100, 100, 1200, 48_000
    ]
