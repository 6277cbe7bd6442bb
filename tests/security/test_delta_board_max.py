"""Issue 14, item 14: the board's ``max_delta`` is enforced where a member chooses δ.

The attack: a member sets a weak δ (0.01, a 1 % chance that ε means nothing) in its own node
config, or on ``consortium train --delta``, while the board's policy allows at most 1e-5. On the
old code the board's ``max_delta`` was stored but never read: the member trained (in a real
federation through Flower's grid, SecAgg+ included) and its accountant recorded δ = 0.01. Now
the coordinator sends the board's ``max_delta`` in the Instruction and the member refuses a
larger δ; ``consortium train --db`` reads it from the policy in force.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")

import pytest  # noqa: E402
import typer  # noqa: E402
from flwr.app.user_config import UserConfigValue  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from consortium.cli.models import train  # noqa: E402
from consortium.errors import ConfigError  # noqa: E402
from consortium.federation.client_app import app as client_app  # noqa: E402
from consortium.federation.instructions import Instruction, RunConfig, Task  # noqa: E402
from consortium.federation.local_grid import run_local  # noqa: E402
from consortium.federation.runner import discover_members  # noqa: E402
from consortium.federation.server_app import make_server_app  # noqa: E402
from consortium.ledger.signing import Signer  # noqa: E402
from consortium.policy import store as _policy_tables  # noqa: E402, F401  (tables)
from consortium.policy.model import ConsortiumPolicy  # noqa: E402
from consortium.policy.store import change_policy  # noqa: E402
from consortium.privacy.ledger import PrivacyLedger  # noqa: E402
from consortium.privacy.training import requested_budget  # noqa: E402
from consortium.synth import generate_consortium  # noqa: E402

WEAK_DELTA = 0.01


@pytest.fixture(scope="module")
def members_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("consortium")
    generate_consortium(root, seed=7, scale=0.05)
    return root / "members"


def test_a_member_with_a_delta_above_the_boards_max_does_not_train_in_a_federation(
    members_dir: Path, tmp_path: Path
) -> None:
    # Prepare: every member on its own state folder; one of them asks for δ = 0.01
    members = discover_members(members_dir, "eta")
    weak = sorted(members)[0]
    nodes: dict[str, dict[str, UserConfigValue]] = {
        m: {"member-id": m, "data-path": str(path), "home": str(tmp_path / "state" / m),
            "epsilon": 8.0}
        for m, path in members.items()
    }  # fmt: skip
    nodes[weak]["delta"] = WEAK_DELTA
    run = RunConfig(model="eta", rounds=1, local_epochs=1, out_dir=tmp_path / "out")
    # Execute: a real federation (SecAgg+) through the one-machine grid
    done = run_local(make_server_app(), client_app, nodes=nodes, run_config=run.to_config())
    # Assert: the weak member's accountant never measured anything at δ = 0.01; the others
    # trained at a δ within the board's maximum
    weak_ledger = PrivacyLedger.load(tmp_path / "state" / weak, "eta")
    assert weak_ledger.delta is None
    assert weak_ledger.history == []
    others = [PrivacyLedger.load(tmp_path / "state" / m, "eta") for m in members if m != weak]
    assert all(ledger.delta is not None for ledger in others)
    assert all(ledger.delta <= ConsortiumPolicy().max_delta for ledger in others)  # type: ignore[operator]
    assert done.grid is not None


def test_the_coordinator_sends_the_boards_max_delta_and_the_member_reads_it() -> None:
    # Prepare
    sent = Instruction(task=Task.TRAIN, model="eta", max_delta=1e-7)
    # Execute
    received = Instruction.from_config(sent.to_config())
    # Assert
    assert received.max_delta == 1e-7
    assert (
        Instruction.from_config(Instruction(task=Task.TRAIN, model="eta").to_config()).max_delta
        is None
    )


def test_the_member_refuses_a_delta_above_the_boards_max_and_defaults_below_it(
    tmp_path: Path,
) -> None:
    # Prepare
    ledger = PrivacyLedger.load(tmp_path, "eta")
    # Execute
    with pytest.raises(ConfigError) as refused:
        requested_budget(8.0, WEAK_DELTA, ledger=ledger, n_rows=1_000, max_delta=1e-5)
    chosen = requested_budget(8.0, None, ledger=ledger, n_rows=1_000, max_delta=1e-7)
    # Assert
    assert refused.value.name == "delta"
    assert "max_delta" in refused.value.reason
    assert chosen.delta == 1e-7


def test_consortium_train_reads_max_delta_from_the_policy_in_force(
    factory: sessionmaker[Session], coordinator: Signer, database_url: str, members_dir: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    # Prepare: the board lowered max_delta to 1e-7; the member asks for 1e-6
    with factory.begin() as s:
        change_policy(s, changes={"max_delta": 1e-7}, signer=coordinator)
    app = typer.Typer(pretty_exceptions_show_locals=False)
    app.command("train")(train)
    app.command("noop")(lambda: None)  # a group, so "train" is a sub-command
    legs = next(members_dir.glob("*/legs.csv"))
    home = tmp_path / "member-state"
    args = ["train", "--model", "eta", "--data", str(legs), "--epsilon", "8", "--delta", "1e-6",
            "--out", str(tmp_path / "model"), "--home", str(home), "--epochs", "1"]  # fmt: skip
    # Execute
    refused = CliRunner().invoke(app, [*args, "--db", database_url])
    # Assert: refused before any step; nothing recorded in the member's accountant
    assert refused.exit_code == 2, refused.output  # a ConfigError naming delta
    assert "max_delta" in refused.output
    assert not (tmp_path / "model").exists()
    assert PrivacyLedger.load(home, "eta").history == []
