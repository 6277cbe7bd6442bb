"""Issue 14, items 1 and 2: sit-out isolation and the projection oracle, with the kit's real apps.

Four synthetic carriers run the kit's real ``ClientApp`` (DP training, SecAgg+ mods) on the
one-machine ``LocalGrid``. Three of them allow themselves so little ε that they sit out; only
rhine-road trains. Before the fix the three sent masked zero vectors of weight 0, so the "sum"
the coordinator unmasked was rhine-road's update alone (and the round was recorded as ok).

* item 2: a *deviating* coordinator (Flower's own SecAgg+ workflow with none of the kit's
  coordinator-side checks, and a grid that tells the lone member every node is active) never
  obtains the lone member's update; the honest ServerApp fails the round with
  ``too-few-members`` and keeps the previous model.
* item 1: the coordinator sends score messages with unit vectors ``e_i`` to recover coordinates
  of a member's update: after an unscored round every ask is declined; after a scored round the
  member answers at most one projection.
"""

from __future__ import annotations

import os

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")

from collections.abc import Iterable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from flwr.app import ConfigRecord, Context, Message, RecordDict  # noqa: E402
from flwr.app.message_type import MessageType  # noqa: E402
from flwr.common.secure_aggregation.secaggplus_constants import (  # noqa: E402
    RECORD_KEY_CONFIGS,
    Key,
    Stage,
)
from flwr.compat.common import recorddict_compat as compat  # noqa: E402
from flwr.server import LegacyContext, ServerConfig  # noqa: E402
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow  # noqa: E402
from flwr.serverapp import Grid, ServerApp  # noqa: E402

from consortium.federation.client_app import app as client_app  # noqa: E402
from consortium.federation.coordinator.rounds import round_instruction  # noqa: E402
from consortium.federation.coordinator.session import Session  # noqa: E402
from consortium.federation.coordinator.statistics import gather_statistics  # noqa: E402
from consortium.federation.grids import DelegatingGrid, evaluate_on  # noqa: E402
from consortium.federation.instructions import Instruction, RunConfig, Task  # noqa: E402
from consortium.federation.local_grid import LocalGrid, serve  # noqa: E402
from consortium.federation.member.training import LAST_UPDATE_KEY  # noqa: E402
from consortium.federation.records import specs_of, state_dict_to_ndarrays  # noqa: E402
from consortium.federation.server_app import make_server_app  # noqa: E402
from consortium.federation.strategy import DeltaFedAvg  # noqa: E402
from consortium.policy.store import change_policy  # noqa: E402
from consortium.rounds import FederationEvent  # noqa: E402
from consortium.synth import generate_consortium  # noqa: E402
from tests.federation.test_contribution_scoring import make_board  # noqa: E402
from tests.federation.test_federated_training import CARRIERS, nodes_of, reveals  # noqa: E402

pytestmark = pytest.mark.slow

LONE = "rhine-road"
TINY_EPSILON = 1e-4  # too little to train at all: these members sit out
PROBES = 24  # unit vectors the coordinator tries


@pytest.fixture(scope="module")
def members_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("consortium")
    generate_consortium(root, seed=7, scale=0.05)
    return root / "members"


def _run_config(out: Path, **extra: object) -> dict[str, object]:
    return {"model": "eta", "rounds": 1, "local-epochs": 1, "out-dir": str(out), **extra}


def _grid(members_dir: Path, out: Path, *, lone_only: bool, **extra: object) -> LocalGrid:
    nodes = nodes_of(members_dir, "eta", out)
    if lone_only:
        for member in CARRIERS:
            if member != LONE:
                nodes[member]["epsilon"] = TINY_EPSILON
    return LocalGrid(client_app, nodes=nodes, run_config=_run_config(out, **extra),  # type: ignore[arg-type]
                     record=True)  # fmt: skip


class AllActiveGrid(DelegatingGrid):
    """A lying coordinator's grid: every unmask request lists every sampled node as active."""

    def __init__(self, inner: LocalGrid) -> None:
        super().__init__(inner)
        self.unmask_answers = 0
        self.unmask_asked = 0

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        sent = list(messages)
        unmask = False
        for msg in sent:
            cfg = msg.content.config_records.get(RECORD_KEY_CONFIGS, ConfigRecord())
            if cfg.get(Key.STAGE) == Stage.UNMASK:
                unmask = True
                cfg[Key.ACTIVE_NODE_ID_LIST] = list(self.get_node_ids())
                cfg[Key.DEAD_NODE_ID_LIST] = []
        replies = list(self._inner.send_and_receive(sent, timeout=timeout))
        if unmask:
            self.unmask_asked += len(sent)
            self.unmask_answers += sum(not r.has_error() for r in replies)
        return replies


def _deviating_round(grid: LocalGrid, out: Path) -> tuple[DeltaFedAvg, AllActiveGrid]:
    """Statistics honestly, then one training round with Flower's bare SecAgg+ workflow."""
    seen: dict[str, object] = {}
    app = ServerApp()

    @app.main()
    def main(_grid: Grid, context: Context) -> None:
        run = RunConfig.from_config(_run_config(out))
        session = Session.open(grid, context, run, recorder=None, on_event=None)
        stats, _ = gather_statistics(session)  # every member contributes statistics: fine
        model = session.family.build(stats, run.settings)
        arrays = state_dict_to_ndarrays(model.network.state_dict())
        ins = round_instruction(session, 1, stats)
        strategy = DeltaFedAvg(global_arrays=arrays, expected=specs_of(model.network.state_dict()),
                               min_members=4, fit_config=ins.to_config())  # fmt: skip
        liar = AllActiveGrid(grid)
        scratch = LegacyContext(
            Context(context.run_id, 0, context.node_config, RecordDict(), context.run_config),
            config=ServerConfig(num_rounds=1),
            strategy=strategy,
        )
        workflow = SecAggPlusWorkflow(4, 3, max_weight=run.max_weight,
                                      clipping_range=run.update_clipping_range)  # fmt: skip
        DefaultWorkflow(fit_workflow=workflow)(liar, scratch)
        seen["strategy"], seen["liar"] = strategy, liar

    serve(app, grid, run_config=_run_config(out))
    return seen["strategy"], seen["liar"]  # type: ignore[return-value]


def _probe(grid: LocalGrid, member: str, server_round: int) -> int:
    """Send PROBES score messages with unit vectors to ``member``; return how many it answered."""
    update = grid.context_of(member).state.array_records[LAST_UPDATE_KEY].to_numpy_ndarrays()
    answers = 0
    app = ServerApp()

    @app.main()
    def main(_grid: Grid, _context: Context) -> None:
        nonlocal answers
        run = RunConfig(model="eta")
        node = grid.node_id_of(member)
        for i in range(PROBES):
            probe = [np.zeros_like(u, dtype=np.float32) for u in update]
            probe[0].flat[i % probe[0].size] = 1.0
            ins = Instruction(task=Task.SCORE, model=run.model, settings=run.settings,
                              server_round=server_round, score=run.score)  # fmt: skip
            replies = evaluate_on(grid, [node], probe, ins, labels=grid.node_labels(),
                                  timeout=None)  # fmt: skip
            answers += sum("projection" in r.metrics for r in replies.values())

    serve(app, grid, run_config={})
    return answers


def test_a_deviating_coordinator_never_gets_the_lone_members_update(
    members_dir: Path, tmp_path: Path
) -> None:
    # Prepare: all but rhine-road sit out.
    grid = _grid(members_dir, tmp_path, lone_only=True)
    # Execute: the coordinator skips every kit check and lies that all four are active.
    strategy, liar = _deviating_round(grid, tmp_path)
    # Assert: rhine-road trained, the others left before the masked stage, nothing was unmasked.
    record = grid.context_of(LONE).state.array_records[LAST_UPDATE_KEY]
    update = [np.asarray(u) for u in record.to_numpy_ndarrays()]
    assert any(np.any(u) for u in update)
    assert strategy.aggregated is None  # before the fix: the "aggregate" was rhine-road's update
    assert strategy.average_update == []
    assert liar.unmask_answers == 0  # no member released a share to unmask the lone vector
    sat_out = [m.error.reason for m in grid.received
               if m.has_error() and "sat-out" in m.error.reason]  # fmt: skip
    assert len(sat_out) == 3, sat_out
    assert not any(reveals(msg, update) for msg in grid.received)
    # ... and with no stored projection owed, unit-vector probes get nothing either (item 1).
    assert _probe(grid, LONE, 1) == 0


def test_the_honest_coordinator_fails_a_round_with_fewer_contributors_than_the_minimum(
    members_dir: Path, tmp_path: Path
) -> None:
    # Prepare: a coordinator database whose board admitted the four carriers.
    board = make_board(tmp_path / "board.db")
    with board.factory.begin() as s:
        change_policy(s, changes={"contribution_rule": "examples"}, signer=board.coordinator)
    grid = _grid(members_dir, tmp_path, lone_only=True)
    events: list[FederationEvent] = []
    # Execute
    serve(make_server_app(on_event=events.append, recorder=board.recorder()), grid,
          run_config=_run_config(tmp_path))  # fmt: skip
    # Assert: the round is failed (never ok), with a clear code; no key share was asked for.
    (report,) = [e.report for e in events if e.stage == "round" and e.report is not None]
    assert report.status == "failed"
    assert report.code == "too-few-members"
    assert report.members_aggregated == 0
    (failed,) = board.entries("round-failed")
    assert failed["code"] == "too-few-members"
    assert board.entries("round-completed") == []
    assert board.entries("points-minted") == []  # nothing minted
    update = grid.context_of(LONE).state.array_records[LAST_UPDATE_KEY].to_numpy_ndarrays()
    assert not any(reveals(msg, [np.asarray(u) for u in update]) for msg in grid.received)


def test_a_member_answers_at_most_one_projection_per_scored_round(
    members_dir: Path, tmp_path: Path
) -> None:
    # Prepare: a scored round with every member training.
    grid = _grid(members_dir, tmp_path, lone_only=False, **{"score-contributions": True})
    events: list[FederationEvent] = []
    serve(make_server_app(on_event=events.append), grid,
          run_config=_run_config(tmp_path, **{"score-contributions": True}))  # fmt: skip
    (report,) = [e.report for e in events if e.stage == "round" and e.report is not None]
    assert report.scoring == "ok"
    honest = [
        m for m in grid.received
        if m.metadata.message_type == MessageType.EVALUATE and not m.has_error()
        and "projection" in compat.recorddict_to_evaluateres(m.content).metrics
    ]  # fmt: skip
    assert len(honest) == len(CARRIERS)  # the round's own scoring: one each
    # Execute: the coordinator now probes one member with unit vectors, for that round and others.
    extra = _probe(grid, LONE, 1) + _probe(grid, LONE, 2) + _probe(grid, LONE, 0)
    # Assert: no answer beyond the one of the scored round.
    assert extra == 0
