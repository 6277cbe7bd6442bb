"""Rounds that survive crashes and re-runs: a real ``consortium federate`` killed mid-round.

The coordinator is a real subprocess running ``consortium federate`` on the synthetic consortium
with a ledger (SQLite file, or the real PostgreSQL server under the ``postgres`` marker). The
one fault injected lives only in this test: the subprocess's recorder stops, before it writes
anything, when round 1 comes to be recorded, i.e. after round 1's checkpoint is on disk and
before its ledger entry and mint are committed. The test then SIGKILLs it, resumes with
``--resume`` through the CLI, and checks that every completed round is recorded and minted
exactly once; then a second, separate federation of the same model on the same database must
record and mint its own rounds instead of stopping with ``already-minted``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from consortium.cli.main import app as cli
from consortium.contributions.recording import LedgerRecorder
from consortium.db import create_schema, make_engine, make_session_factory
from consortium.identity.keys import generate_key_file
from consortium.identity.registry import bootstrap_coordinator
from consortium.ledger.kinds import EntryKind
from consortium.ledger.models import EntryRow
from consortium.ledger.signing import Signer
from consortium.membership.store import admit_member
from consortium.points.books import supply
from consortium.rounds import RoundReport
from consortium.synth import generate_consortium
from tests.postgres import database_url, postgres_server  # noqa: F401

WAREHOUSES = ["duisburg-dc", "rotterdam-dc", "warsaw-dc"]
runner = CliRunner()

# The subprocess: the real CLI, with the recorder stopped (before it writes) at round 1.
_CRASHING_COORDINATOR = """
import sys, time
from pathlib import Path
from consortium.contributions import recording

marker = Path(sys.argv[1])
record_round = recording.LedgerRecorder.record_round

def stalled(self, report):
    if report.server_round == 1:
        marker.write_text(report.run_id)
        time.sleep(3600)  # the test SIGKILLs the coordinator here
    return record_round(self, report)

recording.LedgerRecorder.record_round = stalled
from consortium.cli.main import app
app(args=sys.argv[2:], prog_name="consortium")
"""


@dataclass(frozen=True)
class Consortium:
    """Synthetic members, a coordinator database with them admitted, the coordinator key."""

    root: Path
    url: str
    key: Path

    def federate(self, out: str, *, rounds: int, resume: bool = False) -> list[str]:
        args = ["federate", "--model", "stock", "--members", str(self.root / "synth" / "members"),
                "--out", str(self.root / out), "--state", str(self.root / "state"),
                "--rounds", str(rounds), "--local-epochs", "1", "--epsilon", "50",
                "--max-epsilon-per-round", "2",
                "--db", self.url, "--coordinator-key", str(self.key)]  # fmt: skip
        return [*args, "--resume"] if resume else args


@pytest.fixture
def consortium(tmp_path: Path, database_url: str) -> Consortium:  # noqa: F811
    generate_consortium(tmp_path / "synth", seed=7, scale=0.05)
    engine = make_engine(database_url)
    create_schema(engine)
    coordinator = generate_key_file(tmp_path / "coordinator.key")
    with make_session_factory(engine).begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        for member in WAREHOUSES:
            admit_member(s, member=member, public_key=Signer.generate().public_key,
                         signer=coordinator)  # fmt: skip
    engine.dispose()
    return Consortium(tmp_path, database_url, tmp_path / "coordinator.key")


def _entries(url: str, kind: EntryKind) -> list[dict[str, object]]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as s:
            rows = s.execute(
                select(EntryRow.payload).where(EntryRow.kind == kind).order_by(EntryRow.seq)
            ).scalars()
            return [json.loads(text) for text in rows]
    finally:
        engine.dispose()


def _minted(url: str) -> int:
    engine: Engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as s:
            return supply(s).minted
    finally:
        engine.dispose()


def _kill_after_checkpoint_before_ledger(consortium: Consortium) -> str:
    """Run the coordinator until round 1 is checkpointed but not recorded; SIGKILL it."""
    marker = consortium.root / "stalled-at-round-1"
    env = {**os.environ, "FLWR_TELEMETRY_ENABLED": "0"}
    args = consortium.federate("out", rounds=2)
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
        [sys.executable, "-c", _CRASHING_COORDINATOR, str(marker), *args],
        cwd=consortium.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while not marker.exists():
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"the coordinator ended before round 1 was recorded:\n{out[-3000:]}")
            assert time.monotonic() < deadline, "round 1 never came to be recorded"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
    return marker.read_text()


@pytest.mark.slow
def test_killed_coordinator_resumes_and_records_and_mints_every_round_exactly_once(
    consortium: Consortium,
) -> None:
    # Prepare: SIGKILL between round 1's checkpoint and its ledger commit
    run_id = _kill_after_checkpoint_before_ledger(consortium)
    checkpoint = json.loads((consortium.root / "out/checkpoints/round-0001.json").read_text())
    assert checkpoint["run_id"] == run_id
    assert _entries(consortium.url, EntryKind.ROUND_COMPLETED) == []  # the fault really hit
    assert _entries(consortium.url, EntryKind.POINTS_MINTED) == []
    # Execute: resume the same run through the CLI
    resumed = runner.invoke(cli, consortium.federate("out", rounds=2, resume=True))
    # Assert: rounds 1 and 2 of that run, each recorded once and minted once per member
    assert resumed.exit_code == 0, resumed.output
    completed = _entries(consortium.url, EntryKind.ROUND_COMPLETED)
    assert [(e["run"], e["round"]) for e in completed] == [(run_id, 1), (run_id, 2)]
    minted = _entries(consortium.url, EntryKind.POINTS_MINTED)
    per_round = Counter((m["refs"]["run"], m["refs"]["round"], m["account"]) for m in minted)  # type: ignore[index]
    assert per_round == {(run_id, r, f"member:{w}"): 1 for r in (1, 2) for w in WAREHOUSES}
    assert _minted(consortium.url) == sum(int(m["amount"]) for m in minted)  # type: ignore[call-overload]
    # Execute: a second, separate federation of the same model on the same database
    second = runner.invoke(cli, consortium.federate("second", rounds=1))
    # Assert: it records and mints its own round 1 (no already-minted)
    assert second.exit_code == 0, second.output
    completed = _entries(consortium.url, EntryKind.ROUND_COMPLETED)
    assert len(completed) == 3
    other = completed[-1]["run"]
    assert other != run_id
    assert completed[-1]["round"] == 1
    minted = _entries(consortium.url, EntryKind.POINTS_MINTED)
    assert {m["account"] for m in minted if m["refs"]["run"] == other} == {  # type: ignore[index]
        f"member:{w}" for w in WAREHOUSES
    }


def test_recorder_writes_and_mints_a_round_once_per_run(database_url: str) -> None:  # noqa: F811
    # Prepare: a coordinator ledger with three active members
    engine = make_engine(database_url)
    create_schema(engine)
    factory = make_session_factory(engine)
    coordinator = Signer.generate()
    with factory.begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        for member in WAREHOUSES:
            admit_member(s, member=member, public_key=Signer.generate().public_key,
                         signer=coordinator)  # fmt: skip
    recorder = LedgerRecorder(factory, coordinator)

    def report(run_id: str, rnd: int, status: str = "ok") -> RoundReport:
        ok = status == "ok"
        examples = dict.fromkeys(WAREHOUSES, 100) if ok else {}
        return RoundReport(
            model="stock", server_round=rnd, status=status, members_total=3,
            members_aggregated=3 if ok else 0, examples=examples,
            epsilon_spent=dict.fromkeys(WAREHOUSES, 1.0), model_version=f"v{rnd}", run_id=run_id,
        )  # fmt: skip

    # Execute: a resumed run hands rounds over again; another run has the same round numbers
    recorder.record_round(report("run-a", 1))
    recorder.record_round(report("run-a", 1))
    recorder.record_round(report("run-a", 2, "failed"))
    recorder.record_round(report("run-a", 2, "failed"))
    recorder.record_round(report("run-a", 2))  # the retried round 2 completed
    recorder.record_round(report("run-b", 1))
    # Assert
    a, b = recorder.recorded_rounds("stock", "run-a"), recorder.recorded_rounds("stock", "run-b")
    assert (sorted(a.completed), sorted(a.failed)) == ([1, 2], [2])
    assert (sorted(b.completed), sorted(b.failed)) == ([1], [])
    engine.dispose()
    completed = _entries(database_url, EntryKind.ROUND_COMPLETED)
    assert [(e["run"], e["round"]) for e in completed] == [("run-a", 1), ("run-a", 2), ("run-b", 1)]
    assert len(_entries(database_url, EntryKind.ROUND_FAILED)) == 1
    minted = _entries(database_url, EntryKind.POINTS_MINTED)
    keys = Counter((m["refs"]["run"], m["refs"]["round"], m["account"]) for m in minted)  # type: ignore[index]
    assert set(keys.values()) == {1}
    assert len(keys) == 3 * 3
