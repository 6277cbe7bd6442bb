"""Issue 14, item 12: entry times are monotonic in sequence order, and ``verify`` checks it.

The attack: the coordinator (whose key signs every entry and tree head) rewrites an export so
that one entry is backdated (a vote "cast" before voting closed, a deposit "made" before a
price change), re-signs that entry and publishes fresh tree heads over the rewritten log.
Every signature, hash and head verifies; only the time order gives it away. ``append_entry``
already refuses such an entry at write time; ``consortium ledger verify`` (``--export`` and
``--db``) now refuses a log whose times go backwards, naming the first such seq.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from consortium.cli.main import app
from consortium.db import create_schema, make_engine, make_session_factory
from consortium.identity.registry import bootstrap_coordinator
from consortium.ledger.checkpoint import Checkpoint
from consortium.ledger.entry import Entry, sign_entry
from consortium.ledger.export import read_export, write_export
from consortium.ledger.merkle import MerkleTree
from consortium.ledger.models import EntryRow
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry, publish_checkpoint

runner = CliRunner()
BACKDATED = 3


def _backdated(entry: Entry, before: Entry, coordinator: Signer) -> Entry:
    """``entry`` re-signed by the coordinator with a time one hour before ``before``'s."""
    moment = before.timestamp - timedelta(hours=1)
    return sign_entry(seq=entry.seq, moment=moment, kind=entry.kind,
                      payload=entry.payload_object(), signer=coordinator)  # fmt: skip


@pytest.fixture
def ledger(tmp_path: Path) -> tuple[str, Signer, sessionmaker[Session]]:
    """An honest SQLite ledger of six entries (no tree head yet) and its coordinator key."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = make_engine(url)
    create_schema(engine)
    factory = make_session_factory(engine)
    coordinator = Signer.generate()
    with factory.begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        for r in range(5):
            append_entry(s, kind="round-closed", payload={"round": r}, signer=coordinator)
    return url, coordinator, factory


def test_verify_export_refuses_a_backdated_entry_resigned_by_the_coordinator(
    ledger: tuple[str, Signer, sessionmaker[Session]], tmp_path: Path
) -> None:
    # Prepare: the honest export, then a forgery of it with entry 3 backdated and re-signed,
    # and a fresh tree head over the rewritten log (signed by the same coordinator key).
    url, coordinator, factory = ledger
    with factory.begin() as s:
        publish_checkpoint(s, signer=coordinator)
    honest = tmp_path / "honest.jsonl"
    exported = runner.invoke(app, ["ledger", "export", "--out", str(honest), "--db", url])
    assert exported.exit_code == 0, exported.output
    data = read_export(honest)
    entries = list(data.entries)
    entries[BACKDATED] = _backdated(entries[BACKDATED], entries[BACKDATED - 1], coordinator)
    tree = MerkleTree([e.leaf_hash() for e in entries])
    head = Checkpoint.sign(size=tree.size, root=tree.root(), moment=datetime.now(UTC),
                           signer=coordinator, origin=data.heads[-1].origin)  # fmt: skip
    forged = tmp_path / "forged.jsonl"
    write_export(forged, entries=entries, keys=data.keys, heads=[head])
    # Execute
    ok = runner.invoke(app, ["ledger", "verify", "--export", str(honest)])
    result = runner.invoke(app, ["ledger", "verify", "--export", str(forged)])
    # Assert: the honest export verifies; the forgery fails at the backdated entry's seq
    assert ok.exit_code == 0, ok.output
    assert result.exit_code != 0
    assert f"entry {BACKDATED}: time" in result.output
    assert "before the previous entry's" in result.output


def test_verify_database_refuses_a_backdated_entry_written_around_the_store(
    ledger: tuple[str, Signer, sessionmaker[Session]],
) -> None:
    # Prepare: the coordinator rewrites entry 3 in its database (time, signature, leaf hash)
    # before publishing its first tree head, so every stored hash and head is consistent.
    url, coordinator, factory = ledger
    with factory.begin() as s:
        rows = s.execute(
            EntryRow.__table__.select().where(EntryRow.seq.in_([BACKDATED - 1, BACKDATED]))
            .order_by(EntryRow.seq)
        ).all()  # fmt: skip
        before, target = (Entry(r.seq, r.time, r.kind, r.payload.encode(), r.actor,
                                bytes(r.signature)) for r in rows)  # fmt: skip
        forged = _backdated(target, before, coordinator)
        s.execute(update(EntryRow).where(EntryRow.seq == BACKDATED).values(
            time=forged.time, signature=forged.signature, leaf_hash=forged.leaf_hash(),
        ))  # fmt: skip
        publish_checkpoint(s, signer=coordinator)
    # Execute
    result = runner.invoke(app, ["ledger", "verify", "--db", url])
    # Assert
    assert result.exit_code != 0
    assert f"entry {BACKDATED}: time {forged.time} is before" in result.output
