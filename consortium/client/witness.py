"""A member witnesses the coordinator's ledger over HTTP, from its own state folder.

:class:`RemoteHeadSource` answers :class:`~consortium.ledger.witness_check.HeadSource` from the
service's read endpoints (``/ledger/head``, ``/ledger/proofs/...``, ``/ledger/entries`` and
``/witness/entries``); :func:`witness` runs one routine check and keeps the head in the member's
state folder (``witness.jsonl``, the pinned ``coordinator.pub`` and ``receipts.jsonl``).

Examples
--------
>>> remote = RemoteCoordinator("https://coordinator.example:8443", pin="ab" * 8)  # doctest: +SKIP
>>> witness(remote, state=Path("members/rhine-road/.consortium"),
...         member_key=my_public_key).size  # doctest: +SKIP
1042
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from consortium.client.remote import RemoteCoordinator
from consortium.errors import VerificationError
from consortium.ledger.checkpoint import Checkpoint
from consortium.ledger.entry import Entry
from consortium.ledger.requests import embedded_request
from consortium.ledger.witness import pinned_witness
from consortium.ledger.witness_check import ProvenEntry, WitnessReport, witness_once
from consortium.ledger.witness_receipts import RECEIPTS_FILE, ReceiptBook
from consortium.ledger.witness_receipts import Receipt as MemberReceipt
from consortium.wire.envelope import Receipt
from consortium.wire.ledger import ConsistencyProofOut, EntriesOut, HeadOut, InclusionProofOut
from consortium.wire.onboarding import OwnEntriesOut

__all__ = ["RemoteHeadSource", "keep_receipt", "witness"]


def _hashes(hexes: Sequence[str]) -> tuple[bytes, ...]:
    try:
        return tuple(bytes.fromhex(h) for h in hexes)
    except ValueError as exc:
        raise VerificationError("the service sent a proof that is not hex") from exc


class RemoteHeadSource:
    """Heads, proofs and the member's own entries, read from the coordinator service."""

    def __init__(self, remote: RemoteCoordinator) -> None:
        self.remote = remote

    def coordinator_key(self) -> bytes:
        """Return the service's coordinator key (already checked against the remote's pin)."""
        return self.remote.coordinator_key

    def latest_head(self) -> Checkpoint:
        """Return the newest signed tree head (checked by the caller)."""
        return Checkpoint.from_text(self.remote.get("/ledger/head", HeadOut).checkpoint)

    def consistency_proof(self, *, old_size: int, new_size: int) -> Sequence[bytes]:
        """Return the consistency proof between the two sizes."""
        out = self.remote.get("/ledger/proofs/consistency", ConsistencyProofOut,
                              params={"old_size": old_size, "new_size": new_size})  # fmt: skip
        return _hashes(out.proof)

    def entries_of(self, *, key_id: str, start: int, size: int) -> Sequence[ProvenEntry]:
        """Return every entry ``key_id`` authorised in ``start <= seq < size``, page by page."""
        proven: list[ProvenEntry] = []
        page_start: int | None = start
        while page_start is not None:
            out = self.remote.get(
                "/witness/entries", OwnEntriesOut,
                params={"key_id": key_id, "start": page_start, "size": size},
            )  # fmt: skip
            proven += [ProvenEntry(Entry.from_json(p.entry.model_dump()), _hashes(p.proof))
                       for p in out.entries]  # fmt: skip
            if out.next_start is not None and out.next_start <= page_start:
                raise VerificationError("the service's pages of own entries go backwards")
            page_start = out.next_start
        return proven

    def entry_at(self, *, seq: int, size: int) -> ProvenEntry:
        """Return the entry at ``seq`` with its audit path in the tree of ``size``."""
        entries = self.remote.get("/ledger/entries", EntriesOut,
                                  params={"start": seq, "stop": seq + 1}).entries  # fmt: skip
        if len(entries) != 1:
            raise VerificationError(f"the service has no entry {seq}", index=seq)
        proof = self.remote.get("/ledger/proofs/inclusion", InclusionProofOut,
                                params={"index": seq, "size": size})  # fmt: skip
        return ProvenEntry(Entry.from_json(entries[0].model_dump()), _hashes(proof.proof))


def keep_receipt(state: Path, receipt: Receipt) -> bool:
    """Keep a write's receipt in the member's state folder if the entry embeds its request.

    The next :func:`witness` checks that the entry at that seq still embeds this very request.
    Returns whether a receipt was kept (an entry without an embedded request has none).
    """
    entry = Entry.from_json(receipt.entry.model_dump())
    request = embedded_request(entry.kind, entry.payload)
    if request is None:
        return False
    ReceiptBook(state / RECEIPTS_FILE).record(
        MemberReceipt(seq=entry.seq, nonce=request.nonce, action=request.action)
    )
    return True


def witness(
    remote: RemoteCoordinator, *, state: Path, member_key: bytes, pin: str | None = None
) -> WitnessReport:
    """Run one routine witness check against the service and keep the head in ``state``.

    Parameters
    ----------
    remote
        The coordinator service (its own pin is checked on every head it serves).
    state
        The member's state folder (:func:`consortium.privacy.state.member_state_dir`).
    member_key
        The member's raw public key.
    pin
        The coordinator key id (16+ hex digits); needed on the first check only.

    Raises
    ------
    VerificationError
        As :func:`~consortium.ledger.witness_check.witness_once` (``ChainBroken`` for a
        rewritten history); nothing is kept then.
    """
    source = RemoteHeadSource(remote)
    kept = pinned_witness(state, served_key=source.coordinator_key(), pin=pin)
    return witness_once(source, witness=kept, member_key=member_key,
                        receipts=ReceiptBook(state / RECEIPTS_FILE))  # fmt: skip
