"""Verify a whole log: sequence, times, key lifecycle, every signature, hash and tree head.

:func:`verify_log` raises for the *first* entry that fails (lowest index), naming it and why.
Signature checks dominate the cost (about 60 µs each with ``cryptography``), so they can run
in ``workers`` processes; hashing and the tree build stay in the parent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from consortium.errors import ChainBroken, VerificationError
from consortium.ledger.canonical import EncodingError, signing_bytes
from consortium.ledger.checkpoint import Checkpoint
from consortium.ledger.entry import Entry
from consortium.ledger.keyring import Keyring
from consortium.ledger.merkle import MerkleTree, hash_leaf
from consortium.ledger.proof import verify_consistency
from consortium.ledger.signing import is_valid_signature

logger = logging.getLogger(__name__)

CHUNK = 20_000
_Item = tuple[int, str, str, bytes, str, bytes, bytes]


@dataclass(frozen=True)
class LogReport:
    """What a successful verification covered."""

    size: int
    root: str
    heads_checked: int
    witnessed_checked: int
    uncovered: int
    keys: int
    coordinator: str = ""
    """Key id of the coordinator key entry 0 registered (the root every other key hangs on)."""
    pinned: bool = False
    """Whether that key was checked against a key id the verifier pinned."""


def _check_chunk(items: Sequence[_Item]) -> tuple[list[bytes], int | None, str]:
    """Return leaf hashes and the first failing seq (with the reason) of a chunk."""
    leaves: list[bytes] = []
    for seq, time, kind, payload, actor, signature, public_key in items:
        try:
            data = signing_bytes(seq=seq, time=time, kind=kind, payload=payload, actor=actor)
        except EncodingError as exc:
            return leaves, seq, f"malformed header: {exc}"
        if not is_valid_signature(public_key, signature, data):
            return leaves, seq, f"signature by {actor[:16]}... does not verify"
        leaves.append(hash_leaf(data + signature))
    return leaves, None, ""


def check_time_order(previous: Entry | None, entry: Entry) -> None:
    """Refuse an entry whose time is before the time of the entry before it.

    Canonical ledger times (``YYYY-MM-DDTHH:MM:SS.ffffffZ``, fixed width, UTC) sort as text in
    the order of the instants, so the check is a string comparison. A time that is not in that
    form is left to the header check, which names it.

    Raises
    ------
    VerificationError
        ``index`` is ``entry.seq``, the first entry whose time goes backwards.

    Examples
    --------
    >>> a = Entry(0, "2026-01-01T00:00:01.000000Z", "k", b"{}", "ab" * 32, b"")
    >>> b = Entry(1, "2026-01-01T00:00:00.000000Z", "k", b"{}", "ab" * 32, b"")
    >>> try:
    ...     check_time_order(a, b)
    ... except VerificationError as exc:
    ...     print(exc.index)
    1
    """
    if previous is None:
        return
    before, now = previous.time, entry.time
    if (
        isinstance(before, str) and isinstance(now, str)
        and len(before) == len(now) == _TIME_LENGTH and before.endswith("Z") and now.endswith("Z")
        and now < before
    ):  # fmt: skip
        raise VerificationError(
            f"time {now} is before the previous entry's {before} "
            "(entry times go backwards: a backdated or reordered entry)",
            index=entry.seq,
        )


_TIME_LENGTH = len("2026-01-01T00:00:00.000000Z")


def _replay(entries: Sequence[Entry]) -> tuple[list[bytes], Keyring, VerificationError | None]:
    """Check sequence numbers, time order and actors; stop at the first failure."""
    ring = Keyring()
    keys: list[bytes] = []
    previous: Entry | None = None
    for position, entry in enumerate(entries):
        try:
            if entry.seq != position:
                raise ChainBroken(
                    position,
                    str(position),
                    str(entry.seq),
                    what="sequence number (removed, inserted or reordered entry)",
                )
            check_time_order(previous, entry)
            keys.append(ring.apply(entry))
            previous = entry
        except VerificationError as exc:
            exc.index = position if exc.index is None else exc.index
            return keys, ring, exc
    return keys, ring, None


def _signatures(
    items: list[_Item], *, workers: int, on_progress: Callable[[int, int], None] | None
) -> tuple[list[bytes], VerificationError | None]:
    chunks = [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
    leaves: list[bytes] = []
    done = 0
    if workers > 1 and len(chunks) > 1:
        pool = ProcessPoolExecutor(max_workers=workers)
        results = pool.map(_check_chunk, chunks)
    else:
        pool = None
        results = map(_check_chunk, chunks)
    try:
        for chunk, (chunk_leaves, bad, reason) in zip(chunks, results, strict=True):
            leaves.extend(chunk_leaves)
            if bad is not None:
                return leaves, VerificationError(reason, index=bad)
            done += len(chunk)
            if on_progress is not None:
                on_progress(done, len(items))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return leaves, None


def _check_heads(
    tree: MerkleTree, ring: Keyring, heads: Sequence[Checkpoint], *, label: str
) -> None:
    ordered = sorted(heads, key=lambda h: (h.size, h.time))
    for number, head in enumerate(ordered):
        head.verify(ring.coordinator_key(head.key_id))
        if head.size > tree.size:
            raise VerificationError(
                f"{label} #{number} covers {head.size} entries but the log has {tree.size} "
                "(entries removed from the end)",
                index=tree.size,
            )
        root = tree.root(head.size)
        if root != head.root:
            raise ChainBroken(
                None, head.root.hex(), root.hex(),
                what=f"root of {label} #{number} (size {head.size}; history rewritten)",
            )  # fmt: skip
        if number:
            prev = ordered[number - 1]
            verify_consistency(
                old_size=prev.size, new_size=head.size,
                proof=tree.consistency_proof(prev.size, head.size),
                old_root=prev.root, new_root=head.root,
            )  # fmt: skip


MIN_PIN_HEX = 16
"""Shortest accepted prefix of a pinned coordinator key id (64 bits)."""


def check_pin(entries: Sequence[Entry], pinned_coordinator: str) -> str:
    """Check that entry 0 registers the pinned coordinator key; return its full key id.

    A ledger forged whole under a new coordinator key verifies on its own (every signature,
    hash and tree head is the forger's); only a key the member pinned beforehand tells it apart.

    Parameters
    ----------
    entries
        The log in ledger order.
    pinned_coordinator
        The coordinator's key id (64 hex digits) or a prefix of at least 16 of them.

    Raises
    ------
    VerificationError
        ``index`` 0, if the log is empty or its genesis key is not the pinned one.
    """
    pin = pinned_coordinator.strip().lower()
    if len(pin) < MIN_PIN_HEX or any(c not in "0123456789abcdef" for c in pin):
        raise VerificationError(
            f"pinned coordinator key id must be at least {MIN_PIN_HEX} hex digits"
        )
    if not entries:
        raise VerificationError("the log is empty: no coordinator key to check", index=0)
    genesis = entries[0].actor
    if not genesis.startswith(pin):
        raise VerificationError(
            f"the ledger's coordinator key {genesis[:16]}... is not the pinned key "
            f"{pin[:16]}... (a ledger forged under another key)",
            index=0,
        )
    return genesis


def verify_log(
    entries: Sequence[Entry],
    *,
    heads: Sequence[Checkpoint] = (),
    witnessed: Sequence[Checkpoint] = (),
    keys: dict[str, bytes] | None = None,
    stored_leaves: Sequence[bytes] | None = None,
    workers: int = 1,
    on_progress: Callable[[int, int], None] | None = None,
    pinned_coordinator: str | None = None,
) -> LogReport:
    """Check every entry (sequence, time order, signer), signature, hash and tree head of a log.

    Parameters
    ----------
    entries
        The log in ledger order.
    heads
        The coordinator's signed tree heads; each must match the recomputed tree and be
        consistent with the next.
    witnessed
        Tree heads a member saw earlier (:class:`~consortium.ledger.witness.Witness`); a
        rewritten or forked history fails here even when it carries fresh heads.
    keys
        Public keys shipped with an export; each must equal the key the log registered.
    stored_leaves
        Leaf hashes a store keeps for serving proofs; each must equal the recomputed one.
    workers
        Processes for signature checks (1 = in this process).
    on_progress
        Called with (entries checked, total).
    pinned_coordinator
        The coordinator key id the verifier trusts (:func:`check_pin`); ``None`` leaves the
        log unpinned (:attr:`LogReport.pinned` is ``False``).

    Raises
    ------
    VerificationError
        For the lowest-index entry that fails, or the first head that fails.

    Examples
    --------
    >>> verify_log([]).root[:16]
    'e3b0c44298fc1c14'
    """
    if pinned_coordinator is not None:
        check_pin(entries, pinned_coordinator)
    replayed, ring, replay_error = _replay(entries)
    upto = len(replayed)
    items: list[_Item] = [
        (e.seq, e.time, e.kind, e.payload, e.actor, e.signature, key)
        for e, key in zip(entries[:upto], replayed, strict=True)
    ]
    leaves, sig_error = _signatures(items, workers=workers, on_progress=on_progress)
    if sig_error is not None:
        raise sig_error
    if replay_error is not None:
        raise replay_error
    for key_id, public_key in (keys or {}).items():
        state = ring.keys.get(key_id)
        if state is None or state.public_key != public_key:
            raise VerificationError(f"shipped key {key_id[:16]}... differs from the ledger's")
    if stored_leaves is not None:
        for index, (stored, computed) in enumerate(zip(stored_leaves, leaves, strict=False)):
            if stored != computed:
                raise ChainBroken(index, stored.hex(), computed.hex(), what="stored leaf hash")
        if len(stored_leaves) != len(leaves):
            raise VerificationError(
                f"{len(stored_leaves)} stored leaf hashes for {len(leaves)} entries"
            )
    tree = MerkleTree(leaves)
    _check_heads(tree, ring, heads, label="tree head")
    _check_heads(tree, ring, witnessed, label="witnessed tree head")
    covered = max((h.size for h in heads), default=0)
    logger.info("verified %d entries, %d heads", tree.size, len(heads))
    return LogReport(
        size=tree.size,
        root=tree.root().hex(),
        heads_checked=len(heads),
        witnessed_checked=len(witnessed),
        uncovered=tree.size - covered,
        keys=len(ring.keys),
        coordinator=entries[0].actor if entries else "",
        pinned=pinned_coordinator is not None,
    )
