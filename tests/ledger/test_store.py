"""The ledger store on SQLite and PostgreSQL: ordering, atomicity, concurrency, proofs, witness."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from consortium.errors import ChainBroken, VerificationError
from consortium.identity.registry import register_key, revoke_key
from consortium.ledger.audit import inclusion_proof, sync_witness, verify_database
from consortium.ledger.canonical import parse_time
from consortium.ledger.entry import sign_entry
from consortium.ledger.keyring import Role
from consortium.ledger.models import EntryRow
from consortium.ledger.proof import verify_inclusion
from consortium.ledger.signing import Signer
from consortium.ledger.store import (
    SignerNotAllowed,
    append_entry,
    ledger_size,
    load_entries,
    publish_checkpoint,
)
from consortium.ledger.witness import Witness

Factory = sessionmaker[Session]


def _seqs(factory: Factory) -> list[int]:
    with factory.begin() as s:
        return list(s.execute(select(EntryRow.seq).order_by(EntryRow.seq)).scalars())


def test_appends_get_consecutive_seqs_and_verify(factory: Factory, coordinator: Signer) -> None:
    # Execute
    with factory.begin() as s:
        entries = [append_entry(s, kind="round-closed", payload={"round": r}, signer=coordinator)
                   for r in range(5)]  # fmt: skip
    # Assert
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    with factory.begin() as s:
        report = verify_database(s)
    assert report.size == 6
    assert entries[0].timestamp.tzinfo is not None


def test_failed_transaction_leaves_no_entry_and_no_gap(
    factory: Factory, coordinator: Signer
) -> None:
    # Execute: the state change fails after the append, so the whole transaction rolls back
    def failing_change() -> None:
        with factory.begin() as s:
            append_entry(s, kind="round-closed", payload={"round": 1}, signer=coordinator)
            raise RuntimeError("state change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    with factory.begin() as s:
        nxt = append_entry(s, kind="round-closed", payload={"round": 2}, signer=coordinator)
    # Assert
    assert _seqs(factory) == [0, 1]
    assert nxt.seq == 1


def test_savepoint_rollback_discards_only_the_inner_append(
    factory: Factory, coordinator: Signer
) -> None:
    with factory.begin() as s:
        append_entry(s, kind="round-closed", payload={"round": 1}, signer=coordinator)
        nested = s.begin_nested()
        append_entry(s, kind="round-closed", payload={"round": 2}, signer=coordinator)
        nested.rollback()
        last = append_entry(s, kind="round-closed", payload={"round": 3}, signer=coordinator)
    assert last.seq == 2
    assert _seqs(factory) == [0, 1, 2]


def test_crash_mid_transaction_leaves_no_entry(
    factory: Factory, coordinator: Signer, database_url: str, tmp_path: Path
) -> None:
    # Prepare: a child process that appends, flushes, then dies before committing
    key = tmp_path / "coordinator.key"
    from consortium.identity.keys import generate_key_file

    signer = generate_key_file(key)
    with factory.begin() as s:
        register_key(s, public_key=signer.public_key, role=Role.COORDINATOR, signer=coordinator)
    script = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from consortium.db import make_engine, make_session_factory
        from consortium.identity.keys import load_signer
        from consortium.ledger.store import append_entry
        signer = load_signer(Path({str(key)!r}))
        factory = make_session_factory(make_engine({database_url!r}))
        with factory.begin() as s:
            append_entry(s, kind="round-closed", payload={{"round": 9}}, signer=signer)
            s.flush()
            os._exit(3)
    """)
    # Execute
    done = subprocess.run([sys.executable, "-c", script], cwd=Path.cwd(), timeout=60, check=False)
    # Assert
    assert done.returncode == 3
    assert _seqs(factory) == [0, 1]
    with factory.begin() as s:
        assert ledger_size(s) == 2
        verify_database(s)


def test_concurrent_appenders_never_gap_or_duplicate(factory: Factory, coordinator: Signer) -> None:
    # Prepare
    threads_n, per_thread = 8, 50
    failures: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(per_thread):
                with factory.begin() as s:
                    append_entry(s, kind="contribution-claimed", payload={"worker": worker, "i": i},
                                 signer=coordinator)  # fmt: skip
        except BaseException as exc:  # surfaced below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(threads_n)]
    # Execute
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Assert
    assert failures == []
    assert _seqs(factory) == list(range(1 + threads_n * per_thread))
    with factory.begin() as s:
        assert verify_database(s).size == 1 + threads_n * per_thread


def test_unregistered_and_revoked_keys_cannot_append(factory: Factory, coordinator: Signer) -> None:
    member = Signer.generate()
    with pytest.raises(SignerNotAllowed, match="not registered"), factory.begin() as s:
        append_entry(s, kind="vote-cast", payload={"proposal": 1}, signer=member)
    with factory.begin() as s:
        register_key(s, public_key=member.public_key, role=Role.MEMBER, signer=coordinator)
        append_entry(s, kind="vote-cast", payload={"proposal": 1}, signer=member)
        revoke_key(s, key_id=member.key_id, signer=coordinator)
    with pytest.raises(SignerNotAllowed, match="revoked"), factory.begin() as s:
        append_entry(s, kind="vote-cast", payload={"proposal": 2}, signer=member)
    with factory.begin() as s:
        assert verify_database(s).size == 4


def test_served_inclusion_proof_verifies_against_signed_head(
    factory: Factory, coordinator: Signer
) -> None:
    with factory.begin() as s:
        for r in range(12):
            append_entry(s, kind="round-closed", payload={"round": r}, signer=coordinator)
        head = publish_checkpoint(s, signer=coordinator)
        entry = load_entries(s, start=7, stop=8)[0]
        proof = inclusion_proof(s, index=7, size=head.size)
    verify_inclusion(
        index=7, size=head.size, leaf_hash=entry.leaf_hash(), proof=proof, root=head.root
    )
    other = load_entries_other(factory)
    with pytest.raises(ChainBroken):
        verify_inclusion(index=7, size=head.size, leaf_hash=other, proof=proof, root=head.root)


def load_entries_other(factory: Factory) -> bytes:
    with factory.begin() as s:
        return load_entries(s, start=8, stop=9)[0].leaf_hash()


def test_member_witness_detects_rewritten_history(
    factory: Factory, coordinator: Signer, tmp_path: Path
) -> None:
    # Prepare: a member witnesses a head, later the coordinator rewrites entry 2 and re-publishes
    witness = Witness(tmp_path / "home" / "witness.jsonl", coordinator_key=coordinator.public_key)
    with factory.begin() as s:
        for r in range(4):
            append_entry(s, kind="round-closed", payload={"round": r}, signer=coordinator)
        publish_checkpoint(s, signer=coordinator)
    with factory.begin() as s:
        sync_witness(s, witness)
        append_entry(s, kind="round-closed", payload={"round": 4}, signer=coordinator)
        publish_checkpoint(s, signer=coordinator)
    with factory.begin() as s:
        sync_witness(s, witness)  # honest growth is accepted
        kept = s.execute(select(EntryRow.time).where(EntryRow.seq == 2)).scalar_one()
        forged = sign_entry(seq=2, moment=parse_time(kept), kind="round-closed",
                            payload={"round": 99}, signer=coordinator)  # fmt: skip
        s.execute(update(EntryRow).where(EntryRow.seq == 2).values(
            time=forged.time, payload=forged.payload.decode(), signature=forged.signature,
            leaf_hash=forged.leaf_hash()))  # fmt: skip
        publish_checkpoint(s, signer=coordinator)
    # Execute / Assert: the member's next connection fails, and so does verify with its heads
    with pytest.raises(ChainBroken), factory.begin() as s:
        sync_witness(s, witness)
    assert (tmp_path / "home" / "witness.jsonl").stat().st_mode & 0o777 == 0o600
    with factory.begin() as s, pytest.raises(VerificationError, match="history rewritten"):
        verify_database(s)
    assert len(witness.heads()) == 2


def test_witness_refuses_rollback_to_smaller_head(
    factory: Factory, coordinator: Signer, tmp_path: Path
) -> None:
    witness = Witness(tmp_path / "w.jsonl", coordinator_key=coordinator.public_key)
    with factory.begin() as s:
        small = publish_checkpoint(s, signer=coordinator)
        append_entry(s, kind="round-closed", payload={"round": 1}, signer=coordinator)
        publish_checkpoint(s, signer=coordinator)
        sync_witness(s, witness)
    with pytest.raises(VerificationError, match="smaller"):
        witness.observe(small, [])


def test_tampered_row_is_named_by_verify(factory: Factory, coordinator: Signer) -> None:
    with factory.begin() as s:
        for r in range(5):
            append_entry(s, kind="round-closed", payload={"round": r}, signer=coordinator)
        s.execute(update(EntryRow).where(EntryRow.seq == 3).values(payload='{"round":7}'))
    with factory.begin() as s, pytest.raises(VerificationError) as err:
        verify_database(s)
    assert err.value.index == 3
    with factory.begin() as s:
        assert s.execute(select(func.count()).select_from(EntryRow)).scalar_one() == 6
