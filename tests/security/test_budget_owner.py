"""The member alone sets its privacy budget, and its accountant lives with it (issue 14, items 5-6).

Attacks, run for real against the kit's ClientApp on Flower's message layer (the one-machine
``LocalGrid``), the real ServerApp and the CLI:

* a coordinator whose run config says ``epsilon = 1e9`` (the old default path) sends a train
  instruction to a member whose node config sets no budget: the member must refuse, naming
  ``epsilon``, and spend nothing; a member whose node config says 1 must never spend more;
* two federations of the same members with two different ``--out`` folders: the second must see
  the ε the first spent (the accountant lives with the member, not under the run's output).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flwr.app import Message
from flwr.app.message_type import MessageType
from flwr.app.user_config import UserConfigValue
from flwr.common import FitIns, ndarrays_to_parameters
from flwr.compat.common import recorddict_compat as compat
from typer.testing import CliRunner

from consortium.cli.main import app as cli
from consortium.data import load_table
from consortium.data.member_files import member_data_file
from consortium.data.targets import time_split
from consortium.deployment import member_nodes, write_kit_app
from consortium.errors import ConfigError
from consortium.federation.client_app import app as client_app
from consortium.federation.instructions import Instruction, RunConfig, Task
from consortium.federation.local_grid import LocalGrid, coordinator_identity, serve
from consortium.federation.member.node import PLAIN_ALLOWED_KEY, MemberNode
from consortium.federation.member.training import NO_PRIVACY_EPSILON
from consortium.federation.records import state_dict_to_ndarrays
from consortium.federation.runner import discover_members
from consortium.federation.server_app import make_server_app
from consortium.models.families import family
from consortium.models.store import read_card
from consortium.privacy.ledger import PrivacyLedger
from consortium.privacy.state import member_state_dir
from consortium.rounds import FederationEvent, RoundReport
from consortium.synth import generate_consortium

MODEL = "stock"
WAREHOUSES = ["duisburg-dc", "rotterdam-dc", "warsaw-dc"]
HUGE = 1e9  # what a coordinator would like each member's budget to be


@pytest.fixture(scope="module")
def consortium_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("budget-owner")
    generate_consortium(root, seed=7, scale=0.05)
    return root


def coordinator_stats(members_dir: Path) -> Any:
    """The consortium-wide statistics the secure sum would give (the test computes them openly)."""
    fam = family(MODEL)
    total: dict[str, np.ndarray] = {}
    for path in discover_members(members_dir, MODEL).values():
        file = member_data_file(path, contract=fam.contract)
        frame = load_table(file, contract=fam.contract, purpose="federated-analytics").frame
        rows = time_split(frame, time_column=fam.time_column).train
        for name, arr in fam.secure_sum_arrays(rows).items():
            total[name] = total.get(name, 0) + np.asarray(arr, dtype=np.float64)
    return fam.statistics_from_sums(total)


def train_message(members_dir: Path, node_id: int, *, server_round: int) -> Message:
    """A plain train instruction for one round of one, as a deviating coordinator would send it."""
    fam = family(MODEL)
    stats = coordinator_stats(members_dir)
    model = fam.build(stats, RunConfig().settings)
    ins = Instruction(task=Task.TRAIN, model=MODEL, stats=stats, server_round=server_round,
                      rounds=1, local_epochs=1, max_weight=1000)  # fmt: skip
    arrays = state_dict_to_ndarrays(model.network.state_dict())
    fitins = FitIns(ndarrays_to_parameters(arrays), ins.to_config())  # type: ignore[arg-type]
    content = compat.fitins_to_recorddict(fitins, True)
    return Message(content, dst_node_id=node_id, message_type=MessageType.TRAIN)


def deviating_grid(
    members_dir: Path, state: Path, *, member: str, node_epsilon: float | None
) -> LocalGrid:
    """One member's node (plain updates allowed) whose run config carries ``epsilon = 1e9``."""
    path = discover_members(members_dir, MODEL)[member]
    node: dict[str, UserConfigValue] = {
        "member-id": member,
        "data-path": str(path),
        "home": str(state / member),
        PLAIN_ALLOWED_KEY: True,
    }
    if node_epsilon is not None:
        node["epsilon"] = node_epsilon
    run_config: dict[str, UserConfigValue] = {"model": MODEL, "rounds": 1, "epsilon": HUGE}
    return LocalGrid(client_app, nodes={member: node}, run_config=run_config, record=True)


def metrics_of(reply: Message) -> dict[str, Any]:
    return dict(compat.recorddict_to_fitres(reply.content, keep_input=True).metrics)


# --- item 5: the member alone sets its budget ----------------------------------------------------


def test_member_without_its_own_epsilon_refuses_a_1e9_run_config_and_spends_nothing(
    consortium_root: Path, tmp_path: Path
) -> None:
    # Prepare: the coordinator's run config says ε = 1e9; the member's node config says nothing.
    members_dir = consortium_root / "members"
    grid = deviating_grid(members_dir, tmp_path, member="warsaw-dc", node_epsilon=None)
    msg_node = grid.node_id_of("warsaw-dc")
    # Execute
    with coordinator_identity(grid.run.run_id):
        (reply,) = grid.send_and_receive([train_message(members_dir, msg_node, server_round=1)])
    # Assert: an error reply naming epsilon; no update, no metric, and no ε spent on its disk.
    assert reply.has_error()
    assert "epsilon" in reply.error.reason
    assert not reply.has_content()
    assert not (tmp_path / "warsaw-dc").exists()  # no accountant was even opened


def test_run_config_of_1e9_cannot_raise_a_members_own_budget_of_1(
    consortium_root: Path, tmp_path: Path
) -> None:
    # Prepare: the member allows itself ε = 1; the coordinator asks twice for a "last round".
    members_dir = consortium_root / "members"
    grid = deviating_grid(members_dir, tmp_path, member="warsaw-dc", node_epsilon=1.0)
    node_id = grid.node_id_of("warsaw-dc")
    # Execute
    with coordinator_identity(grid.run.run_id):
        (first,) = grid.send_and_receive([train_message(members_dir, node_id, server_round=1)])
        (second,) = grid.send_and_receive([train_message(members_dir, node_id, server_round=1)])
    # Assert: it reports and holds its own budget, never the coordinator's.
    spent = PrivacyLedger.load(tmp_path / "warsaw-dc", MODEL).spent()
    assert 0.0 < spent <= 1.0
    for reply in (first, second):
        assert not reply.has_error()
        metrics = metrics_of(reply)
        assert metrics["epsilon_budget"] == 1.0
        assert metrics["epsilon_spent"] <= 1.0 < NO_PRIVACY_EPSILON
    assert metrics_of(second)["sat_out"] == 1  # its own budget is spent: it sits out


def test_coordinator_run_config_may_not_name_a_members_budget(tmp_path: Path) -> None:
    # The kit's own ServerApp refuses such a run config, and the app manifest carries none.
    with pytest.raises(ConfigError) as caught:
        RunConfig.from_config({"model": MODEL, "epsilon": HUGE})
    assert caught.value.name == "epsilon"
    manifest = tomllib.loads((write_kit_app(tmp_path / "app") / "pyproject.toml").read_text())
    assert "epsilon" not in manifest["tool"]["flwr"]["app"]["config"]


# --- item 6: the accountant lives with the member, whatever --out is -----------------------------


def _accountants(root: Path) -> dict[Path, float]:
    """Every accountant any run left anywhere under ``root``, with the ε it holds."""
    return {
        f: PrivacyLedger.load(f.parent.parent, MODEL).spent()
        for f in root.rglob(f"{MODEL}-accountant.json")
    }


def _reports(events: list[FederationEvent]) -> list[RoundReport]:
    return [e.report for e in events if e.stage == "round" and e.report is not None]


@pytest.mark.slow
def test_a_new_output_folder_does_not_reset_a_members_epsilon(
    consortium_root: Path, tmp_path: Path
) -> None:
    # Prepare: three warehouses, each with ε = 1 of its own. Run 1 (the runner's composition, as
    # `consortium federation up` builds its nodes) spends it into OUT1.
    members_dir = consortium_root / "members"
    budget = 1.0
    nodes = {n.member: dict(n.node_config) for n in
             member_nodes(members_dir, model=MODEL, epsilon=budget)}  # fmt: skip
    run1: dict[str, UserConfigValue] = {"model": MODEL, "rounds": 1, "local-epochs": 1,
                                        "out-dir": str(tmp_path / "out1")}  # fmt: skip
    events: list[FederationEvent] = []
    grid = LocalGrid(client_app, nodes=nodes, run_config=run1)
    serve(make_server_app(on_event=events.append), grid, run_config=run1)
    (first,) = _reports(events)
    assert set(first.examples) == set(WAREHOUSES)  # all three trained
    # Execute: run 2 of the same members through the CLI, into a new output folder.
    result = CliRunner().invoke(cli, [
        "federate", "--model", MODEL, "--members", str(members_dir),
        "--out", str(tmp_path / "out2"), "--rounds", "1", "--local-epochs", "1",
        "--epsilon", str(budget),
    ])  # fmt: skip
    # Assert: one accountant per member, with its data; nothing under either output folder; the
    # ε spent over both runs within each member's budget (the second run saw the first's).
    held = _accountants(consortium_root) | _accountants(tmp_path)
    assert sorted(held) == sorted(
        member_state_dir(members_dir / m, member=m) / "privacy" / f"{MODEL}-accountant.json"
        for m in WAREHOUSES
    ), result.output
    for member in WAREHOUSES:
        total = sum(e for f, e in held.items() if member in f.parts)
        assert total <= budget + 1e-9, (member, total)
        assert total >= first.epsilon_spent[member]
    assert result.exit_code == 0, result.output  # run 2 ran: its members found their budget spent
    (second,) = read_card(tmp_path / "out2" / "model")["federation"]["round_reports"]
    assert not second["examples"]  # nobody trained again: each one's budget was already spent


def test_state_folder_lives_with_the_members_data_or_in_state_dir(tmp_path: Path) -> None:
    # Prepare: one member as a folder, one as a single file, as `consortium federate` finds them.
    members = tmp_path / "members"
    (members / "m-folder").mkdir(parents=True)
    (members / "m-file.csv").write_text("x\n")
    # Execute: the node's default home (no `home` in its node config), and --state
    folder = MemberNode.of({"member-id": "m-folder", "data-path": str(members / "m-folder"),
                            "epsilon": 1.0}, node_id=1)  # fmt: skip
    single = MemberNode.of({"member-id": "m-file", "data-path": str(members / "m-file.csv"),
                            "epsilon": 1.0}, node_id=2)  # fmt: skip
    # Assert
    assert folder.home == members / "m-folder" / ".consortium"
    assert single.home == members / ".consortium" / "m-file"
    assert member_state_dir(members / "m-file.csv", member="m-file", state_dir=tmp_path / "s") == (
        tmp_path / "s" / "m-file"
    )
    single.home.mkdir(parents=True)
    assert set(discover_members(members, "eta")) == {"m-file"}  # .consortium is never a member
