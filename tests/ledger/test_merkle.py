"""RFC 6962 hashing, proofs and their verifiers: known answers and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consortium.errors import ChainBroken, VerificationError
from consortium.ledger.merkle import EMPTY_ROOT, MerkleTree, hash_leaf
from consortium.ledger.proof import verify_consistency, verify_inclusion

# RFC 6962 reference leaves and roots (certificate-transparency / transparency-dev/merkle).
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [  # (index, size, path) from the same reference data
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
]
CONSISTENCY = [  # (old, new, proof)
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip


def _tree(n: int) -> MerkleTree:
    return MerkleTree(hash_leaf(i.to_bytes(4, "big")) for i in range(n))


def _flip(data: bytes, position: int) -> bytes:
    position %= len(data)
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == ROOTS[0]
    assert MerkleTree().root().hex() == ROOTS[0]


@pytest.mark.parametrize("size", range(9))
def test_roots_match_rfc6962_reference(size: int) -> None:
    # Prepare
    tree = MerkleTree(hash_leaf(leaf) for leaf in LEAVES)
    # Execute
    root = tree.root(size)
    # Assert
    assert root.hex() == ROOTS[size]
    assert MerkleTree(hash_leaf(leaf) for leaf in LEAVES[:size]).root().hex() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_reference(index: int, size: int, path: list[str]) -> None:
    tree = MerkleTree(hash_leaf(leaf) for leaf in LEAVES)
    proof = tree.inclusion_proof(index, size)
    assert [p.hex() for p in proof] == path
    verify_inclusion(index=index, size=size, leaf_hash=hash_leaf(LEAVES[index]), proof=proof,
                     root=bytes.fromhex(ROOTS[size]))  # fmt: skip


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_consistency_proofs_match_reference(old: int, new: int, path: list[str]) -> None:
    tree = MerkleTree(hash_leaf(leaf) for leaf in LEAVES)
    proof = tree.consistency_proof(old, new)
    assert [p.hex() for p in proof] == path
    verify_consistency(old_size=old, new_size=new, proof=proof, old_root=bytes.fromhex(ROOTS[old]),
                       new_root=bytes.fromhex(ROOTS[new]))  # fmt: skip


def test_inclusion_root_mismatch_names_expected_and_calculated_root() -> None:
    tree = _tree(5)
    wrong = _flip(tree.root(), 0)
    with pytest.raises(ChainBroken) as err:
        verify_inclusion(index=1, size=5, leaf_hash=tree.leaf(1), proof=tree.inclusion_proof(1),
                         root=wrong)  # fmt: skip
    assert err.value.expected == wrong.hex()
    assert err.value.actual == tree.root().hex()
    assert err.value.index == 1


@settings(max_examples=60, deadline=None)
@given(data=st.data(), size=st.integers(1, 300))
def test_every_inclusion_proof_verifies_and_any_byte_flip_fails(
    data: st.DataObject, size: int
) -> None:
    # Prepare
    tree = _tree(size)
    index = data.draw(st.integers(0, size - 1))
    proof, root, leaf = tree.inclusion_proof(index), tree.root(), tree.leaf(index)
    # Execute / Assert: the honest proof verifies
    verify_inclusion(index=index, size=size, leaf_hash=leaf, proof=proof, root=root)
    # one flipped byte anywhere (proof, root or leaf) is caught
    target = data.draw(st.sampled_from(["root", "leaf"] + (["proof"] if proof else [])))
    position = data.draw(st.integers(0, 10_000))
    if target == "root":
        root = _flip(root, position)
    elif target == "leaf":
        leaf = _flip(leaf, position)
    else:
        k = position % len(proof)
        proof = [*proof[:k], _flip(proof[k], position // 7), *proof[k + 1 :]]
    with pytest.raises(VerificationError):
        verify_inclusion(index=index, size=size, leaf_hash=leaf, proof=proof, root=root)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), new=st.integers(1, 300))
def test_every_consistency_proof_verifies_and_any_byte_flip_fails(
    data: st.DataObject, new: int
) -> None:
    tree = _tree(new)
    old = data.draw(st.integers(1, new))
    proof, old_root, new_root = tree.consistency_proof(old, new), tree.root(old), tree.root(new)
    verify_consistency(
        old_size=old, new_size=new, proof=proof, old_root=old_root, new_root=new_root
    )
    target = data.draw(st.sampled_from(["old", "new"] + (["proof"] if proof else [])))
    position = data.draw(st.integers(0, 10_000))
    if target == "old":
        old_root = _flip(old_root, position)
    elif target == "new":
        new_root = _flip(new_root, position)
    else:
        k = position % len(proof)
        proof = [*proof[:k], _flip(proof[k], position // 7), *proof[k + 1 :]]
    with pytest.raises(VerificationError):
        verify_consistency(old_size=old, new_size=new, proof=proof, old_root=old_root,
                           new_root=new_root)  # fmt: skip


@pytest.mark.parametrize(
    ("index", "size", "cut"),
    [(0, 8, 1), (5, 8, -1), (3, 4, 0)],
    ids=["truncated", "extended", "emptied"],
)
def test_inclusion_proof_of_wrong_length_is_rejected(index: int, size: int, cut: int) -> None:
    tree = _tree(size)
    proof = tree.inclusion_proof(index)
    bad = proof[:-1] if cut == 1 else ([*proof, proof[0]] if cut == -1 else [])
    with pytest.raises(VerificationError, match="too (short|long)"):
        verify_inclusion(
            index=index, size=size, leaf_hash=tree.leaf(index), proof=bad, root=tree.root()
        )


def test_consistency_with_swapped_roots_fails() -> None:
    tree = _tree(7)
    with pytest.raises(ChainBroken):
        verify_consistency(old_size=3, new_size=7, proof=tree.consistency_proof(3),
                           old_root=tree.root(7), new_root=tree.root(3))  # fmt: skip


def test_index_beyond_size_is_rejected() -> None:
    tree = _tree(4)
    with pytest.raises(VerificationError, match="outside"):
        verify_inclusion(index=4, size=4, leaf_hash=tree.leaf(0), proof=[], root=tree.root())
