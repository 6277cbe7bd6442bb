"""The ledger's Merkle tree, kept in the service's memory and extended as the ledger grows.

Every write's receipt and every proof the service serves needs the tree of the first ``size``
entries. Rebuilding it from the stored leaf hashes costs O(n) per call (a second at a million
entries); :class:`TreeCache` keeps one tree and only appends the leaves stored since. The ledger
is append-only, so a prefix never changes; the one way the cached tree can hold leaves the
database lacks is a write whose transaction rolled back after its receipt was built. Each call
therefore checks the cached leaf at the caller's size against the stored one and rebuilds on a
difference. Callers pass an explicit size to every tree method (the tree may be longer).
"""

from __future__ import annotations

import threading

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from consortium.errors import LedgerError
from consortium.ledger.merkle import MerkleTree
from consortium.ledger.models import HEAD_ROW_ID, EntryRow, HeadRow

# Built once: a statement built per call costs more than SQLite's answer to it.
_SIZE = select(HeadRow.size).where(HeadRow.id == HEAD_ROW_ID)
_LEAVES = (
    select(EntryRow.leaf_hash)
    .where(EntryRow.seq >= bindparam("start"), EntryRow.seq < bindparam("stop"))
    .order_by(EntryRow.seq)
)


def _leaves(session: Session, *, start: int, stop: int) -> list[bytes]:
    rows = session.execute(_LEAVES, {"start": start, "stop": stop}).scalars()
    return [bytes(h) for h in rows]


def _ledger_size(session: Session) -> int:
    """:func:`~consortium.ledger.store.ledger_size`, read with a prepared Core statement."""
    return session.execute(_SIZE).scalar_one_or_none() or 0


class TreeCache:
    """One Merkle tree of the ledger, shared by the service's threads."""

    def __init__(self) -> None:
        self._tree = MerkleTree()
        self._lock = threading.Lock()

    def tree(self, session: Session) -> tuple[MerkleTree, int]:
        """Return a tree holding at least the session's ledger, and that ledger's size.

        Raises
        ------
        LedgerError
            If the stored leaves are fewer than the ledger's size (a broken store).
        """
        with self._lock:
            size = _ledger_size(session)
            tree = self._tree
            known = min(tree.size, size)
            # one read: the cached tree's last leaf (to check) and the leaves stored since
            start = known - 1 if known else 0
            leaves = _leaves(session, start=start, stop=size)
            if known and leaves[:1] != [tree.leaf(known - 1)]:
                tree = MerkleTree()  # a rolled-back write's leaves: start again from the store
                leaves = _leaves(session, start=0, stop=size)
            elif known:
                leaves = leaves[1 + tree.size - known :]
            if size > tree.size:
                tree.extend(leaves[: size - tree.size])
            self._tree = tree
            if tree.size < size:
                raise LedgerError(f"ledger has {tree.size} stored leaves, fewer than {size}")
            return tree, size
