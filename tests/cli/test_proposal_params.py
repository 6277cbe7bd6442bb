"""`consortium propose`: one name for the ε cap (the policy's); unknown params list the allowed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consortium.cli.database import open_database
from consortium.cli.main import app
from consortium.identity.keys import generate_key_file
from consortium.identity.registry import bootstrap_coordinator
from consortium.membership import admit_member

runner = CliRunner()


class Board:
    def __init__(self, root: Path) -> None:
        self.url = f"sqlite:///{root / 'coordinator.db'}"
        self.key = root / "meridian-line.key"

    def propose(self, kind: str, params: dict[str, object], title: str) -> list[str]:
        return ["propose", "--kind", kind, "--title", title, "--params", json.dumps(params),
                "--key", str(self.key), "--db", self.url]  # fmt: skip


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Board:
    root = tmp_path_factory.mktemp("board")
    b = Board(root)
    coordinator = generate_key_file(root / "coordinator.key")
    member = generate_key_file(b.key)
    with open_database(b.url, create=True).begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        admit_member(s, member="meridian-line", public_key=member.public_key, signer=coordinator)
    return b


def _proposal_id(output: str) -> str:
    found = re.search(r"proposal (p-[0-9a-f]+)", output)
    assert found, output
    return found.group(1)


def test_the_epsilon_cap_is_proposed_and_shown_by_the_policys_name(board: Board) -> None:
    # Execute
    policy = runner.invoke(app, ["policy", "show", "--db", board.url])
    proposed = runner.invoke(app, board.propose(
        "privacy-policy", {"max_epsilon_per_round": 1.5, "max_delta": 1e-6}, "Tighter ε cap"))
    shown = runner.invoke(app, ["proposals", "show", _proposal_id(proposed.output),
                                "--db", board.url])  # fmt: skip
    # Assert
    assert policy.exit_code == 0, policy.output
    assert "max_epsilon_per_round" in policy.output
    assert proposed.exit_code == 0, proposed.output
    assert shown.exit_code == 0, shown.output
    assert '"max_epsilon_per_round": 1.5' in shown.output
    assert "epsilon_cap" not in shown.output


def test_the_old_name_still_works_with_a_note(board: Board) -> None:
    result = runner.invoke(app, board.propose(
        "privacy-policy", {"epsilon_cap": 1.0, "delta": 1e-6}, "Old names"))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "'epsilon_cap' is the deprecated name of max_epsilon_per_round" in result.output


def test_an_unknown_param_lists_the_allowed_names_and_the_nearest(board: Board) -> None:
    # Execute
    fees = runner.invoke(app, board.propose(
        "fees", {"lane_query_pionts": 12, "warehouse_query_points": 30}, "Fees"))
    privacy = runner.invoke(app, board.propose(
        "privacy-policy", {"max_epsilon_per_round": 1.0, "max_delta": 1e-6, "epsilon": 3},
        "Typo"))  # fmt: skip
    too_big = runner.invoke(app, board.propose(
        "privacy-policy", {"max_epsilon_per_round": 1000, "max_delta": 1e-6}, "Too big"))
    # Assert
    assert fees.exit_code == 1
    assert "lane_query_points, warehouse_query_points" in fees.output
    assert "did you mean lane_query_points?" in fees.output
    assert privacy.exit_code == 1
    assert "max_epsilon_per_round, max_delta, min_group_size" in privacy.output
    assert too_big.exit_code == 1
    assert "params.max_epsilon_per_round" in too_big.output
    assert "epsilon_cap" not in too_big.output
