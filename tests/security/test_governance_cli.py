"""Issue 14, item 12, through the CLI: a backdated vote cannot defeat a queued proposal.

On the old code ``consortium vote --now <during voting>`` counted a vote cast after the proposal
was queued (the state was computed at the caller's time), and the tally turned it into a
defeated one; ``consortium propose --now 2020-...`` dated a proposal before its own ledger entry.
Now those commands have no ``--now``: the coordinator's clock times them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from consortium.cli.governance import register
from consortium.governance.clock import wait_until
from consortium.governance.rules import ProposalState
from consortium.governance.store import get_proposal
from consortium.identity.keys import generate_key_file
from consortium.ledger.signing import Signer
from consortium.ledger.store import ledger_size
from consortium.membership import admit_member
from consortium.points.store import mint
from consortium.policy.store import change_policy
from tests.governance.conftest import TIMINGS

runner = CliRunner()


@pytest.fixture
def coordinator(tmp_path: Path) -> Signer:
    """The coordinator's key lives in a file the CLI reads."""
    return generate_key_file(tmp_path / "keys" / "coordinator.key")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The CLI attack runs on a SQLite file (the store attacks above run on both backends)."""
    return f"sqlite:///{tmp_path / 'consortium.db'}"


def test_a_backdated_vote_through_the_cli_cannot_defeat_a_queued_proposal(
    factory: sessionmaker[Session], coordinator: Signer, database_url: str, tmp_path: Path
) -> None:
    # Prepare: alpha (700) and beta (200) pass a proposal on the coordinator's real clock;
    # gamma (600, capped) stayed away; the coordinator queues it
    keys = tmp_path / "keys"
    app = typer.Typer(pretty_exceptions_show_locals=False)
    register(app)
    db = ["--db", database_url]
    signers = {name: generate_key_file(keys / f"{name}.key") for name in ("alpha", "beta", "gamma")}
    coordinator_file = keys / "coordinator.key"
    with factory.begin() as s:
        for name, amount in (("alpha", 700), ("beta", 200), ("gamma", 600)):
            admit_member(s, member=name, public_key=signers[name].public_key, signer=coordinator)
            mint(s, account=f"member:{name}", amount=amount, reason="contribution",
                 refs={"model": "eta", "round": 1}, signer=coordinator)  # fmt: skip
        change_policy(s, changes={**TIMINGS, "voting_delay_s": 0, "voting_period_s": 2,
                                  "timelock_s": 600, "late_quorum_extension_s": 0},
                      signer=coordinator)  # fmt: skip
    proposed = runner.invoke(app, ["propose", "--kind", "fees", "--title", "Fees", "--params",
                                   '{"lane_query_points": 12, "warehouse_query_points": 30}',
                                   "--key", str(keys / "alpha.key"), *db])  # fmt: skip
    assert proposed.exit_code == 0, proposed.output
    pid = proposed.output.split()[1]
    with factory.begin() as s:
        record = get_proposal(s, pid)
    wait_until(record.vote_start)
    for name in ("alpha", "beta"):
        voted = runner.invoke(app, ["vote", "--proposal", pid, "--support", "for", "--key",
                                    str(keys / f"{name}.key"), *db])  # fmt: skip
        assert voted.exit_code == 0, voted.output
    wait_until(record.deadline)
    queued = runner.invoke(app, ["proposals", "queue", pid, "--key", str(coordinator_file), *db])
    assert queued.exit_code == 0, queued.output
    with factory.begin() as s:
        size, before = ledger_size(s), get_proposal(s, pid)
    during_voting = (record.vote_start + timedelta(milliseconds=500)).isoformat()
    # Execute: gamma votes against, backdated into the voting period; then a backdated proposal
    backdated_vote = runner.invoke(app, ["vote", "--proposal", pid, "--support", "against",
                                         "--key", str(keys / "gamma.key"), "--now",
                                         during_voting, *db])  # fmt: skip
    plain_vote = runner.invoke(app, ["vote", "--proposal", pid, "--support", "against",
                                     "--key", str(keys / "gamma.key"), *db])  # fmt: skip
    backdated_proposal = runner.invoke(app, [
        "propose", "--kind", "fees", "--title", "Old fees", "--params",
        '{"lane_query_points": 2, "warehouse_query_points": 3}', "--key",
        str(keys / "gamma.key"), "--now", "2020-01-01T00:00:00+00:00", *db,
    ])  # fmt: skip
    # Assert: --now is no option of these commands; the late vote is refused; nothing changed
    assert backdated_vote.exit_code == 2
    assert "--now" in backdated_vote.output
    assert (plain_vote.exit_code, "[voting-closed]" in plain_vote.output) == (1, True)
    assert backdated_proposal.exit_code == 2
    with factory.begin() as s:
        after = get_proposal(s, pid)
        assert ledger_size(s) == size
    assert after.tally == before.tally
    assert after.state(now=datetime.now(UTC)) is ProposalState.QUEUED
