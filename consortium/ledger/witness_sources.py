"""A :class:`~consortium.ledger.witness_check.HeadSource` over the ledger stores themselves.

What the coordinator service answers a witnessing member with, and what a test or the
coordinator's own admin commands use directly. The Merkle tree of the newest head is built once
per source from the stored leaf hashes; every proof after that costs O(log n).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from consortium.errors import LedgerError, VerificationError
from consortium.ledger.checkpoint import Checkpoint
from consortium.ledger.entry import Entry
from consortium.ledger.merkle import MerkleTree
from consortium.ledger.models import EntryRow
from consortium.ledger.requests import authoriser
from consortium.ledger.store import latest_checkpoint, load_entries, load_tree
from consortium.ledger.witness_check import ProvenEntry

__all__ = ["StoreHeadSource", "TreeCache", "entries_authorised_by", "tree_cache_for"]


def entries_authorised_by(session: Session, *, key_id: str, start: int, stop: int) -> list[Entry]:
    """Return entries ``start <= seq < stop`` that ``key_id`` signed or authorised.

    The database narrows by the signer column and by the key id inside an embedded request;
    :func:`~consortium.ledger.requests.authoriser` then decides exactly.
    """
    t = EntryRow.__table__.c
    query = (
        select(t.seq, t.time, t.kind, t.payload, t.actor, t.signature)
        .where(t.seq >= start, t.seq < stop)
        .where(or_(t.actor == key_id, t.payload.contains(f'"actor_key_id":"{key_id}"')))
        .order_by(t.seq)
    )
    entries = [
        Entry(s, tm, k, p.encode("utf-8"), a, bytes(sig))
        for s, tm, k, p, a, sig in session.execute(query)
    ]
    return [e for e in entries if authoriser(e.kind, e.payload, e.actor) == key_id]


class TreeCache:
    """The Merkle tree of one database's stored leaf hashes, extended as the ledger grows.

    A long-running reader (the coordinator service) builds the tree once (O(n)) and then reads
    only the new leaf hashes (O(new)) before serving a proof in O(log n). Extend it only from a
    session that sees committed entries, up to a size that session sees.
    """

    def __init__(self) -> None:
        self._tree = MerkleTree()
        self._lock = threading.Lock()

    def tree(self, session: Session, size: int) -> MerkleTree:
        """Return the tree holding at least the first ``size`` stored leaves."""
        with self._lock:
            if self._tree.size < size:
                t = EntryRow.__table__.c
                rows = session.execute(
                    select(t.leaf_hash)
                    .where(t.seq >= self._tree.size, t.seq < size)
                    .order_by(t.seq)
                ).scalars()
                self._tree.extend(bytes(h) for h in rows)
                if self._tree.size < size:
                    raise LedgerError(f"ledger has {self._tree.size} entries, fewer than {size}")
            return self._tree


_CACHES: weakref.WeakKeyDictionary[Engine, TreeCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def tree_cache_for(session: Session) -> TreeCache:
    """Return the :class:`TreeCache` of the engine ``session`` is bound to (one per engine)."""
    engine = session.get_bind().engine
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None:
            cache = _CACHES[engine] = TreeCache()
        return cache


class StoreHeadSource:
    """Heads, proofs and entries read from a session on the coordinator's stores.

    Examples
    --------
    >>> from consortium.db import create_schema, make_engine, make_session_factory
    >>> from consortium.identity.registry import bootstrap_coordinator
    >>> from consortium.ledger.signing import Signer
    >>> from consortium.ledger.store import publish_checkpoint
    >>> engine = make_engine("sqlite://"); create_schema(engine)
    >>> c = Signer.generate()
    >>> with make_session_factory(engine).begin() as s:
    ...     _ = bootstrap_coordinator(s, coordinator=c)
    ...     _ = publish_checkpoint(s, signer=c)
    ...     StoreHeadSource(s).latest_head().size
    1
    """

    def __init__(self, session: Session, *, cache: TreeCache | None = None) -> None:
        self.session = session
        self.cache = cache
        self._tree: MerkleTree | None = None

    def _tree_of(self, size: int) -> MerkleTree:
        if self.cache is not None:
            return self.cache.tree(self.session, size)
        if self._tree is None or self._tree.size < size:
            self._tree = load_tree(self.session, size=size)
        return self._tree

    def coordinator_key(self) -> bytes:
        """Return the public key entry 0 registered (the genesis coordinator key)."""
        genesis = load_entries(self.session, start=0, stop=1)
        if not genesis:
            raise LedgerError("the ledger is empty: no coordinator key yet")
        return bytes.fromhex(str(genesis[0].payload_object()["public_key"]))

    def latest_head(self) -> Checkpoint:
        """Return the newest published tree head."""
        head = latest_checkpoint(self.session)
        if head is None:
            raise LedgerError("no tree head has been published yet")
        return head

    def consistency_proof(self, *, old_size: int, new_size: int) -> Sequence[bytes]:
        """Return a proof that the first ``new_size`` entries extend the first ``old_size``."""
        return self._tree_of(new_size).consistency_proof(old_size, new_size)

    def entries_of(
        self, *, key_id: str, start: int, size: int, limit: int | None = None
    ) -> Sequence[ProvenEntry]:
        """Return the entries ``key_id`` authorised in ``start <= seq < size``, proven.

        ``limit`` keeps the first entries only (a page); the tree is built only if any.
        """
        own = entries_authorised_by(self.session, key_id=key_id, start=start, stop=size)
        own = own if limit is None else own[:limit]
        if not own:
            return []
        tree = self._tree_of(size)
        return [ProvenEntry(e, tuple(tree.inclusion_proof(e.seq, size))) for e in own]

    def entry_at(self, *, seq: int, size: int) -> ProvenEntry:
        """Return the entry at ``seq`` with its inclusion proof in the tree of ``size``."""
        entries = load_entries(self.session, start=seq, stop=seq + 1)
        if not entries or seq >= size:
            raise VerificationError(f"no entry {seq} in a tree of size {size}", index=seq)
        return ProvenEntry(entries[0], tuple(self._tree_of(size).inclusion_proof(seq, size)))
