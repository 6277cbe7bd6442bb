"""The service's in-memory Merkle tree follows the stored ledger, rolled-back writes included."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry, load_tree
from consortium.service.tree import TreeCache


class RolledBack(Exception):
    """Stands for a write that fails after its receipt was built."""


def _note(session: Session, coordinator: Signer, n: int) -> None:
    append_entry(session, kind="note-written", payload={"n": n}, signer=coordinator)


def _write_then_fail(factory: sessionmaker[Session], coordinator: Signer, cache: TreeCache,
                     seen: list[int]) -> None:  # fmt: skip
    """Write, build the receipt's tree (it now holds the write), then fail: the write rolls back."""
    with factory.begin() as s:
        _note(s, coordinator, 2)
        seen.append(cache.tree(s)[1])
        raise RolledBack


def test_the_cached_tree_drops_a_rolled_back_write_and_matches_the_store(
    factory: sessionmaker[Session], coordinator: Signer
) -> None:
    # Prepare: a cache that has seen the ledger, then a write whose receipt extended it
    cache = TreeCache()
    with factory.begin() as s:
        _note(s, coordinator, 1)
        cache.tree(s)
    seen: list[int] = []
    with pytest.raises(RolledBack):
        _write_then_fail(factory, coordinator, cache, seen)
    # Execute: a reader at the committed size, then another write at the same seq
    with factory.begin() as s:
        reader, committed = cache.tree(s)
        reader_root = reader.root(committed)
        _note(s, coordinator, 3)
        tree, size = cache.tree(s)
        cached_root = tree.root(size)
        stored_root = load_tree(s, size=size).root()
    # Assert
    assert seen == [3]
    assert committed == 2
    assert size == 3
    assert cached_root == stored_root
    with factory.begin() as s:
        assert reader_root == load_tree(s, size=2).root()
