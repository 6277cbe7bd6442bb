"""`consortium query lane|warehouse` through CliRunner on a real SQLite ledger."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from consortium.cli.query import register
from consortium.db import create_schema, make_engine, make_session_factory
from consortium.identity.keys import generate_key_file
from consortium.identity.registry import bootstrap_coordinator, register_key
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.points.store import balance, deposit, mint
from consortium.policy.store import change_policy
from tests.forecasts.conftest import Pool

runner = CliRunner()


@dataclass(frozen=True)
class Setup:
    url: str
    owner_key: Path
    coordinator_key: Path
    owner: Signer
    coordinator: Signer

    def balance(self) -> int:
        engine = make_engine(self.url)
        with make_session_factory(engine).begin() as s:
            value = balance(s, "cargo:" + self.owner.key_id)
        engine.dispose()
        return value


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    url = f"sqlite:///{tmp_path / 'coordinator.db'}"
    engine = make_engine(url)
    create_schema(engine)
    coordinator = generate_key_file(tmp_path / "keys" / "coordinator.key")
    owner = generate_key_file(tmp_path / "keys" / "owner.key")
    treasurer = Signer.generate()
    with make_session_factory(engine).begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        register_key(s, public_key=owner.public_key, role=Role.CARGO_OWNER, signer=coordinator)
        register_key(s, public_key=treasurer.public_key, role=Role.TREASURER, signer=coordinator)
        mint(s, account="member:rhine-road", amount=900, reason="contribution",
             refs={"model": "eta", "round": 1}, signer=coordinator)  # fmt: skip
        deposit(s, account="cargo:" + owner.key_id, amount=100, external_ref="INV-7",
                signer=treasurer)  # fmt: skip
    engine.dispose()
    return Setup(url, tmp_path / "keys" / "owner.key", tmp_path / "keys" / "coordinator.key",
                 owner, coordinator)  # fmt: skip


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def _common(setup: Setup, model_dir: Path) -> list[str]:
    return ["--key", str(setup.owner_key), "--coordinator-key", str(setup.coordinator_key),
            "--model-dir", str(model_dir), "--db", setup.url, "--max-price", "30"]  # fmt: skip


def test_lane_query_prints_the_answer_the_fee_and_the_split(setup: Setup, pool: Pool) -> None:
    # Execute
    result = runner.invoke(_app(), [
        "query", "lane", "--origin", "ITMIL", "--destination", "FRPAR", "--mode", "road",
        "--from", "2026-03-02T00:00:00+01:00", "--to", "2026-03-09T00:00:00+01:00",
        *_common(setup, pool.eta_dir),
    ])  # fmt: skip
    # Assert
    assert result.exit_code == 0, result.output
    # the answer as a card in the mode's units (road: hours), on time at the road tolerance
    assert "ITMIL → FRPAR by road" in result.output
    assert re.search(r"typical transit [0-9.]+ h;", result.output), result.output
    on_time = r"On time \(within 1 h of schedule\): (about|under|over) [0-9]+ %"
    assert re.search(on_time, result.output), result.output
    assert "transit_hours_median" not in result.output  # no raw field names
    assert "fee: 10 points" in result.output
    assert "member:rhine-road" in result.output
    assert "treasury" in result.output
    assert setup.balance() == 90


def test_unknown_lane_is_an_error_and_costs_nothing(setup: Setup, pool: Pool) -> None:
    result = runner.invoke(_app(), [
        "query", "lane", "--origin", "ITMIL", "--destination", "FRPAR", "--mode", "air",
        "--from", "2026-03-02T00:00:00Z", "--to", "2026-03-09T00:00:00Z",
        *_common(setup, pool.eta_dir),
    ])  # fmt: skip
    assert result.exit_code == 1
    assert "[unknown-lane]" in result.output
    assert setup.balance() == 100


def test_a_window_without_offset_is_refused_before_anything(setup: Setup, pool: Pool) -> None:
    result = runner.invoke(_app(), [
        "query", "lane", "--origin", "ITMIL", "--destination", "FRPAR", "--mode", "road",
        "--from", "2026-03-02T00:00:00", "--to", "2026-03-09T00:00:00Z",
        *_common(setup, pool.eta_dir),
    ])  # fmt: skip
    assert result.exit_code == 2
    assert "--from" in result.output
    assert setup.balance() == 100


def test_warehouse_query_declines_then_answers_once_the_board_allows_small_groups(
    setup: Setup, pool: Pool
) -> None:
    # Prepare
    args = ["query", "warehouse", "--warehouse", "WH-NLRTM-01", "--members",
            str(pool.synth_dir), *_common(setup, pool.stock_dir)]  # fmt: skip
    # Execute
    declined = runner.invoke(_app(), args)
    engine = make_engine(setup.url)
    with make_session_factory(engine).begin() as s:
        change_policy(s, changes={"min_group_size": 1}, signer=setup.coordinator)
    engine.dispose()
    answered = runner.invoke(_app(), args)
    # Assert
    assert declined.exit_code == 1
    assert "[declined]" in declined.output
    assert answered.exit_code == 0, answered.output
    assert "p_stockout_mean" in answered.output
    assert "fee: 25 points" in answered.output
    assert "treasury" in answered.output  # no stock contributions yet: all to the treasury
    assert setup.balance() == 75
