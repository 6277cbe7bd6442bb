"""Points benchmarks: settle throughput (one and many threads), vote snapshot, exact split.

Run: ``.venv/bin/python -m benchmarks.bench_points [--settles 500] [--history 20000]``

What is measured:

* :func:`consortium.points.store.settle` (role check, ledger entry, conditional UPDATE per
  account in sorted order, journal lines, all in a SAVEPOINT), one transaction per payment,
  one payer and 11 parts (10 contributors + treasury), from 1 thread and from 8 threads, on a
  SQLite file and on a local PostgreSQL (a throw-away cluster, fsync off);
* :func:`consortium.points.store.balances_at` (the governance snapshot, one ``GROUP BY``) over a
  journal of ``--history`` payments (about 13 journal lines each), written 500 per transaction;
* :func:`consortium.points.rules.split_revenue` with 10 and 10,000 contributors (pure Python).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from consortium.db import create_schema, make_engine, make_session_factory
from consortium.identity import details as _details  # noqa: F401  (registers its table)
from consortium.identity.registry import bootstrap_coordinator, register_key
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.ledger.store import ledger_size
from consortium.points.rules import split_revenue
from consortium.points.store import balances_at, check_books, deposit, mint_contributions, settle

CONTRIBUTORS = {f"member:m{i:02d}": 100 + 37 * i for i in range(10)}


def _setup(url: str) -> tuple[sessionmaker[Session], Signer, str]:
    engine = make_engine(url)
    create_schema(engine)
    factory = make_session_factory(engine)
    coordinator, treasurer, owner = Signer.generate(), Signer.generate(), Signer.generate()
    with factory.begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        register_key(s, public_key=treasurer.public_key, role=Role.TREASURER, signer=coordinator)
        register_key(s, public_key=owner.public_key, role=Role.CARGO_OWNER, signer=coordinator)
        mint_contributions(
            s, awards=CONTRIBUTORS, refs={"model": "eta", "round": 1}, signer=coordinator
        )
        payer = "cargo:" + owner.key_id
        deposit(s, account=payer, amount=10**11, external_ref="BENCH-1", signer=treasurer)
    return factory, coordinator, payer


def _settle_loop(factory: sessionmaker[Session], coordinator: Signer, payer: str, n: int) -> None:
    parts = split_revenue(25, weights=CONTRIBUTORS, treasury_share_bps=1000)
    for i in range(n):
        with factory.begin() as s:
            settle(s, payer=payer, parts=parts, refs={"query": f"q{i}"}, signer=coordinator)


def bench_settles(url: str, label: str, settles: int, history: int) -> list[str]:
    factory, coordinator, payer = _setup(url)
    rows = []
    start = time.perf_counter()
    _settle_loop(factory, coordinator, payer, settles)
    took = time.perf_counter() - start
    rows.append(
        f"| settle, 1 thread | {label} | {settles} | {took:.2f} s | {settles / took:,.0f}/s |"
    )
    threads_n = 8
    per = settles // threads_n
    threads = [
        threading.Thread(target=_settle_loop, args=(factory, coordinator, payer, per))
        for _ in range(threads_n)
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - start
    done = per * threads_n
    rows.append(f"| settle, 8 threads | {label} | {done} | {took:.2f} s | {done / took:,.0f}/s |")
    parts = split_revenue(25, weights=CONTRIBUTORS, treasury_share_bps=1000)
    for chunk in range(0, history, 500):
        with factory.begin() as s:
            for i in range(chunk, min(chunk + 500, history)):
                settle(s, payer=payer, parts=parts, refs={"query": f"h{i}"}, signer=coordinator)
    with factory.begin() as s:
        size = ledger_size(s)
        start = time.perf_counter()
        snapshot = balances_at(s, seq=size)
        took = time.perf_counter() - start
        check_books(s)
    rows.append(
        f"| balances_at over {size:,} entries | {label} | {len(snapshot)} accounts | "
        f"{took * 1000:.1f} ms | |"
    )
    return rows


def bench_split() -> list[str]:
    rows = []
    for n in (10, 10_000):
        weights = {f"member:m{i:05d}": 1 + (i * 7919) % 5000 for i in range(n)}
        reps = max(1, 20_000 // n)
        start = time.perf_counter()
        for _ in range(reps):
            split_revenue(10**6, weights=weights, treasury_share_bps=1000)
        took = (time.perf_counter() - start) / reps
        rows.append(f"| split_revenue, {n:,} contributors | pure | 1 | {took * 1000:.2f} ms | |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settles", type=int, default=400)
    parser.add_argument("--history", type=int, default=2000)
    parser.add_argument("--pg-url", default=None, help="PostgreSQL URL (default: a throw-away one)")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    out = [
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "",
        "| measurement | backend | n | time | throughput |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        out += bench_settles(f"sqlite:///{tmp}/bench.db", "SQLite file (WAL)", args.settles,
                             args.history)  # fmt: skip
    if not args.skip_pg:
        pg_url, server = args.pg_url, None
        if pg_url is None:
            from tests.postgres import start_server

            server = start_server()
            pg_url = server.create_database("bench")
        try:
            out += bench_settles(pg_url, "PostgreSQL (local)", args.settles, args.history)
        finally:
            if server is not None:
                server.stop()
    out += bench_split()
    print("\n".join(out))  # noqa: T201 - benchmark output


if __name__ == "__main__":
    main()
