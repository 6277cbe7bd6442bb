"""Verifiers for RFC 9162 inclusion (§2.1.3.2) and consistency (§2.1.4.2) proofs.

Each raises :class:`~consortium.errors.VerificationError` for a malformed proof and
:class:`~consortium.errors.ChainBroken` naming the expected and calculated root when the proof
is well formed but leads elsewhere (``transparency-dev/merkle``'s ``RootMismatchError``).
"""

from __future__ import annotations

from collections.abc import Sequence

from consortium.errors import ChainBroken, VerificationError
from consortium.ledger.merkle import HASH_BYTES, hash_children


def _check_hashes(what: str, hashes: Sequence[bytes], index: int | None = None) -> None:
    for i, h in enumerate(hashes):
        if len(h) != HASH_BYTES:
            raise VerificationError(f"{what}[{i}] is {len(h)} bytes, not {HASH_BYTES}", index=index)


def root_from_inclusion_proof(
    *, index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """Return the root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1-5)."""
    if not 0 <= index < size:
        raise VerificationError(f"leaf index {index} outside tree of size {size}", index=index)
    _check_hashes("leaf hash", [leaf_hash], index)
    _check_hashes("proof", proof, index)
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise VerificationError("inclusion proof is too long", index=index)
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = hash_children(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("inclusion proof is too short", index=index)
    return r


def verify_inclusion(
    *, index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    Raises
    ------
    VerificationError
        If the proof is malformed for this index and size.
    ChainBroken
        If the calculated root differs from ``root``.

    Examples
    --------
    >>> from consortium.ledger.merkle import MerkleTree, hash_leaf
    >>> t = MerkleTree(hash_leaf(bytes([i])) for i in range(5))
    >>> verify_inclusion(index=3, size=5, leaf_hash=t.leaf(3), proof=t.inclusion_proof(3),
    ...                  root=t.root())
    """
    calculated = root_from_inclusion_proof(index=index, size=size, leaf_hash=leaf_hash, proof=proof)
    if calculated != root:
        raise ChainBroken(index, root.hex(), calculated.hex(), what="inclusion root")


def verify_consistency(
    *, old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Check that the tree ``(new_size, new_root)`` extends ``(old_size, old_root)``.

    Raises
    ------
    VerificationError
        If the proof is malformed for these sizes.
    ChainBroken
        If a calculated root differs from the given one (``what`` says which).

    Examples
    --------
    >>> from consortium.ledger.merkle import MerkleTree, hash_leaf
    >>> t = MerkleTree(hash_leaf(bytes([i])) for i in range(7))
    >>> verify_consistency(old_size=3, new_size=7, proof=t.consistency_proof(3),
    ...                    old_root=t.root(3), new_root=t.root())
    """
    _check_hashes("proof", proof)
    _check_hashes("root", [old_root, new_root])
    if not 0 <= old_size <= new_size:
        raise VerificationError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if proof:
            raise VerificationError("consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise ChainBroken(None, old_root.hex(), new_root.hex(), what=f"root at size {old_size}")
        return
    if old_size == 0:
        if proof:
            raise VerificationError("consistency proof from the empty tree must be empty")
        return
    if not proof:
        raise VerificationError("consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("consistency proof is too short")
    if fr != old_root:
        raise ChainBroken(None, old_root.hex(), fr.hex(), what=f"old root at size {old_size}")
    if sr != new_root:
        raise ChainBroken(None, new_root.hex(), sr.hex(), what=f"new root at size {new_size}")
