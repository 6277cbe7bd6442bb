"""What a member's routine witness check costs at 1M ledger entries.

A member that last witnessed the head at ``size - gap`` runs
:func:`consortium.ledger.witness_check.witness_once` against the head at ``size``: one head
signature, one consistency proof (O(log n) hashes), and, for each of its ``own`` entries written
since (countersigned votes it signed on its machine), an inclusion proof, its request signature,
the coordinator's countersignature and its receipt. The ledger is ``size - own`` synthetic leaf
hashes plus the member's ``own`` real entries at random seqs in the gap; the tree is built from
leaf hashes only (what the service keeps), and its build time is reported apart. The head source
is in memory, so the figure is the member's own cost; serving the proofs is timed separately.

Run (about 15 s on 2 shared cores)::

    .venv/bin/python -m benchmarks.bench_witness --size 1000000 --gap 10000 --own 20 --repeat 20 \
        --serve-side

``--serve-side`` also times the coordinator's side on a SQLite ledger of as many stored leaf
hashes: the tree build an uncached proof needs, and the service's tree cache
(:class:`~consortium.ledger.witness_sources.TreeCache`) cold and after ``gap`` new entries.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from consortium.ledger.checkpoint import Checkpoint
from consortium.ledger.entry import Entry, sign_entry
from consortium.ledger.kinds import EntryKind
from consortium.ledger.merkle import MerkleTree
from consortium.ledger.requests import payload_with_request, sign_request
from consortium.ledger.signing import Signer
from consortium.ledger.witness import Witness
from consortium.ledger.witness_check import ProvenEntry, witness_once
from consortium.ledger.witness_receipts import Receipt, ReceiptBook


class MemorySource:
    """A head source over an in-memory tree (the service's answers, without HTTP)."""

    def __init__(self, tree: MerkleTree, entries: dict[int, Entry], coordinator: Signer) -> None:
        self.tree, self.entries, self.coordinator = tree, entries, coordinator
        self.head = Checkpoint.sign(
            size=tree.size, root=tree.root(), moment=datetime.now(UTC), signer=coordinator
        )
        self.serve_seconds = 0.0

    def coordinator_key(self) -> bytes:
        """Return the coordinator's public key."""
        return self.coordinator.public_key

    def latest_head(self) -> Checkpoint:
        """Return the head over the whole tree."""
        return self.head

    def consistency_proof(self, *, old_size: int, new_size: int) -> Sequence[bytes]:
        """Serve a consistency proof (timed apart)."""
        t = time.perf_counter()
        proof = self.tree.consistency_proof(old_size, new_size)
        self.serve_seconds += time.perf_counter() - t
        return proof

    def entries_of(self, *, key_id: str, start: int, size: int) -> Sequence[ProvenEntry]:
        """Serve the member's entries in the range with inclusion proofs (timed apart)."""
        t = time.perf_counter()
        out = [
            ProvenEntry(e, tuple(self.tree.inclusion_proof(seq, size)))
            for seq, e in sorted(self.entries.items())
            if start <= seq < size
        ]
        self.serve_seconds += time.perf_counter() - t
        return out

    def entry_at(self, *, seq: int, size: int) -> ProvenEntry:
        """Serve one entry with its inclusion proof."""
        return ProvenEntry(self.entries[seq], tuple(self.tree.inclusion_proof(seq, size)))


def build(size: int, own: int, gap: int, seed: int) -> tuple[MemorySource, Signer, list[Receipt]]:
    """Build the tree of ``size`` leaves with the member's ``own`` entries in the last ``gap``."""
    coordinator, member = Signer.generate(), Signer.generate()
    rng = random.Random(seed)
    seqs = sorted(rng.sample(range(size - gap, size), own))
    entries: dict[int, Entry] = {}
    receipts = []
    for i, seq in enumerate(seqs):
        body = {"proposal_id": f"p-{i}", "support": "for"}
        request = sign_request(action="vote", body=body, signer=member, now=datetime.now(UTC))
        entries[seq] = sign_entry(
            seq=seq, moment=datetime.now(UTC), kind=EntryKind.VOTE_CAST,
            payload=payload_with_request(body, request), signer=coordinator,
        )  # fmt: skip
        receipts.append(Receipt(seq=seq, nonce=request.nonce, action="vote"))
    tree = MerkleTree()
    sha = hashlib.sha256
    for seq in range(size):
        entry = entries.get(seq)
        tree.append(entry.leaf_hash() if entry else sha(seq.to_bytes(8, "big")).digest())
    return MemorySource(tree, entries, coordinator), member, receipts


def serve_side(size: int, gap: int, folder: Path) -> dict[str, float]:
    """Time the service's side on a SQLite ledger of ``size`` stored leaf hashes.

    Returns the seconds of: the uncached tree build a proof would need
    (:func:`~consortium.ledger.store.load_tree`), the first :class:`TreeCache` build, and the
    warm cache after ``gap`` new entries (read the new leaves, serve a consistency proof).
    """
    from sqlalchemy import insert  # noqa: PLC0415

    from consortium.db import create_schema, make_engine, make_session_factory  # noqa: PLC0415
    from consortium.ledger.models import EntryRow  # noqa: PLC0415
    from consortium.ledger.store import load_tree  # noqa: PLC0415
    from consortium.ledger.witness_sources import TreeCache  # noqa: PLC0415

    engine = make_engine(f"sqlite:///{folder / 'ledger.db'}")
    create_schema(engine)
    factory = make_session_factory(engine)
    sha = hashlib.sha256

    def rows(lo: int, hi: int) -> list[dict[str, object]]:
        return [{"seq": i, "time": "2026-01-01T00:00:00.000000Z", "kind": "round-closed",
                 "payload": "{}", "actor": "0" * 64, "signature": bytes(64),
                 "leaf_hash": sha(i.to_bytes(8, "big")).digest()}
                for i in range(lo, hi)]  # fmt: skip

    for lo in range(0, size - gap, 100_000):
        with factory.begin() as s:
            s.execute(insert(EntryRow), rows(lo, min(lo + 100_000, size - gap)))
    out = {}
    with factory.begin() as s:
        t = time.perf_counter()
        load_tree(s, size=size - gap)
        out["uncached tree build (every call without a cache)"] = time.perf_counter() - t
        cache = TreeCache()
        t = time.perf_counter()
        cache.tree(s, size - gap)
        out["TreeCache first build"] = time.perf_counter() - t
    with factory.begin() as s:
        s.execute(insert(EntryRow), rows(size - gap, size))
    with factory.begin() as s:
        t = time.perf_counter()
        cache.tree(s, size).consistency_proof(size - gap, size)
        out[f"TreeCache warm: read {gap:,} new leaves + consistency proof"] = (
            time.perf_counter() - t
        )
    engine.dispose()
    return out


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--gap", type=int, default=10_000, help="entries since the last head")
    parser.add_argument("--own", type=int, default=20, help="the member's entries in the gap")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--serve-side", action="store_true", help="also time the service's side")
    args = parser.parse_args()

    t = time.perf_counter()
    source, member, receipts = build(args.size, args.own, args.gap, args.seed)
    build_seconds = time.perf_counter() - t
    old = source.tree.size - args.gap
    old_head = Checkpoint.sign(
        size=old, root=source.tree.root(old), moment=datetime.now(UTC), signer=source.coordinator
    )
    check, serve = [], []
    report = None
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            witness = Witness(Path(tmp) / "witness.jsonl", coordinator_key=source.coordinator_key())
            witness.keep(old_head)
            book = ReceiptBook(Path(tmp) / "receipts.jsonl")
            for r in receipts:
                book.record(r)
            source.serve_seconds = 0.0
            t = time.perf_counter()
            report = witness_once(source, witness=witness, member_key=member.public_key,
                                  receipts=book)  # fmt: skip
            total = time.perf_counter() - t
            serve.append(source.serve_seconds)
            check.append(total - source.serve_seconds)
    assert report is not None
    check.sort()
    print(f"size {args.size:,}, last head {old:,}, own entries {report.own_entries}, "
          f"receipts confirmed {report.receipts_confirmed}")  # fmt: skip
    print("| step | ms |\n|---|---:|")
    print(f"| build tree from leaf hashes ({args.size:,}) | {build_seconds * 1e3:,.0f} |")
    print(f"| routine check, member side, median | {statistics.median(check) * 1e3:.2f} |")
    print(f"| routine check, member side, max of {args.repeat} | {check[-1] * 1e3:.2f} |")
    print(f"| serving its proofs (tree built), median | {statistics.median(serve) * 1e3:.2f} |")
    if args.serve_side:
        with tempfile.TemporaryDirectory() as tmp:
            for step, seconds in serve_side(args.size, args.gap, Path(tmp)).items():
                print(f"| service side: {step} | {seconds * 1e3:,.1f} |")
    print(f"consistency proof: {report.consistency_hashes} hashes; "
          f"inclusion proofs: {args.size.bit_length()} hashes or fewer each")  # fmt: skip


if __name__ == "__main__":
    main()
