from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from consortium.db import create_schema, make_engine, make_session_factory
from consortium.identity.registry import bootstrap_coordinator
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry, latest_checkpoint, load_entries
from consortium.queries.ledger import (
    PAYLOAD_PREVIEW_CHARS,
    entry_kinds,
    ledger_overview,
    ledger_ready,
    recent_entries,
    verification_status,
)
from tests.queries.world import World


def test_overview_counts_every_entry_by_kind(world: World) -> None:
    # Execute
    with world.factory.begin() as s:
        overview = ledger_overview(s)
        entries = load_entries(s)
        head = latest_checkpoint(s)
    # Assert
    assert overview.size == len(entries)
    assert dict(overview.kinds) == dict(Counter(e.kind for e in entries))
    assert overview.kinds["round-completed"] == 2
    assert overview.kinds["round-failed"] == 1
    assert overview.kinds["vote-cast"] == 2
    assert overview.kinds["query-answered"] == 1
    assert head is not None
    assert overview.latest_head is not None
    assert (overview.latest_head.size, overview.latest_head.root) == (head.size, head.root.hex())
    assert overview.heads == 2
    assert overview.uncovered == 0
    assert overview.first_time == entries[0].time
    assert overview.last_time == max(e.time for e in entries)


def test_entry_kinds_are_sorted_most_frequent_first(world: World) -> None:
    with world.factory.begin() as s:
        kinds = entry_kinds(s)
        size = ledger_overview(s).size
    assert kinds["entries"].is_monotonic_decreasing
    assert kinds["entries"].sum() == size


def test_verification_of_an_untouched_ledger_succeeds(world: World) -> None:
    with world.factory.begin() as s:
        status = verification_status(s)
        head = latest_checkpoint(s)
    assert status.ok
    assert status.error is None
    assert head is not None
    assert status.root == head.root.hex()
    assert status.size == head.size
    assert status.heads_checked == 2


def test_verification_names_the_rewritten_entry(
    factory: sessionmaker[Session], coordinator: Signer
) -> None:
    # Prepare: entry 0 registers the coordinator; two more entries, then one payload rewritten
    with factory.begin() as s:
        append_entry(s, kind="round-closed", payload={"round": 1}, signer=coordinator)
        append_entry(s, kind="round-closed", payload={"round": 2}, signer=coordinator)
    with factory.begin() as s:
        before = verification_status(s)
        s.execute(
            text("UPDATE ledger_entries SET payload = :payload WHERE seq = 1"),
            {"payload": '{"round":9}'},
        )
    # Execute
    with factory.begin() as s:
        after = verification_status(s)
    # Assert
    assert before.ok
    assert before.size == 3
    assert not after.ok
    assert after.index == 1
    assert after.error
    assert after.size == 3


def test_recent_entries_are_newest_first_and_filtered_by_kind(world: World) -> None:
    with world.factory.begin() as s:
        latest = recent_entries(s, limit=5)
        votes = recent_entries(s, limit=50, kinds={"vote-cast"})
        size = ledger_overview(s).size
    assert latest["seq"].tolist() == list(range(size - 1, size - 6, -1))
    assert votes["kind"].unique().tolist() == ["vote-cast"]
    assert sorted(votes["actor"]) == ["member:meridian", "member:rhine"]
    assert (votes["payload"].str.len() <= PAYLOAD_PREVIEW_CHARS).all()


def test_recent_entries_label_the_coordinator(world: World) -> None:
    with world.factory.begin() as s:
        registrations = recent_entries(s, limit=200, kinds={"key-registered"})
    assert set(registrations["actor"]) == {f"coordinator:{world.coordinator.key_id[:12]}"}


def test_recent_entries_refuse_a_non_positive_limit(world: World) -> None:
    with world.factory.begin() as s, pytest.raises(ValueError, match="limit"):
        recent_entries(s, limit=0)


def test_ledger_ready_only_once_the_ledger_is_started(tmp_path: Path, coordinator: Signer) -> None:
    # Prepare
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    factory = make_session_factory(engine)
    # Execute / Assert
    with factory.begin() as s:
        assert not ledger_ready(s)
    create_schema(engine)
    with factory.begin() as s:
        assert not ledger_ready(s)
        bootstrap_coordinator(s, coordinator=coordinator)
    with factory.begin() as s:
        assert ledger_ready(s)
