"""One routine witness check: the newest head, its consistency, and the member's own entries.

A member never replays the ledger to trust it. Each check (:func:`witness_once`) asks a
:class:`HeadSource` (the coordinator service over HTTP, or the stores directly) for

* the newest signed tree head, checked against the coordinator key the member pinned;
* a consistency proof from the last head the member kept (O(log n) hashes), so a rewritten or
  forked history fails here;
* the entries authorised by the member's key since that head, each with an inclusion proof
  in the new head (O(log n) hashes each): every one must be signed by the member (directly, or
  through the request the coordinator countersigned and embedded), so an entry forged in the
  member's name fails;
* the entries at the seqs its receipts name (:mod:`~consortium.ledger.witness_receipts`): each
  must embed the very request the member signed, so a request the coordinator acknowledged and
  then dropped or replaced fails.

Only when all of it holds is the head kept (:class:`~consortium.ledger.witness.Witness`) and the
receipts confirmed. Nothing here does I/O beyond the witness and receipt files.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from consortium.errors import VerificationError
from consortium.ledger.checkpoint import Checkpoint
from consortium.ledger.entry import Entry
from consortium.ledger.proof import verify_inclusion
from consortium.ledger.requests import binding_problem, embedded_request
from consortium.ledger.signing import is_valid_signature, key_id_for
from consortium.ledger.witness import Witness
from consortium.ledger.witness_receipts import Receipt, ReceiptBook

__all__ = ["HeadSource", "ProvenEntry", "WitnessReport", "witness_once"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProvenEntry:
    """An entry with its inclusion proof in the tree of the head being witnessed."""

    entry: Entry
    proof: tuple[bytes, ...]


class HeadSource(Protocol):
    """Where a member reads heads and proofs from (the service, or the stores directly)."""

    def coordinator_key(self) -> bytes:
        """Return the coordinator's raw public key as served (checked against the pin)."""
        ...

    def latest_head(self) -> Checkpoint:
        """Return the newest signed tree head."""
        ...

    def consistency_proof(self, *, old_size: int, new_size: int) -> Sequence[bytes]:
        """Return a proof that the first ``new_size`` entries extend the first ``old_size``."""
        ...

    def entries_of(self, *, key_id: str, start: int, size: int) -> Sequence[ProvenEntry]:
        """Return entries ``start <= seq < size`` that ``key_id`` authorised, proven in ``size``."""
        ...

    def entry_at(self, *, seq: int, size: int) -> ProvenEntry:
        """Return the entry at ``seq`` with its proof in the tree of ``size``."""
        ...


@dataclass(frozen=True)
class WitnessReport:
    """What one check covered.

    Attributes
    ----------
    old_size
        Size of the head kept before (``None`` on a member's first check).
    size, root
        The head now kept (root in hex).
    consistency_hashes
        Hashes in the consistency proof (O(log n)).
    own_entries
        The member's entries since ``old_size`` whose signature and inclusion were checked.
    receipts_confirmed, receipts_pending
        Receipts confirmed by this head, and those the head does not cover yet.
    """

    old_size: int | None
    size: int
    root: str
    consistency_hashes: int
    own_entries: int
    receipts_confirmed: int
    receipts_pending: int


def _check_authorised(entry: Entry, *, member_key: bytes, coordinator_key: bytes) -> str | None:
    """Return the nonce of the member's request the entry embeds; raise if not the member's."""
    member = key_id_for(member_key)
    request = embedded_request(entry.kind, entry.payload)
    if request is None:
        if entry.actor != member:
            raise VerificationError(
                f"entry served as the member's is by {entry.actor[:16]}...", index=entry.seq
            )
        if not is_valid_signature(member_key, entry.signature, entry.signing_bytes()):
            raise VerificationError(
                f"{entry.kind} entry in the member's name is not signed by its key",
                index=entry.seq,
            )
        return None
    if request.actor_key_id != member:
        raise VerificationError(
            f"entry embeds a request by {request.actor_key_id[:16]}..., not the member's",
            index=entry.seq,
        )
    if not is_valid_signature(member_key, request.signature, request.signing_bytes()):
        raise VerificationError(
            f"{entry.kind} entry embeds a request in the member's name it did not sign "
            "(forged by the coordinator)",
            index=entry.seq,
        )
    problem = binding_problem(entry.kind, entry.payload_object(), request)
    if problem is not None:
        raise VerificationError(f"{entry.kind} entry: {problem[1]}", index=entry.seq)
    if entry.actor != key_id_for(coordinator_key) or not is_valid_signature(
        coordinator_key, entry.signature, entry.signing_bytes()
    ):
        raise VerificationError(
            f"{entry.kind} entry is not countersigned by the pinned coordinator key",
            index=entry.seq,
        )
    return request.nonce


def _check_included(proven: ProvenEntry, head: Checkpoint) -> None:
    verify_inclusion(
        index=proven.entry.seq, size=head.size, leaf_hash=proven.entry.leaf_hash(),
        proof=proven.proof, root=head.root,
    )  # fmt: skip


def _missing(receipt: Receipt) -> VerificationError:
    return VerificationError(
        f"the member's {receipt.action} request (nonce {receipt.nonce[:16]}...) that the "
        "coordinator acknowledged at this seq is not there",
        index=receipt.seq,
    )


def _check_receipt(
    receipt: Receipt,
    proven: ProvenEntry,
    head: Checkpoint,
    *,
    member_key: bytes,
    coordinator: bytes,
) -> None:
    if proven.entry.seq != receipt.seq:
        raise VerificationError(
            f"asked for entry {receipt.seq}, served entry {proven.entry.seq}", index=receipt.seq
        )
    _check_included(proven, head)
    request = embedded_request(proven.entry.kind, proven.entry.payload)
    if request is None or request.nonce != receipt.nonce:
        raise _missing(receipt)
    _check_authorised(proven.entry, member_key=member_key, coordinator_key=coordinator)


def witness_once(
    source: HeadSource,
    *,
    witness: Witness,
    member_key: bytes,
    receipts: ReceiptBook | None = None,
) -> WitnessReport:
    """Check the newest head, its consistency and the member's own entries; then keep the head.

    Parameters
    ----------
    source
        Where heads, proofs and entries come from.
    witness
        The member's kept heads, pinned to the coordinator key.
    member_key
        The member's raw public key (the entries it authorised are checked against it).
    receipts
        The member's receipts, if it keeps any; the ones the new head covers are checked.

    Returns
    -------
    WitnessReport
        What was checked.

    Raises
    ------
    VerificationError
        If the head is not the pinned coordinator's, rolls back, is inconsistent with the last
        kept head (``ChainBroken``), or an entry in the member's name or under one of its receipts
        is missing, forged or not included. Nothing is kept then.

    Examples
    --------
    See ``tests/ledger/test_witness_check.py`` and ``consortium ledger witness``.
    """
    head = source.latest_head()
    last = witness.latest()
    old_size = None if last is None else last.size
    proof: Sequence[bytes] = ()
    if last is not None and 0 < last.size < head.size:
        proof = source.consistency_proof(old_size=last.size, new_size=head.size)
    witness.check(head, proof)  # signature, no rollback, consistency: O(log n)

    member = key_id_for(member_key)
    start = 0 if last is None else last.size
    own = list(source.entries_of(key_id=member, start=start, size=head.size))
    nonces: dict[int, str | None] = {}  # own entries checked: seq -> embedded request's nonce
    previous = start - 1
    for proven in own:
        seq = proven.entry.seq
        if not previous < seq < head.size:
            raise VerificationError(
                f"served own entries out of order or outside {start}..{head.size}", index=seq
            )
        _check_included(proven, head)
        nonces[seq] = _check_authorised(
            proven.entry, member_key=member_key, coordinator_key=witness.coordinator_key
        )
        previous = seq

    confirmed: list[int] = []
    pending = [] if receipts is None else receipts.pending()
    for receipt in pending:
        if receipt.seq >= head.size:
            continue
        if receipt.seq in nonces:  # served and checked above: only its nonce is left to compare
            if nonces[receipt.seq] != receipt.nonce:
                raise _missing(receipt)
        else:
            proven = source.entry_at(seq=receipt.seq, size=head.size)
            _check_receipt(
                receipt, proven, head, member_key=member_key, coordinator=witness.coordinator_key
            )
        confirmed.append(receipt.seq)

    witness.keep(head)
    if receipts is not None:
        receipts.confirm(confirmed, size=head.size)
    logger.info(
        "witnessed head %d (from %s): %d own entries, %d receipts confirmed",
        head.size, old_size, len(own), len(confirmed),
    )  # fmt: skip
    return WitnessReport(
        old_size=old_size,
        size=head.size,
        root=head.root.hex(),
        consistency_hashes=len(proof),
        own_entries=len(own),
        receipts_confirmed=len(confirmed),
        receipts_pending=len(pending) - len(confirmed),
    )
