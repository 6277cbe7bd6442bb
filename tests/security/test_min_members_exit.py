"""Issue 14, item 13: a member may leave below the minimum; the federation then refuses to train.

The board cannot veto a member's exit (its right to leave and to be forgotten), so two of four
carriers leaving takes the consortium below its minimum of three active members, and that is
allowed. What protects the members that stay is the secure sum: with two members left, the
honest coordinator refuses to start (``too-few-members`` at round 0, the secure sum of
statistics) before any member trains, so no "sum" of two members' data (one of which the other
could subtract) is ever formed, and nothing is minted.
"""

from __future__ import annotations

import os

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from consortium.contributions.recording import LedgerRecorder  # noqa: E402
from consortium.db import create_schema, make_engine, make_session_factory  # noqa: E402
from consortium.errors import RoundFailed  # noqa: E402
from consortium.federation.client_app import app as client_app  # noqa: E402
from consortium.federation.local_grid import LocalGrid, serve  # noqa: E402
from consortium.federation.server_app import make_server_app  # noqa: E402
from consortium.identity.registry import bootstrap_coordinator  # noqa: E402
from consortium.ledger.kinds import EntryKind  # noqa: E402
from consortium.ledger.signing import Signer  # noqa: E402
from consortium.ledger.store import load_entries  # noqa: E402
from consortium.membership.store import (  # noqa: E402
    active_members,
    admit_member,
    remove_member,
    request_exit,
)
from consortium.policy.store import current_policy  # noqa: E402
from consortium.synth import generate_consortium  # noqa: E402
from tests.federation.test_federated_training import CARRIERS, nodes_of  # noqa: E402

pytestmark = pytest.mark.slow

LEAVING = ("aurora-air", "silk-corridor-rail")


def test_members_may_leave_below_the_minimum_and_the_federation_then_refuses(
    tmp_path: Path,
) -> None:
    # Prepare: four carriers admitted; two ask to leave and the coordinator carries it out.
    generate_consortium(tmp_path / "consortium", seed=7, scale=0.05)
    members_dir = tmp_path / "consortium" / "members"
    engine = make_engine(f"sqlite:///{tmp_path / 'board.db'}")
    create_schema(engine)
    factory = make_session_factory(engine)
    coordinator, keys = Signer.generate(), {m: Signer.generate() for m in CARRIERS}
    with factory.begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        for member, key in keys.items():
            admit_member(s, member=member, public_key=key.public_key, signer=coordinator)
    # Execute (1): the exits are a member's right: not held back by the minimum.
    with factory.begin() as s:
        for member in LEAVING:
            request_exit(s, member=member, signer=keys[member])
            remove_member(s, member=member, signer=coordinator)
        active = sorted(m.member for m in active_members(s))
        minimum = current_policy(s).min_members
    # Execute (2): the remaining members' nodes are served a federation.
    nodes = {m: c for m, c in nodes_of(members_dir, "eta", tmp_path).items() if m in active}
    run_config = {"model": "eta", "rounds": 1, "local-epochs": 1, "out-dir": str(tmp_path)}
    grid = LocalGrid(client_app, nodes=nodes, run_config=run_config, record=True)  # type: ignore[arg-type]
    # Assert: two active members, below the minimum of three ...
    assert len(active) == 2 < minimum == 3
    # ... and the federation refuses to start (round 0, the secure sum of statistics): no
    # round is recorded as completed and nothing is minted.
    with pytest.raises(RoundFailed) as refused:
        serve(make_server_app(recorder=LedgerRecorder(factory, coordinator)), grid,
              run_config=run_config)  # fmt: skip
    assert refused.value.code == "too-few-members"
    assert "minimum is 3" in str(refused.value)
    with factory.begin() as s:
        kinds = [e.kind for e in load_entries(s)]
    assert EntryKind.ROUND_COMPLETED not in kinds
    assert EntryKind.POINTS_MINTED not in kinds
