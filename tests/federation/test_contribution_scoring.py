"""The leave-one-out contribution rule end to end: real ServerApp, ClientApp, SecAgg+ and ledger.

The board sets the rule to ``leave-one-out``; a federation of the four synthetic carriers then
scores every round (each member releases a DP validation gradient inside its SecAgg+ vector and
reports one projection) and the federation's own ``LedgerRecorder`` mints by quality. One member
(aurora-air) allows itself too little ε to release a gradient (or even to train) and declines;
in a second run meridian-line lies about its projection and the round's scores are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flwr.app import Context, Message
from flwr.app.message_type import MessageType
from flwr.clientapp import ClientApp
from flwr.clientapp.typing import ClientAppCallable
from flwr.compat.common import recorddict_compat as compat
from sqlalchemy.orm import Session, sessionmaker

from consortium.contributions.recording import LedgerRecorder
from consortium.db import create_schema, make_engine, make_session_factory
from consortium.federation.client_app import app as client_app
from consortium.federation.client_app import make_client_app
from consortium.federation.local_grid import LocalGrid, serve
from consortium.federation.member.training import LAST_UPDATE_KEY
from consortium.federation.mods import make_update_guard_mod, masked_updates_mod
from consortium.federation.runner import federate
from consortium.federation.server_app import make_server_app
from consortium.identity.registry import bootstrap_coordinator
from consortium.ledger.audit import verify_database
from consortium.ledger.signing import Signer
from consortium.ledger.store import load_entries
from consortium.membership import admit_member
from consortium.points import models as _points_tables  # noqa: F401  (tables)
from consortium.points.rules import contribution_awards, contributions_from_entries
from consortium.policy import store as _policy_tables  # noqa: F401  (tables)
from consortium.policy.store import change_policy, current_policy
from consortium.privacy.ledger import PrivacyLedger
from consortium.rounds import FederationEvent, RoundReport
from consortium.synth import generate_consortium
from tests.federation.test_federated_training import (
    CARRIERS,
    last_update,
    nodes_of,
    reveals,
    run_config_of,
)

pytestmark = pytest.mark.slow

SIGMA = 20.0  # the server's default score-noise-multiplier


@dataclass
class Board:
    """A coordinator database whose board chose the leave-one-out rule."""

    factory: sessionmaker[Session]
    coordinator: Signer

    def recorder(self) -> LedgerRecorder:
        return LedgerRecorder(self.factory, self.coordinator)

    def entries(self, kind: str) -> list[dict[str, Any]]:
        with self.factory.begin() as s:
            return [e.payload_object() for e in load_entries(s) if e.kind == kind]


def make_board(path: Path) -> Board:
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    factory = make_session_factory(engine)
    coordinator = Signer.generate()
    with factory.begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        for member in CARRIERS:
            admit_member(s, member=member, public_key=Signer.generate().public_key,
                         signer=coordinator)  # fmt: skip
        change_policy(s, changes={"contribution_rule": "leave-one-out"}, signer=coordinator)
    return Board(factory, coordinator)


@pytest.fixture(scope="module")
def members_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("consortium")
    generate_consortium(root, seed=7, scale=0.05)
    return root / "members"


@dataclass
class ScoredRun:
    board: Board
    out: Path
    reports: list[RoundReport]
    grid: LocalGrid


def run_scored(
    members_dir: Path, out: Path, *, app: ClientApp, budgets: dict[str, float], rounds: int
) -> ScoredRun:
    """Serve the real ServerApp with the board's recorder over a recording one-machine grid."""
    board = make_board(out / "board.db")
    nodes = nodes_of(members_dir, "eta", out)
    for member, epsilon in budgets.items():
        nodes[member]["epsilon"] = epsilon
    run_config = run_config_of("eta", out) | {"rounds": rounds}
    grid = LocalGrid(app, nodes=nodes, run_config=run_config, record=True)
    events: list[FederationEvent] = []
    serve(make_server_app(on_event=events.append, recorder=board.recorder()), grid,
          run_config=run_config)  # fmt: skip
    reports = [e.report for e in events if e.stage == "round" and e.report is not None]
    return ScoredRun(board, out, reports, grid)


@pytest.fixture(scope="module")
def scored_run(members_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> ScoredRun:
    out = tmp_path_factory.mktemp("scored")
    return run_scored(members_dir, out, app=client_app, budgets={"aurora-air": 0.1}, rounds=1)


def test_every_round_is_scored_and_checked(scored_run: ScoredRun) -> None:
    assert [r.scoring for r in scored_run.reports] == ["ok"]
    for report in scored_run.reports:
        trained = set(report.examples)
        assert set(report.gains) == trained
        assert set(report.quality) == trained
        positive = {m for m, g in report.gains.items() if g > 0}
        assert positive, "some member must have helped"
        assert {m for m, q in report.quality.items() if q > 0} <= positive
        assert 999_000 <= sum(report.quality.values()) <= 1_000_000  # ppm, floored


def test_leave_one_out_mints_the_pot_by_quality_and_the_ledger_recomputes_it(
    scored_run: ScoredRun,
) -> None:
    board = scored_run.board
    with board.factory.begin() as s:
        policy = current_policy(s)
        verify_database(s)
        entries = load_entries(s)
    rounds = [e.payload_object() for e in entries if e.kind == "round-completed"]
    assert [r["contribution_rule"] for r in rounds] == ["leave-one-out"]
    minted: dict[int, dict[str, int]] = {}
    for e in entries:
        payload = e.payload_object()
        if e.kind == "points-minted":
            minted.setdefault(payload["refs"]["round"], {})[payload["account"]] = payload["amount"]
    for payload in rounds:
        # Recompute the awards from the round entry alone (and the policy in force).
        people = payload["participants"]
        scores = {f"member:{p['member']}": p["examples"] for p in people if not p["sat_out"]}
        quality = {f"member:{p['member']}": p["quality"] for p in people if "quality" in p}
        want = contribution_awards(
            rule="leave-one-out", scores=scores, accepted=list(scores), quality=quality,
            points_per_example=policy.points_per_example, cap=policy.contribution_cap_per_round,
        )  # fmt: skip
        assert minted.get(payload["round"], {}) == want
        assert want, "the round minted something"
        zero = {a for a, q in quality.items() if q == 0}
        assert not zero & set(want)  # no quality, no points
        # Supply is bounded exactly as under the default rule.
        by_examples = contribution_awards(
            rule="examples", scores=scores, accepted=list(scores),
            points_per_example=policy.points_per_example, cap=policy.contribution_cap_per_round,
        )  # fmt: skip
        assert sum(want.values()) <= sum(by_examples.values())
    assert contributions_from_entries(entries, model="eta") == {
        a: sum(m.get(a, 0) for m in minted.values()) for a in sorted(set().union(*minted.values()))
    }


def test_gradient_release_is_in_each_members_epsilon_or_declined(
    scored_run: ScoredRun, members_dir: Path
) -> None:
    del members_dir
    for member in CARRIERS:
        ledger = PrivacyLedger.load(scored_run.out / "member-state" / member, "eta")
        releases = sum(k for s, q, k in ledger.history if (s, q) == (SIGMA, 1.0))
        spent = ledger.spent()
        if member == "aurora-air":  # ε 0.1 in all: a release costs 0.18 alone, more than that
            assert releases == 0
            assert spent <= 0.1 + 1e-9
        else:
            assert releases == 1  # one per scored round, composed with training
            assert spent <= 8.0 + 1e-9
    first = scored_run.reports[0]
    assert first.scoring == "ok"  # the other members' gradients suffice
    assert first.quality.get("aurora-air", 0) == 0


def test_coordinator_never_holds_an_update_only_one_number_per_member(
    scored_run: ScoredRun,
) -> None:
    grid = scored_run.grid
    errors = [m.error.reason for m in grid.received if m.has_error()]
    # aurora-air has nothing to contribute: it leaves each round's secure sum, saying so
    assert all("aurora-air" in e and "[sat-out]" in e for e in errors), errors
    assert [r.sat_out for r in scored_run.reports] == [("aurora-air",)]
    trained = [m for m in CARRIERS if m != "aurora-air"]  # aurora-air's ε was too small to train
    for member in trained:  # its update (and, inside the masked vector, its gradient)
        update = last_update(grid, member)
        assert any(np.any(u) for u in update)
        assert not any(reveals(msg, update) for msg in grid.received), member
    scores = [
        m
        for m in grid.received
        if m.metadata.message_type == MessageType.EVALUATE
        and "projection" in compat.recorddict_to_evaluateres(m.content).metrics
    ]
    assert len(scores) == len(trained)  # one number per trained member (and round)
    for reply in scores:
        assert not reply.content.array_records  # no array travels back
        assert set(compat.recorddict_to_evaluateres(reply.content).metrics) == {"projection"}


# --- a member that lies about its projection ------------------------------------------------


def lie_about_projection(msg: Message, ctxt: Context, call_next: ClientAppCallable) -> Message:
    """meridian-line claims its update went further downhill than it did."""
    reply = call_next(msg, ctxt)
    if (
        msg.metadata.message_type != MessageType.EVALUATE
        or ctxt.node_config.get("member-id") != "meridian-line"
        or reply.has_error()
    ):
        return reply
    res = compat.recorddict_to_evaluateres(reply.content)
    if "projection" in res.metrics:
        p = float(res.metrics["projection"])  # type: ignore[arg-type]
        res.metrics["projection"] = p - abs(p) - 1e-3
        return Message(compat.evaluateres_to_recorddict(res), reply_to=msg)
    return reply


@pytest.fixture(scope="module")
def lied_run(members_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> ScoredRun:
    app = make_client_app(
        mods=[masked_updates_mod, make_update_guard_mod(on_out_of_range="clip"),
              lie_about_projection],  # fmt: skip
    )
    return run_scored(members_dir, tmp_path_factory.mktemp("lied"), app=app, budgets={}, rounds=1)


def test_a_misreported_projection_gets_the_rounds_scores_refused(lied_run: ScoredRun) -> None:
    (report,) = lied_run.reports
    assert report.status == "ok"  # the model round itself is fine
    assert report.scoring == "inconsistent"
    assert report.quality == {}
    assert report.gains == {}
    (payload,) = lied_run.board.entries("round-completed")
    assert payload["scoring"] == "inconsistent"
    assert all("quality" not in p for p in payload["participants"])
    assert lied_run.board.entries("points-minted") == []  # nobody is paid for a refused round


def test_the_plain_path_scores_too(members_dir: Path, tmp_path: Path) -> None:
    # Without SecAgg+ (`consortium federate --plain`, members that allow it) the identity holds
    # to float64 rounding.
    board = make_board(tmp_path / "board.db")
    events: list[FederationEvent] = []
    federate(members_dir, model="eta", rounds=1, local_epochs=1, epsilon=8.0, out=tmp_path,
             state_dir=tmp_path / "state", secure=False, on_event=events.append,
             recorder=board.recorder())  # fmt: skip
    (report,) = [e.report for e in events if e.stage == "round" and e.report is not None]
    assert report.status == "ok"
    assert report.scoring == "ok"
    assert set(report.quality) == set(CARRIERS)
    assert board.entries("points-minted")


def test_a_member_refuses_to_send_its_update_unmasked_unless_it_allows_it(
    members_dir: Path, tmp_path: Path
) -> None:
    run_config = run_config_of("eta", tmp_path) | {"secure": False}
    nodes = nodes_of(members_dir, "eta", tmp_path)  # no allow-plain-updates: production nodes
    grid = LocalGrid(client_app, nodes=nodes, run_config=run_config, record=True)
    events: list[FederationEvent] = []
    serve(make_server_app(on_event=events.append), grid, run_config=run_config)
    (report,) = [e.report for e in events if e.stage == "round" and e.report is not None]
    assert report.status == "failed"
    assert any("plain-refused" in f for f in report.failures), report.failures
    for member in CARRIERS:  # nobody's update reached the coordinator
        assert LAST_UPDATE_KEY not in grid.context_of(member).state.array_records


def test_the_boards_rule_change_takes_effect_at_the_next_round(
    members_dir: Path, tmp_path: Path
) -> None:
    # Prepare: the board starts on `examples`; after round 1 it switches to leave-one-out (as an
    # executed contribution-rule proposal does, through change_policy).
    board = make_board(tmp_path / "board.db")
    with board.factory.begin() as s:
        change_policy(s, changes={"contribution_rule": "examples"}, signer=board.coordinator)
    events: list[FederationEvent] = []

    def on_event(event: FederationEvent) -> None:
        events.append(event)
        if event.stage == "round" and event.server_round == 1:
            with board.factory.begin() as s:
                change_policy(s, changes={"contribution_rule": "leave-one-out"},
                              signer=board.coordinator)  # fmt: skip

    # Execute
    federate(members_dir, model="eta", rounds=2, local_epochs=1, epsilon=8.0, out=tmp_path,
             state_dir=tmp_path / "state", on_event=on_event,
             recorder=board.recorder())  # fmt: skip
    # Assert: round 1 unscored and paid by examples, round 2 scored and paid by quality
    first, second = [e.report for e in events if e.stage == "round" and e.report is not None]
    assert first.scoring is None
    assert second.scoring == "ok"
    rules = [(r["round"], r["contribution_rule"]) for r in board.entries("round-completed")]
    assert rules == [(1, "examples"), (2, "leave-one-out")]
    minted = board.entries("points-minted")
    round1 = {m["account"]: m["amount"] for m in minted if m["refs"]["round"] == 1}
    with board.factory.begin() as s:
        policy = current_policy(s)
    rate, cap = policy.points_per_example, policy.contribution_cap_per_round
    assert round1 == {f"member:{m}": min(n * rate, cap) for m, n in first.examples.items() if n}
