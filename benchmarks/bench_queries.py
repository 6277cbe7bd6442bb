"""Paid-query benchmark: end-to-end latency (p50/p99) and queries per second of lane queries.

Run: ``.venv/bin/python -m benchmarks.bench_queries [--queries 500] [--scale 0.2] [--skip-pg]``

What is measured, on a SQLite file (WAL) and on a local PostgreSQL (a throw-away cluster,
fsync off, started like the tests do; skipped with the reason printed when it cannot start):

* one lane query end to end through :func:`consortium.forecasts.service.answer_query`, timed
  from opening the transaction to its commit: check the signed message (schema, issuer key,
  Ed25519 signature, replay), price it from the policy, check the balance, answer it from the
  pooled ETA model (lane catalog lookup, representative departures every 6 h over a 7-day
  window, model scoring, aggregation), split the fee among the contributors of the answering
  model version, settle (``query-settled``: debit, credits, journal), record
  (``query-answered``) and commit. The cargo owner's signing is done beforehand (client side);
* the same with 4 cargo owners querying concurrently from 4 threads (queries per second), once
  with each query in one transaction (:func:`answer_query`) and once in three steps (quote in a
  short transaction, answer outside any transaction, settle in a second one), which keeps the
  model work out of SQLite's single-writer lock;
* for reference, the answer alone (model scoring and aggregation, no database).

The setup is real: a synthetic consortium, a pooled ETA model trained privately (ε = 8) on
every carrier's legs, the lane catalog summed from every carrier's lane totals, contribution
points minted for three rounds, a ``round-completed`` entry for the model version, deposits.
Lanes with at least the policy's minimum group size of legs are queried in turn. At the end the
ledger is verified and the points books are checked. Torch runs with one intra-op thread.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from consortium.data import load_table
from consortium.db import create_schema, make_engine, make_session_factory
from consortium.forecasts import store as _forecast_tables  # noqa: F401
from consortium.forecasts.catalog import LaneCatalog, lane_sums
from consortium.forecasts.lane import LaneRequest, answer_lane
from consortium.forecasts.messages import new_query, sign_query
from consortium.forecasts.pooled import lane_catalog, model_version, pooled_eta_model
from consortium.forecasts.service import (
    QueryService,
    answer_query,
    compute_answer,
    quote_query,
    settle_answer,
)
from consortium.identity.registry import bootstrap_coordinator, register_key
from consortium.ledger.audit import verify_database
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry
from consortium.models.store import save_model
from consortium.points.store import check_books, deposit, mint
from consortium.policy.store import current_policy
from consortium.privacy.training import train_local
from consortium.synth import generate_consortium

START = datetime(2026, 3, 2, tzinfo=UTC)


@dataclass(frozen=True)
class Pooled:
    eta_dir: Path
    lanes: list[tuple[str, str, str]]
    contributors: dict[str, int]


def build_pool(tmp: Path, *, scale: float) -> Pooled:
    synth = tmp / "synth"
    summary = generate_consortium(synth, seed=7, scale=scale)
    legs = {
        m.member_id: load_table(synth / m.file, contract="legs", purpose="eta-training").frame
        for m in summary.members
        if m.contract == "legs"
    }
    pooled = pd.concat(list(legs.values()), ignore_index=True)
    trained = train_local(pooled, kind="eta", epsilon=8.0, home=tmp / "home", epochs=3, seed=1)
    save_model(trained.model, tmp / "eta", card=trained.card)
    sums = sum((lane_sums(frame) for frame in legs.values()), np.zeros_like(lane_sums(pooled)))
    LaneCatalog(sums).save(tmp / "eta")
    counts = pooled.groupby(["origin", "destination", "mode"]).size()
    lanes = [lane for lane, n in counts.items() if n >= 20]
    contributors = {f"member:{m}": len(f) for m, f in legs.items()}
    return Pooled(tmp / "eta", lanes, contributors)


@dataclass(frozen=True)
class Market:
    engine: Any
    factory: Any
    service: QueryService
    owners: list[Signer]


def build_market(url: str, pool: Pooled, *, owners: int) -> Market:
    engine = make_engine(url)
    create_schema(engine)
    factory = make_session_factory(engine)
    coordinator, treasurer = Signer.generate(), Signer.generate()
    cargo = [Signer.generate() for _ in range(owners)]
    version = model_version(pool.eta_dir)
    with factory.begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        register_key(s, public_key=treasurer.public_key, role=Role.TREASURER, signer=coordinator)
        for owner in cargo:
            register_key(s, public_key=owner.public_key, role=Role.CARGO_OWNER,
                         signer=coordinator)  # fmt: skip
        for round_ in (1, 2, 3):
            for account, examples in pool.contributors.items():
                mint(s, account=account, amount=min(examples, 5000), reason="contribution",
                     refs={"model": "eta", "round": round_}, signer=coordinator)  # fmt: skip
        append_entry(s, kind="round-completed", signer=coordinator,
                     payload={"model": "eta", "round": 3, "model_version": version,
                              "degraded": False, "failures": 0})  # fmt: skip
        for i, owner in enumerate(cargo):
            deposit(s, account="cargo:" + owner.key_id, amount=10**9, external_ref=f"INV-{i}",
                    signer=treasurer)  # fmt: skip
    service = QueryService(coordinator=coordinator, eta_model_dir=pool.eta_dir)
    return Market(engine, factory, service, cargo)


def lane_messages(pool: Pooled, owner: Signer, n: int, offset: int) -> list[tuple[dict, bytes]]:
    out = []
    for i in range(n):
        origin, destination, mode = pool.lanes[(i + offset) % len(pool.lanes)]
        start = START + timedelta(days=(i + offset) % 60)
        params = {
            "origin": origin, "destination": destination, "mode": mode,
            "departure_from": start.isoformat(),
            "departure_to": (start + timedelta(days=7)).isoformat(),
        }  # fmt: skip
        query = new_query(kind="lane", params=params, issuer=owner, max_price_points=1000,
                          now=datetime.now(UTC))  # fmt: skip
        out.append((query, sign_query(query, signer=owner)))
    return out


def run_one(market: Market, message: tuple[dict, bytes]) -> float:
    query, signature = message
    t = time.perf_counter()
    with market.factory.begin() as s:
        answer_query(s, query=query, signature=signature, service=market.service,
                     now=datetime.now(UTC))  # fmt: skip
    return time.perf_counter() - t


def run_steps(market: Market, message: tuple[dict, bytes]) -> float:
    """Quote in one short transaction, answer outside any, settle in a second one."""
    query, signature = message
    t = time.perf_counter()
    with market.factory.begin() as s:
        quote = quote_query(
            s, query=query, signature=signature, service=market.service, now=datetime.now(UTC)
        )
    answer = compute_answer(quote, service=market.service)
    with market.factory.begin() as s:
        settle_answer(s, quote=quote, answer=answer, service=market.service)
    return time.perf_counter() - t


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return ordered[index]


def row(label: str, clients: int, latencies: list[float], wall: float) -> str:
    ms = [v * 1000 for v in latencies]
    return (
        f"| {label} | {clients} | {len(ms)} | {statistics.median(ms):.1f} | "
        f"{percentile(ms, 99):.1f} | {max(ms):.1f} | {len(ms) / wall:,.0f} |"
    )


def concurrently(
    market: Market,
    run: Callable[[Market, tuple[dict, bytes]], float],
    per_client: list[list[tuple[dict, bytes]]],
) -> tuple[list[float], float]:
    """Run each client's messages in its own thread; return every latency and the wall time."""
    results: list[list[float]] = [[] for _ in per_client]
    barrier = threading.Barrier(len(per_client))

    def client(i: int) -> None:
        barrier.wait()
        results[i] = [run(market, m) for m in per_client[i]]

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(per_client))]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return [v for r in results for v in r], time.perf_counter() - t


def bench_backend(url: str, label: str, pool: Pooled, *, queries: int, clients: int) -> list[str]:
    market = build_market(url, pool, owners=clients)
    warm = lane_messages(pool, market.owners[0], 20, offset=1000)
    for message in warm:
        run_one(market, message)
    messages = lane_messages(pool, market.owners[0], queries, offset=0)
    t = time.perf_counter()
    sequential = [run_one(market, m) for m in messages]
    wall = time.perf_counter() - t
    rows = [row(label, 1, sequential, wall)]

    for run, suffix in ((run_one, ", 1 transaction"), (run_steps, ", 3 steps")):
        per_client = [
            lane_messages(pool, o, queries // clients, offset=i * 7 + len(suffix))
            for i, o in enumerate(market.owners)
        ]
        latencies, wall = concurrently(market, run, per_client)
        rows.append(row(label + suffix, clients, latencies, wall))
    with market.factory.begin() as s:
        report = verify_database(s)
        books = check_books(s)
        policy = current_policy(s)
    rows.append(
        f"|  ({label}: ledger verified, {report.size:,} entries; books balanced, "
        f"{books.circulating:,} points; fee {policy.fees['lane']}) | | | | | | |"
    )
    market.engine.dispose()
    return rows


def bench_answer_only(pool: Pooled, n: int) -> str:
    model, version = pooled_eta_model(pool.eta_dir)
    catalog = lane_catalog(pool.eta_dir)
    latencies = []
    for i in range(n):
        origin, destination, mode = pool.lanes[i % len(pool.lanes)]
        start = START + timedelta(days=i % 60)
        request = LaneRequest(origin, destination, mode, start, start + timedelta(days=7))
        t = time.perf_counter()
        answer_lane(model=model, catalog=catalog, request=request, model_version=version,
                    min_group_size=20)  # fmt: skip
        latencies.append(time.perf_counter() - t)
    return row("answer only (no database)", 1, latencies, sum(latencies))


def timed(label: str, fn: Callable[[], Any]) -> Any:
    t = time.perf_counter()
    value = fn()
    print(f"{label}: {time.perf_counter() - t:.1f} s", flush=True)  # noqa: T201
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--scale", type=float, default=0.2, help="synthetic consortium scale")
    parser.add_argument("--pg-url", default=None, help="PostgreSQL URL (default: start one)")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        pool = timed("setup (synthetic data, private training, lane catalog)",
                     lambda: build_pool(Path(tmp), scale=args.scale))  # fmt: skip
        out = [
            (
                f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
                f"{platform.python_version()}, torch {torch.__version__} (1 intra-op thread); "
                f"{len(pool.lanes)} lanes with >= 20 pooled legs at scale {args.scale}; "
                f"load average at start {os.getloadavg()[0]:.1f}"
            ),
            "",
            "| lane query, end to end | clients | queries | p50 ms | p99 ms | max ms | queries/s |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        out += bench_backend(f"sqlite:///{tmp}/bench.db", "SQLite file (WAL)", pool,
                             queries=args.queries, clients=args.clients)  # fmt: skip
        if args.skip_pg:
            out.append("|  (PostgreSQL skipped: --skip-pg) | | | | | | |")
        else:
            pg_url, server = args.pg_url, None
            try:
                if pg_url is None:
                    from tests.postgres import start_server

                    server = start_server()
                    pg_url = server.create_database("bench")
                out += bench_backend(pg_url, "PostgreSQL (local)", pool,
                                     queries=args.queries, clients=args.clients)  # fmt: skip
            except (RuntimeError, OSError) as exc:
                out.append(f"|  (PostgreSQL skipped: {exc}) | | | | | | |")
            finally:
                if server is not None:
                    server.stop()
        out.append(bench_answer_only(pool, args.queries))
        out.append(f"(load average at end {os.getloadavg()[0]:.1f})")
    print("\n".join(out))  # noqa: T201


if __name__ == "__main__":
    main()
