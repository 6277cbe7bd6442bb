"""Issue 14, item 15: a paid query's fee goes to the contributors of the run that answered.

Rounds and mints are keyed by federation run, so two federations of the same model can share
one database. The split's contributor lookup was keyed by model and round only: a query
answered by run 2's model (its round 1) paid run 1's contributors too, because their round 1
mints matched. The split now takes the run from the round index, records it in the
``query-answered`` entry (``model_run``), and the ledger-only recomputation uses it as well.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from consortium.db import create_schema, make_engine, make_session_factory
from consortium.forecasts import store as _forecast_tables  # noqa: F401  (tables)
from consortium.forecasts.lane import LaneAnswer
from consortium.forecasts.messages import new_query, sign_query
from consortium.forecasts.service import QueryService, quote_query, settle_answer
from consortium.forecasts.splits import recompute_split
from consortium.identity.registry import bootstrap_coordinator, register_key
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.points.rounds import append_round_completed
from consortium.points.store import deposit, mint
from consortium.policy import store as _policy_tables  # noqa: F401  (tables)

RUNS = {  # run id -> (model version its round 1 produced, contributors and their points)
    "run-1": ("v1" * 32, {"member:alpha-line": 400, "member:beta-road": 300}),
    "run-2": ("v2" * 32, {"member:gamma-rail": 300, "member:delta-air": 100}),
}
LANE = {
    "origin": "ITMIL", "destination": "FRPAR", "mode": "road",
    "departure_from": "2026-03-02T00:00:00+01:00", "departure_to": "2026-03-09T00:00:00+01:00",
}  # fmt: skip


def _answer(version: str) -> LaneAnswer:
    return LaneAnswer(
        origin="ITMIL", destination="FRPAR", mode="road",
        departure_from=LANE["departure_from"], departure_to=LANE["departure_to"],
        departures=7, on_time_rate=0.9, tolerance_minutes=30, interval_level=0.8,
        delay_minutes_lower=-5.0, delay_minutes_median=10.0, delay_minutes_upper=40.0,
        transit_hours_lower=11.0, transit_hours_median=12.0, transit_hours_upper=13.0,
        legs_in_pool=120, model_version=version,
    )  # fmt: skip


@pytest.fixture
def market(tmp_path: Path) -> tuple[sessionmaker[Session], Signer, Signer]:
    """Two federation runs of the ETA model on one SQLite database, and a funded cargo owner."""
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}")
    create_schema(engine)
    factory = make_session_factory(engine)
    coordinator, treasurer, owner = Signer.generate(), Signer.generate(), Signer.generate()
    with factory.begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        register_key(s, public_key=treasurer.public_key, role=Role.TREASURER, signer=coordinator)
        register_key(s, public_key=owner.public_key, role=Role.CARGO_OWNER, signer=coordinator)
        for run, (version, minted) in RUNS.items():
            for account, amount in minted.items():
                mint(s, account=account, amount=amount, reason="contribution",
                     refs={"model": "eta", "round": 1, "run": run}, signer=coordinator)  # fmt: skip
            append_round_completed(s, signer=coordinator, payload={
                "model": "eta", "round": 1, "run": run, "model_version": version})  # fmt: skip
        deposit(s, account="cargo:" + owner.key_id, amount=100, external_ref="INV-1",
                signer=treasurer)  # fmt: skip
    return factory, coordinator, owner


@pytest.mark.parametrize("run", sorted(RUNS))
def test_a_query_answered_by_one_run_pays_only_that_runs_contributors(
    market: tuple[sessionmaker[Session], Signer, Signer], run: str
) -> None:
    # Prepare
    factory, coordinator, owner = market
    version, contributors = RUNS[run]
    service = QueryService(coordinator=coordinator)
    now = datetime.now(UTC)
    query = new_query(kind="lane", params=LANE, issuer=owner, max_price_points=50, now=now)
    # Execute: the answer comes from this run's model version.
    with factory.begin() as s:
        quote = quote_query(s, query=query, signature=sign_query(query, signer=owner),
                            service=service, now=now)  # fmt: skip
        paid = settle_answer(s, quote=quote, answer=_answer(version), service=service)
        check = recompute_split(s, str(query["query_id"]))
    # Assert: the fee (10, treasury 1) goes to this run's contributors only, and anyone
    # recomputing the split from the ledger gets the same parts.
    members = {account for account in paid.parts if account != "treasury"}
    assert members == set(contributors)
    assert sum(paid.parts.values()) == paid.fee
    assert check.matches, (check.recomputed, check.paid)
