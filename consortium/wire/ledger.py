"""Ledger reads: the coordinator key, signed tree heads, entries and proofs."""

from __future__ import annotations

from consortium.wire.envelope import EntryModel, WireModel


class CoordinatorOut(WireModel):
    """The coordinator's public key; members pin its key id (the SHA-256 of the key)."""

    key_id: str
    public_key: str


class HeadOut(WireModel):
    """The newest signed tree head, as checkpoint text."""

    checkpoint: str


class EntriesOut(WireModel):
    """Entries ``start <= seq < stop`` in order."""

    entries: list[EntryModel]


class InclusionProofOut(WireModel):
    """The audit path of entry ``index`` in the tree of the first ``size`` entries."""

    index: int
    size: int
    proof: list[str]


class ConsistencyProofOut(WireModel):
    """The proof that the tree of ``new_size`` entries extends the tree of ``old_size``."""

    old_size: int
    new_size: int
    proof: list[str]


class KindCount(WireModel):
    """How many entries of one kind the ledger holds."""

    kind: str
    entries: int


class KindsOut(WireModel):
    """Entries per kind, most first, and the ledger's size (as the service counts them)."""

    size: int
    kinds: list[KindCount]
