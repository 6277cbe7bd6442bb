"""A small running consortium for the projection and dashboard tests, built with the real stores.

:func:`build_models` (once per test session) generates the synthetic consortium, trains a pooled
ETA model on every carrier's legs (the kit's own ``fit_eta``; no DP, to stay fast), scores it
on each carrier's own test rows (``evaluate_eta``), and saves it where a federation writes its
model (``<root>/federation/eta/model``) with a card in the ServerApp's shape and the lane catalog
(the sum of every carrier's :func:`lane_sums`, what the secure sum produces). A stock-risk model
(untrained network, real scaling statistics) is saved beside it so warehouse queries are offered.

:func:`build_world` fills a fresh database: the coordinator (key file with a passphrase), four
members, the board's timings, two federated rounds recorded by the federation's own
:class:`~consortium.contributions.recording.LedgerRecorder` (which mints the contribution points)
plus a failed stock round, a treasurer and a cargo owner with bought points, a fees proposal with
two votes, a canceled feature request, one paid lane query, and two signed tree heads.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sqlalchemy.orm import Session, sessionmaker

from consortium.contributions.recording import LedgerRecorder
from consortium.data import load_table
from consortium.data.targets import time_split
from consortium.db import create_schema, make_engine, make_session_factory
from consortium.evaluation import evaluate_eta
from consortium.forecasts import store as _forecast_tables  # noqa: F401  (tables)
from consortium.forecasts.catalog import LaneCatalog, lane_sums
from consortium.forecasts.messages import new_query, sign_query
from consortium.forecasts.pooled import model_version
from consortium.forecasts.service import PaidAnswer, QueryService, answer_query
from consortium.governance import models as _governance_tables  # noqa: F401  (tables)
from consortium.governance.clock import ManualClock
from consortium.governance.rules import ProposalKind, Support
from consortium.governance.store import cancel_proposal, cast_vote, create_proposal
from consortium.identity import details as _details_tables  # noqa: F401  (tables)
from consortium.identity.keys import generate_key_file
from consortium.identity.registry import bootstrap_coordinator, register_key
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.ledger.store import publish_checkpoint
from consortium.membership import admit_member
from consortium.models.encoding import ScalingStats
from consortium.models.eta import EtaSpec, fit_eta
from consortium.models.stock import StockModel, StockSpec, build_stock_network, stock_numeric
from consortium.models.store import save_model
from consortium.models.training import TrainConfig
from consortium.points import models as _points_tables  # noqa: F401  (tables)
from consortium.points.rules import cargo_account
from consortium.points.store import deposit
from consortium.policy import store as _policy_tables  # noqa: F401  (tables)
from consortium.policy.store import change_policy
from consortium.rounds import RoundReport
from consortium.synth import generate_consortium
from tests.postgres import PostgresServer

MEMBERS = {
    "meridian": "meridian-line",
    "rhine": "rhine-road",
    "silk": "silk-corridor-rail",
    "aurora": "aurora-air",
}
"""Ledger member id -> synthetic carrier (ledger ids are snake-case-safe round payload keys)."""

LANE = ("ITMIL", "FRPAR", "road")
"""A lane with more legs in the pool than the minimum group size the world sets."""

MIN_GROUP_SIZE = 5
PASSPHRASE = "correct horse battery"
CARGO_DEPOSIT = 100
TIMINGS = {
    "voting_delay_s": 0,
    "voting_period_s": 7 * 86_400,
    "quorum_bps": 4000,
    "timelock_s": 600,
    "late_quorum_extension_s": 300,
    "vote_power_cap_bps": 5000,
    "min_group_size": MIN_GROUP_SIZE,
}
FEES = {"lane_query_points": 12, "warehouse_query_points": 30}


@dataclass(frozen=True)
class Models:
    """The models folder the dashboard is pointed at, and what is in it."""

    root: Path
    eta_dir: Path
    stock_dir: Path
    synth_dir: Path
    reports: tuple[RoundReport, ...]


@dataclass(frozen=True)
class World:
    """A filled coordinator database and the keys that acted on it."""

    url: str
    factory: sessionmaker[Session]
    coordinator: Signer
    coordinator_key: Path
    cargo: Signer
    cargo_key: Path
    members: dict[str, Signer]
    models: Models
    proposal_id: str
    canceled_id: str
    paid: PaidAnswer


def _legs(synth: Path) -> dict[str, pd.DataFrame]:
    return {
        member: load_table(
            synth / "members" / carrier / "legs.csv", contract="legs", purpose="eta-training"
        ).frame
        for member, carrier in MEMBERS.items()
    }


def _member_metrics(model: object, legs: dict[str, pd.DataFrame]) -> dict[str, dict[str, float]]:
    metrics = {}
    for member, frame in legs.items():
        test = time_split(frame, time_column="scheduled_departure").test
        row = evaluate_eta({"global": model}, test, tolerance_minutes=15).loc["global"]  # type: ignore[dict-item]
        metrics[member] = {k: float(v) for k, v in row.items() if k != "n"} | {
            "test_rows": float(len(test))
        }
    return metrics


def _reports(legs: dict[str, pd.DataFrame], final_version: str) -> tuple[RoundReport, ...]:
    rows = {m: len(f) for m, f in legs.items()}
    first = RoundReport(
        model="eta", server_round=1, status="ok", members_total=4, members_aggregated=4,
        examples=rows, epsilon_spent={m: 1.0 + 0.25 * i for i, m in enumerate(rows)},
        model_version=hashlib.sha256(b"eta round 1 weights").hexdigest(),
    )  # fmt: skip
    second = RoundReport(
        model="eta", server_round=2, status="degraded", members_total=4, members_aggregated=3,
        examples={m: n for m, n in rows.items() if m != "aurora"},
        # a member that sits out still reports its (unchanged) ε
        epsilon_spent={m: (2.0 if m != "aurora" else 1.0) + 0.25 * i for i, m in enumerate(rows)},
        sat_out=("aurora",), model_version=final_version,
    )  # fmt: skip
    return first, second


def build_models(root: Path) -> Models:
    """Generate the consortium and save the pooled models under ``root`` (a few seconds)."""
    torch.manual_seed(0)
    synth = generate_consortium(root / "consortium", seed=7, scale=0.02).out_dir
    legs = _legs(synth)
    pooled = pd.concat(list(legs.values()), ignore_index=True)
    split = time_split(pooled, time_column="scheduled_departure")
    model, _ = fit_eta(
        split.train, valid=split.valid, spec=EtaSpec(), device=torch.device("cpu"),
        config=TrainConfig(epochs=2, batch_size=128, learning_rate=5e-3),
    )  # fmt: skip
    eta_dir = root / "federation" / "eta" / "model"
    metrics = _member_metrics(model, legs)
    save_model(model, eta_dir, card={})
    reports = _reports(legs, model_version(eta_dir))
    card = {
        "kind": "eta", "name": "federated-dp-eta", "created_at": datetime.now(UTC).isoformat(),
        "model_version": reports[-1].model_version,
        "federation": {"members": 4, "rounds": 2, "local_epochs": 1,
                       "secure_aggregation": "SecAgg+ (Flower)",
                       "round_reports": [asdict(r) for r in reports]},
        "privacy": {"epsilon_spent": {m: e for r in reports for m, e in r.epsilon_spent.items()}},
        "metrics_per_member": metrics,
        "metrics_pooled": {"mae": float(np.mean([m["mae"] for m in metrics.values()]))},
    }  # fmt: skip
    save_model(model, eta_dir, card=card)
    LaneCatalog(np.sum([lane_sums(frame) for frame in legs.values()], axis=0)).save(eta_dir)
    stock = load_table(
        synth / "members" / "duisburg-dc" / "stock.csv", contract="stock", purpose="stock-training"
    ).frame
    stock_model = StockModel(
        spec=StockSpec(), stats=ScalingStats.from_columns(stock_numeric(stock)),
        network=build_stock_network(StockSpec()),
    )  # fmt: skip
    stock_dir = root / "federation" / "stock" / "model"
    save_model(stock_model, stock_dir, card={
        "kind": "stock", "name": "federated-dp-stock", "created_at": "2026-01-01T00:00:00+00:00",
        "federation": {"members": 3, "rounds": 1, "round_reports": []},
    })  # fmt: skip
    return Models(root, eta_dir, stock_dir, synth, reports)


def lane_query(owner: Signer, *, now: datetime, max_price_points: int = 50) -> dict[str, object]:
    """A lane query on :data:`LANE` for departures in the week after ``now``."""
    origin, destination, mode = LANE
    return new_query(
        kind="lane",
        params={
            "origin": origin, "destination": destination, "mode": mode,
            "departure_from": now.replace(microsecond=0).isoformat(),
            "departure_to": (now.replace(microsecond=0) + timedelta(days=7)).isoformat(),
        },
        issuer=owner, max_price_points=max_price_points, now=now,
    )  # fmt: skip


def build_world(url: str, models: Models, keys: Path) -> World:
    """Fill the empty database at ``url`` (see the module docstring)."""
    engine = make_engine(url)
    create_schema(engine)
    factory = make_session_factory(engine)
    coordinator_key = keys / "coordinator.key"
    coordinator = generate_key_file(coordinator_key, passphrase=PASSPHRASE.encode())
    cargo_key = keys / "cargo-owner.key"
    cargo = generate_key_file(cargo_key, passphrase=PASSPHRASE.encode())
    members = {name: Signer.generate() for name in MEMBERS}
    treasurer = Signer.generate()
    with factory.begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        for name, key in members.items():
            admit_member(s, member=name, public_key=key.public_key, signer=coordinator)
        change_policy(s, changes=TIMINGS, signer=coordinator)
        register_key(s, public_key=treasurer.public_key, role=Role.TREASURER, signer=coordinator)
        register_key(s, public_key=cargo.public_key, role=Role.CARGO_OWNER, signer=coordinator)
    recorder = LedgerRecorder(factory, coordinator)
    for report in models.reports:
        recorder.record_round(report)
    recorder.record_round(
        RoundReport(model="stock", server_round=1, status="failed", members_total=3,
                    members_aggregated=1, code="too-few-members")
    )  # fmt: skip
    with factory.begin() as s:
        deposit(s, account=cargo_account(cargo.key_id), amount=CARGO_DEPOSIT,
                external_ref="INV-2026-0001", signer=treasurer)  # fmt: skip
        publish_checkpoint(s, signer=coordinator)
    # Every entry so far precedes the proposals' vote start, so their snapshot holds the points.
    t0 = datetime.now(UTC) + timedelta(milliseconds=5)
    clock = ManualClock(t0)  # the coordinator's clock, injected into the store API
    with factory.begin() as s:
        proposal = create_proposal(
            s, kind=ProposalKind.FEES, params=FEES, title="Raise the lane fee",
            signer=members["meridian"], clock=clock,
        )  # fmt: skip
        clock.advance(0.001)
        cast_vote(s, proposal_id=proposal.proposal_id, support=Support.FOR,
                  signer=members["rhine"], clock=clock)  # fmt: skip
        clock.advance(0.001)
        cast_vote(s, proposal_id=proposal.proposal_id, support=Support.AGAINST,
                  signer=members["meridian"], clock=clock)  # fmt: skip
        clock.advance(0.001)
        withdrawn = create_proposal(
            s, kind=ProposalKind.FEATURE_REQUEST,
            params={"area": "queries", "details": "Lane queries by week of the year"},
            title="Weekly lane queries", signer=members["silk"], clock=clock,
        )  # fmt: skip
        cancel_proposal(s, proposal_id=withdrawn.proposal_id, signer=members["silk"],
                        clock=clock)  # fmt: skip
    now = datetime.now(UTC)
    query = lane_query(cargo, now=now)
    with factory.begin() as s:
        paid = answer_query(
            s, query=query, signature=sign_query(query, signer=cargo),
            service=QueryService(coordinator=coordinator, eta_model_dir=models.eta_dir), now=now,
        )  # fmt: skip
        publish_checkpoint(s, signer=coordinator)
    return World(
        url, factory, coordinator, coordinator_key, cargo, cargo_key, members, models,
        proposal.proposal_id, withdrawn.proposal_id, paid,
    )  # fmt: skip


_shared: list[Models] = []


def shared_models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    """Build the models once per test session (both test folders use the same ones)."""
    if not _shared:
        _shared.append(build_models(tmp_path_factory.mktemp("models")))
    return _shared[0]


def world_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database for ``request.param`` (``sqlite`` or ``postgresql``)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'coordinator.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database("world")
