"""RFC 6962 / RFC 9162 Merkle tree hashing, an append-only tree and its proof generation.

Leaf hash = SHA-256(0x00 || data), node hash = SHA-256(0x01 || left || right), and the root of
the empty tree is SHA-256(""), exactly as ``transparency-dev/merkle``'s ``rfc6962`` package.
:class:`MerkleTree` keeps every complete aligned subtree hash level by level, so roots and
proofs at any earlier size take O(log n) hash operations after an O(n) build.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from consortium.errors import VerificationError

HASH_BYTES = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def hash_leaf(data: bytes) -> bytes:
    """Return the RFC 6962 leaf hash of ``data``.

    Examples
    --------
    >>> hash_leaf(b"").hex()[:16]
    '6e340b9cffb37a98'
    """
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 interior node hash of two child hashes."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only RFC 6962 Merkle tree over leaf hashes.

    Examples
    --------
    >>> tree = MerkleTree([hash_leaf(b"a"), hash_leaf(b"b"), hash_leaf(b"c")])
    >>> tree.root() == hash_children(hash_children(hash_leaf(b"a"), hash_leaf(b"b")),
    ...                              hash_leaf(b"c"))
    True
    >>> len(tree.inclusion_proof(2)), len(tree.consistency_proof(2, 3))
    (1, 1)
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        self.extend(leaf_hashes)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0])

    def append(self, leaf_hash: bytes) -> None:
        """Add one leaf hash, completing any subtree it closes."""
        if len(leaf_hash) != HASH_BYTES:
            raise ValueError(f"leaf hash must be {HASH_BYTES} bytes, got {len(leaf_hash)}")
        levels = self._levels
        levels[0].append(leaf_hash)
        level = 0
        while len(levels[level]) % 2 == 0:
            row = levels[level]
            parent = hash_children(row[-2], row[-1])
            if level + 1 == len(levels):
                levels.append([])
            levels[level + 1].append(parent)
            level += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append many leaf hashes."""
        for leaf in leaf_hashes:
            self.append(leaf)

    def leaf(self, index: int) -> bytes:
        """Return the leaf hash at ``index``."""
        return self._levels[0][index]

    def _subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for ``start`` aligned to a power of two covering ``end - start``."""
        n = end - start
        if n == 1:
            return self._levels[0][start]
        if n & (n - 1) == 0:
            level = n.bit_length() - 1
            return self._levels[level][start >> level]
        k = _split(n)
        return hash_children(self._subtree(start, start + k), self._subtree(start + k, end))

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if size < 0 or size > self.size:
            raise VerificationError(f"tree size {size} outside 0..{self.size}")
        return size

    def root(self, size: int | None = None) -> bytes:
        """Return the root of the first ``size`` leaves (default: all)."""
        n = self._check_size(size)
        return EMPTY_ROOT if n == 0 else self._subtree(0, n)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Return the RFC 6962 audit path PATH(index, D[0:size])."""
        n = self._check_size(size)
        if not 0 <= index < n:
            raise VerificationError(f"leaf index {index} outside tree of size {n}", index=index)
        path: list[bytes] = []
        start, end, m = 0, n, index
        while end - start > 1:
            k = _split(end - start)
            if m < k:
                path.append(self._subtree(start + k, end))
                end = start + k
            else:
                path.append(self._subtree(start, start + k))
                start, m = start + k, m - k
        path.reverse()
        return path

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Return the RFC 6962 consistency proof PROOF(old_size, D[0:new_size])."""
        n = self._check_size(new_size)
        if not 0 <= old_size <= n:
            raise VerificationError(f"old size {old_size} outside 0..{n}")
        if old_size in (0, n):
            return []
        proof: list[bytes] = []
        start, end, m, complete = 0, n, old_size, True
        while m != end - start:
            k = _split(end - start)
            if m <= k:
                proof.append(self._subtree(start + k, end))
                end = start + k
            else:
                proof.append(self._subtree(start, start + k))
                start, m, complete = start + k, m - k, False
        if not complete:
            proof.append(self._subtree(start, end))
        proof.reverse()
        return proof
