"""Ledger benchmarks: append throughput, full verification, proof size and time.

Run: ``.venv/bin/python -m benchmarks.bench_ledger [--sizes 100000 1000000] [--appends 2000]``

What is measured:

* append throughput through :func:`consortium.ledger.store.append_entry` (payload policy, seq
  reservation, Ed25519 signing, INSERT), one transaction per entry and 1000 per transaction,
  on a SQLite file and on a local PostgreSQL (a throw-away cluster, fsync off);
* full verification with :func:`consortium.ledger.verify.verify_log` of N entries held in
  memory (sequence, key replay, every Ed25519 signature, every leaf hash, tree, two signed heads),
  with 1 and 2 worker processes. The N signed entries are built in bulk in memory (the one-off
  signing cost is reported separately), not appended through the database;
* reading + verifying an export file of N entries (``ledger verify --export`` path);
* inclusion and consistency proof size and time at N.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consortium.db import create_schema, make_engine, make_session_factory
from consortium.identity.registry import bootstrap_coordinator, register_key
from consortium.ledger.checkpoint import Checkpoint
from consortium.ledger.entry import Entry, sign_entry
from consortium.ledger.export import read_export, write_export
from consortium.ledger.keyring import Role, registration_payload
from consortium.ledger.kinds import EntryKind
from consortium.ledger.merkle import MerkleTree
from consortium.ledger.proof import verify_consistency, verify_inclusion
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry
from consortium.ledger.verify import verify_log

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _raw(signer: Signer) -> bytes:
    return signer.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _sign_range(args: tuple[bytes, bytes, int, int]) -> list[Entry]:
    coord_raw, member_raw, start, stop = args
    coord = Signer(Ed25519PrivateKey.from_private_bytes(coord_raw))
    member = Signer(Ed25519PrivateKey.from_private_bytes(member_raw))
    out = []
    for seq in range(start, stop):
        signer = coord if seq % 10 == 0 else member
        payload = {"round": seq // 1000, "rows": seq % 977, "model_hash": f"{seq:064x}"}
        moment = T0 + timedelta(milliseconds=seq)
        out.append(sign_entry(seq=seq, moment=moment, kind="contribution-claimed",
                              payload=payload, signer=signer))  # fmt: skip
    return out


def build_log(n: int, workers: int) -> tuple[list[Entry], Signer]:
    """N signed entries: entry 0 registers the coordinator, entry 1 the member."""
    coord, member = Signer.generate(), Signer.generate()
    head = [
        sign_entry(seq=0, moment=T0, kind=EntryKind.KEY_REGISTERED, signer=coord,
                   payload=registration_payload(public_key=coord.public_key,
                                                role=Role.COORDINATOR)),
        sign_entry(seq=1, moment=T0, kind=EntryKind.KEY_REGISTERED, signer=coord,
                   payload=registration_payload(public_key=member.public_key, role=Role.MEMBER)),
    ]  # fmt: skip
    step = 50_000
    jobs = [(_raw(coord), _raw(member), s, min(s + step, n)) for s in range(2, n, step)]
    entries = list(head)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for chunk in pool.map(_sign_range, jobs):
            entries.extend(chunk)
    return entries, coord


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def bench_appends(url: str, label: str, n: int) -> list[str]:
    engine = make_engine(url)
    create_schema(engine)
    factory = make_session_factory(engine)
    coord = Signer.generate()
    with factory.begin() as s:
        bootstrap_coordinator(s, coordinator=coord)
        register_key(s, public_key=Signer.generate().public_key, role=Role.MEMBER, signer=coord)

    def one_per_tx() -> None:
        for i in range(n):
            with factory.begin() as s:
                append_entry(s, kind="round-closed", payload={"round": i}, signer=coord)

    def batched() -> None:
        for start in range(0, n, 1000):
            with factory.begin() as s:
                for i in range(start, min(start + 1000, n)):
                    append_entry(s, kind="round-closed", payload={"round": i}, signer=coord)

    t1, _ = timed(one_per_tx)
    t2, _ = timed(batched)
    engine.dispose()
    return [
        f"| append, 1 entry/transaction | {label} | {n} | {t1:.2f} s | {n / t1:,.0f}/s |",
        f"| append, 1000 entries/transaction | {label} | {n} | {t2:.2f} s | {n / t2:,.0f}/s |",
    ]


def bench_size(n: int, workers: int, tmp: Path) -> list[str]:
    rows = []
    t, (entries, coord) = timed(lambda: build_log(n, workers))  # type: ignore[misc]
    rows.append(
        f"| build + sign {n:,} entries in memory ({workers} procs, one-off) | {t:.1f} s | |"
    )
    tree = MerkleTree(e.leaf_hash() for e in entries[: n // 2])
    heads = [Checkpoint.sign(size=tree.size, root=tree.root(), moment=T0, signer=coord)]
    tree.extend(e.leaf_hash() for e in entries[n // 2 :])
    heads.append(Checkpoint.sign(size=tree.size, root=tree.root(), moment=T0, signer=coord))
    for w in (1, 2):
        t, report = timed(lambda w=w: verify_log(entries, heads=heads, workers=w))  # type: ignore[misc]
        assert report.size == n  # type: ignore[attr-defined]
        rows.append(
            f"| verify_log {n:,} entries in memory, {w} process(es) | {t:.1f} s | {n / t:,.0f}/s |"
        )
    path = tmp / f"ledger-{n}.jsonl"
    write_export(path, entries=entries, keys={}, heads=heads)
    size_mb = path.stat().st_size / 1e6
    t, data = timed(lambda: read_export(path))
    t2, _ = timed(lambda: verify_log(data.entries, heads=data.heads, workers=2))  # type: ignore[attr-defined]
    rows.append(
        f"| read export ({size_mb:,.0f} MB) + verify, 2 processes | {t:.1f} s + {t2:.1f} s | |"
    )
    t, tree = timed(lambda: MerkleTree(e.leaf_hash() for e in entries))
    rows.append(f"| build tree from entries (hash all leaves) | {t:.1f} s | |")
    reps = 1000
    index = n // 3
    t, proof = timed(lambda: [tree.inclusion_proof((index + i) % n) for i in range(reps)][-1])  # type: ignore[attr-defined]
    rows.append(
        f"| inclusion proof at size {n:,}: {len(proof)} hashes = {32 * len(proof)} B "  # type: ignore[arg-type]
        f"| {t / reps * 1e6:.0f} µs to make | |"
    )
    leaf, root = tree.leaf((index + reps - 1) % n), tree.root()  # type: ignore[attr-defined]
    t, _ = timed(
        lambda: [
            verify_inclusion(
                index=(index + reps - 1) % n, size=n, leaf_hash=leaf, proof=proof, root=root
            )
            for _ in range(reps)
        ]
    )  # type: ignore[arg-type]
    rows.append(f"| inclusion proof verify | {t / reps * 1e6:.0f} µs | |")
    old = n // 2 + n // 7 + 1
    t, cproof = timed(lambda: [tree.consistency_proof(old) for _ in range(reps)][-1])  # type: ignore[attr-defined]
    rows.append(
        f"| consistency proof {old:,} -> {n:,}: {len(cproof)} hashes = {32 * len(cproof)} B "  # type: ignore[arg-type]
        f"| {t / reps * 1e6:.0f} µs to make | |"
    )
    old_root = tree.root(old)  # type: ignore[attr-defined]
    t, _ = timed(
        lambda: [
            verify_consistency(
                old_size=old, new_size=n, proof=cproof, old_root=old_root, new_root=root
            )
            for _ in range(reps)
        ]
    )  # type: ignore[arg-type]
    rows.append(f"| consistency proof verify | {t / reps * 1e6:.0f} µs | |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--pg-url", default=None, help="PostgreSQL URL (default: start a throw-away one)"
    )
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    out = [
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    ]
    with tempfile.TemporaryDirectory() as tmp:
        out += [
            "",
            "| measurement | backend | entries | time | throughput |",
            "|---|---|---|---|---|",
        ]
        out += bench_appends(f"sqlite:///{tmp}/bench.db", "SQLite file (WAL)", args.appends)
        if not args.skip_pg:
            pg_url, server = args.pg_url, None
            if pg_url is None:
                from tests.postgres import start_server

                server = start_server()
                pg_url = server.create_database("bench")
            try:
                out += bench_appends(pg_url, "PostgreSQL 15 (local)", args.appends)
            finally:
                if server is not None:
                    server.stop()
        for n in args.sizes:
            out += ["", f"N = {n:,}", "", "| measurement | time | rate |", "|---|---|---|"]
            out += bench_size(n, args.workers, Path(tmp))
            print("\n".join(out), flush=True)  # noqa: T201 - benchmark output
            out = []
    print("\n".join(out))  # noqa: T201


if __name__ == "__main__":
    main()
