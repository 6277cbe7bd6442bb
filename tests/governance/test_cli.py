"""`consortium propose|vote|execute|proposals|members` end to end on a SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from consortium.cli.governance import register
from consortium.governance.clock import wait_until
from consortium.governance.store import get_proposal
from consortium.identity.keys import generate_key_file, public_key_path
from consortium.identity.registry import get_key
from consortium.ledger.audit import verify_database
from consortium.ledger.signing import Signer
from consortium.membership import get_member
from consortium.points.store import mint
from consortium.policy.store import change_policy, current_policy
from tests.governance.conftest import TIMINGS

runner = CliRunner()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'consortium.db'}"


@pytest.fixture
def coordinator(tmp_path: Path) -> Signer:
    """The coordinator's key lives in a file the CLI reads."""
    return generate_key_file(tmp_path / "keys" / "coordinator.key")


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_show_locals=False)
    register(app)
    return app


def _iso(moment: datetime) -> str:
    return moment.isoformat()


CLI_TIMINGS = {**TIMINGS, "voting_delay_s": 0, "voting_period_s": 2, "timelock_s": 5,
               "late_quorum_extension_s": 0}  # fmt: skip
"""Seconds, not hours: the CLI is timed by the coordinator's real clock and the test waits."""


def test_a_fee_proposal_from_members_to_execution(
    app: typer.Typer, factory: sessionmaker[Session], coordinator: Signer, database_url: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    # Prepare: two founding members admitted through the CLI, then points and timings
    keys = tmp_path / "keys"
    db = ["--db", database_url]
    for name in ("alpha", "beta"):
        generate_key_file(keys / f"{name}.key")
        admitted = runner.invoke(app, ["members", "admit", "--member", name, "--public-key",
                                       str(public_key_path(keys / f"{name}.key")), "--key",
                                       str(keys / "coordinator.key"), *db])  # fmt: skip
        assert admitted.exit_code == 0, admitted.output
    with factory.begin() as s:
        for name, amount in (("alpha", 700), ("beta", 300)):
            mint(s, account=f"member:{name}", amount=amount, reason="contribution",
                 refs={"model": "eta", "round": 1}, signer=coordinator)  # fmt: skip
        change_policy(s, changes=CLI_TIMINGS, signer=coordinator)
    # Execute
    proposed = runner.invoke(app, [
        "propose", "--kind", "fees", "--title", "Raise the lane fee", "--params",
        '{"lane_query_points": 14, "warehouse_query_points": 25}',
        "--key", str(keys / "beta.key"), *db,
    ])  # fmt: skip
    assert proposed.exit_code == 0, proposed.output
    pid = proposed.output.split()[1]
    with factory.begin() as s:
        record = get_proposal(s, pid)
    wait_until(record.vote_start)
    votes = [
        runner.invoke(
            app,
            [
                "vote",
                "--proposal",
                pid,
                "--support",
                support,
                "--key",
                str(keys / f"{name}.key"),
                *db,
            ],
        )  # fmt: skip
        for name, support in (("alpha", "for"), ("beta", "against"), ("beta", "for"))
    ]
    shown = runner.invoke(app, ["proposals", "show", pid, "--member", "beta", *db])
    wait_until(record.deadline)
    tally = runner.invoke(app, ["proposals", "tally", pid, *db])
    queued = runner.invoke(app, ["proposals", "queue", pid, "--key", str(keys / "coordinator.key"),
                                 *db])  # fmt: skip
    early = runner.invoke(app, ["execute", pid, "--key", str(keys / "coordinator.key"), *db])
    with factory.begin() as s:
        eta = get_proposal(s, pid).eta
    assert eta is not None
    wait_until(eta)
    executed = runner.invoke(app, ["execute", pid, "--key", str(keys / "coordinator.key"), *db])
    listed = runner.invoke(app, ["proposals", "list", "--now",
                                 _iso(datetime.now(UTC) + timedelta(days=1)), *db])  # fmt: skip
    # Assert
    assert [v.exit_code for v in votes] == [0, 0, 1]
    assert "alpha voted for" in votes[0].output
    assert "with power 500" in votes[0].output  # 700 capped at 50 % of 1000
    assert "with power 300" in votes[1].output
    assert "[double-vote]" in votes[2].output
    assert "  alpha" in shown.output
    assert "power 500" in shown.output
    assert "power of beta at the snapshot: 300" in shown.output
    assert "for 500, against 300, abstain 0" in tally.output
    assert "quorum 320 of total power 800" in tally.output
    assert "state: succeeded" in tally.output
    assert queued.exit_code == 0, queued.output
    assert (early.exit_code, "[timelock]" in early.output) == (1, True)
    assert executed.exit_code == 0, executed.output
    assert f"{pid}  fees" in listed.output
    assert "executed" in listed.output
    with factory.begin() as s:
        assert current_policy(s).fees["lane"] == 14
        verify_database(s)


def test_a_member_exits_through_the_cli(
    app: typer.Typer, factory: sessionmaker[Session], coordinator: Signer, database_url: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    # Prepare
    keys = tmp_path / "keys"
    db = ["--db", database_url]
    member = generate_key_file(keys / "leaver.key")
    runner.invoke(app, ["members", "admit", "--member", "leaver", "--public-key",
                        str(public_key_path(keys / "leaver.key")), "--key",
                        str(keys / "coordinator.key"), *db])  # fmt: skip
    # Execute
    refused = runner.invoke(app, ["members", "remove", "--member", "leaver", "--key",
                                  str(keys / "coordinator.key"), *db])  # fmt: skip
    asked = runner.invoke(app, ["members", "exit", "--member", "leaver", "--key",
                                str(keys / "leaver.key"), *db])  # fmt: skip
    removed = runner.invoke(app, ["members", "remove", "--member", "leaver", "--key",
                                  str(keys / "coordinator.key"), *db])  # fmt: skip
    active = runner.invoke(app, ["members", "list", *db])
    everyone = runner.invoke(app, ["members", "list", "--all", *db])
    # Assert
    assert (refused.exit_code, "[no-mandate]" in refused.output) == (1, True)
    assert asked.exit_code == 0, asked.output
    assert removed.exit_code == 0, removed.output
    assert "every model from scratch" in removed.output
    assert active.output.strip() == "no members"
    assert "leaver" in everyone.output
    assert "removed" in everyone.output
    with factory.begin() as s:
        record = get_member(s, "leaver")
        key = get_key(s, member.key_id)
    assert record is not None
    assert record.status == "removed"
    assert key is not None
    assert key.revoked_seq is not None


def test_bad_input_is_reported_with_the_field(
    app: typer.Typer, factory: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    # Prepare
    key = tmp_path / "keys" / "someone.key"
    generate_key_file(key)
    # Execute
    not_json = runner.invoke(app, ["propose", "--kind", "fees", "--title", "Fees", "--params",
                                   "{lane", "--key", str(key), "--db", database_url])  # fmt: skip
    stranger = runner.invoke(app, ["propose", "--kind", "fees", "--title", "Fees", "--params",
                                   '{"lane_query_points": 1, "warehouse_query_points": 2}',
                                   "--key", str(key), "--db", database_url])  # fmt: skip
    unknown = runner.invoke(app, ["proposals", "show", "p-0000000000000000", "--db", database_url])
    # Assert
    assert (not_json.exit_code, "invalid --params" in not_json.output) == (2, True)
    assert (stranger.exit_code, "[not-a-member]" in stranger.output) == (1, True)
    assert (unknown.exit_code, "[unknown-proposal]" in unknown.output) == (1, True)


def test_the_on_time_tolerance_is_proposed_by_its_policy_name_and_checked(
    app: typer.Typer, factory: sessionmaker[Session], coordinator: Signer, database_url: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    # Prepare: one member, admitted by the coordinator
    key = tmp_path / "keys" / "alpha.key"
    generate_key_file(key)
    db = ["--db", database_url]
    admitted = runner.invoke(app, ["members", "admit", "--member", "alpha", "--public-key",
                                   str(public_key_path(key)), "--key",
                                   str(tmp_path / "keys" / "coordinator.key"), *db])  # fmt: skip
    assert admitted.exit_code == 0, admitted.output

    def propose(params: str) -> Result:
        return runner.invoke(app, ["propose", "--kind", "on-time-tolerance", "--title",
                                   "Air on time within an hour", "--params", params,
                                   "--key", str(key), *db])  # fmt: skip

    # Execute
    too_long = propose('{"on_time_tolerance_minutes": {"air": 50000}}')
    wrong_name = propose('{"air": 60}')
    fine = propose('{"on_time_tolerance_minutes": {"air": 60}}')
    # Assert: a bad value names the parameter and its mode; a wrong name lists the right one
    assert too_long.exit_code == 1
    assert "params.on_time_tolerance_minutes.air" in too_long.output
    assert "50000 is outside 1..43200" in too_long.output
    assert wrong_name.exit_code == 1
    assert "its params are on_time_tolerance_minutes" in wrong_name.output
    assert fine.exit_code == 0, fine.output
    with factory.begin() as s:
        assert get_proposal(s, fine.output.split()[1]).params == {
            "on_time_tolerance_minutes": {"air": 60}
        }
