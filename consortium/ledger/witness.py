"""A member's memory of the tree heads it has seen, kept in a file in its home.

Each time a member connects it asks for the latest signed head and a consistency proof from the
last head it kept; :meth:`Witness.observe` refuses a head that is not signed by the pinned
coordinator key, is smaller than one already seen, or is not consistent with it. A rewritten
or forked history therefore fails at the first member that connects.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from consortium.errors import VerificationError
from consortium.ledger.checkpoint import Checkpoint
from consortium.ledger.proof import verify_consistency
from consortium.ledger.signing import PUBLIC_KEY_BYTES, key_id_for

logger = logging.getLogger(__name__)

WITNESS_FILE = "witness.jsonl"
"""The kept heads, in a member's state folder."""
PINNED_KEY_FILE = "coordinator.pub"
"""The coordinator public key a member pinned on its first check (hex), in its state folder."""
MIN_PIN_HEX = 16
"""Shortest accepted prefix of a pinned coordinator key id (64 bits)."""


class Witness:
    """Tree heads seen by one member, persisted as JSON lines (mode 0600).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from datetime import UTC, datetime
    >>> from consortium.ledger.merkle import EMPTY_ROOT
    >>> from consortium.ledger.signing import Signer
    >>> c = Signer.generate()
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "witness.jsonl"
    >>> w = Witness(path, coordinator_key=c.public_key)
    >>> w.observe(Checkpoint.sign(size=0, root=EMPTY_ROOT, moment=datetime.now(UTC), signer=c), [])
    >>> w.latest().size
    0
    """

    def __init__(self, path: Path, *, coordinator_key: bytes) -> None:
        self.path = path
        self.coordinator_key = coordinator_key
        self.coordinator_key_id = key_id_for(coordinator_key)

    def heads(self) -> list[Checkpoint]:
        """Every head kept so far, oldest first."""
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [Checkpoint.from_text(json.loads(line)["checkpoint"]) for line in lines if line]

    def latest(self) -> Checkpoint | None:
        """Return the most recent head kept, if any."""
        heads = self.heads()
        return heads[-1] if heads else None

    def observe(self, checkpoint: Checkpoint, proof: Sequence[bytes]) -> None:
        """Check a newly served head against the last one kept, then keep it.

        Parameters
        ----------
        checkpoint
            The coordinator's latest signed tree head.
        proof
            Consistency proof from the last kept head's size to ``checkpoint.size``.

        Raises
        ------
        VerificationError
            If the head is not signed by the pinned coordinator key or rolls the log back.
        ChainBroken
            If the head is not consistent with the last one kept (a fork or rewrite).
        """
        self.check(checkpoint, proof)
        self.keep(checkpoint)

    def check(self, checkpoint: Checkpoint, proof: Sequence[bytes]) -> Checkpoint | None:
        """Check a served head as :meth:`observe` does without keeping it; return the last head.

        Costs one signature check and O(log n) hashes.
        """
        if checkpoint.key_id != self.coordinator_key_id:
            raise VerificationError(
                f"tree head signed by unexpected key {checkpoint.key_id[:16]}..."
            )
        checkpoint.verify(self.coordinator_key)
        last = self.latest()
        if last is not None:
            if checkpoint.size < last.size:
                raise VerificationError(
                    f"tree head size {checkpoint.size} is smaller than witnessed size {last.size}"
                )
            verify_consistency(
                old_size=last.size, new_size=checkpoint.size, proof=proof,
                old_root=last.root, new_root=checkpoint.root,
            )  # fmt: skip
        return last

    def keep(self, checkpoint: Checkpoint) -> None:
        """Keep a head checked by :meth:`check` (a head of the same size is not repeated)."""
        last = self.latest()
        if last is not None and last.size == checkpoint.size:
            return
        self._append(checkpoint)
        logger.info("witnessed tree head at size %d", checkpoint.size)

    def _append(self, checkpoint: Checkpoint) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"checkpoint": checkpoint.to_text()}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def _matches_pin(key_id: str, pin: str) -> bool:
    pin = pin.strip().lower()
    if len(pin) < MIN_PIN_HEX or any(c not in "0123456789abcdef" for c in pin):
        raise VerificationError(
            f"pinned coordinator key id must be at least {MIN_PIN_HEX} hex digits"
        )
    return key_id.startswith(pin)


def pinned_witness(state: Path, *, served_key: bytes, pin: str | None = None) -> Witness:
    """Open the witness in a member's state folder, pinned to the coordinator's key.

    On the first check the member passes ``pin`` (the key id the coordinator printed at
    ``coordinator init``, or 16+ of its first hex digits); the served key must match it and is
    kept in ``state/coordinator.pub``. Later checks use the kept key: a service that serves
    another key, or a ``pin`` naming another key, is refused.

    Raises
    ------
    VerificationError
        If there is no pin on the first check, or a key does not match the pin or the kept key.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from consortium.ledger.signing import Signer
    >>> c, state = Signer.generate(), pathlib.Path(tempfile.mkdtemp())
    >>> w = pinned_witness(state, served_key=c.public_key, pin=c.key_id[:16])
    >>> w.coordinator_key_id == c.key_id
    True
    >>> pinned_witness(state, served_key=c.public_key).coordinator_key == c.public_key
    True
    """
    kept_path = state / PINNED_KEY_FILE
    served_id = key_id_for(served_key)
    if kept_path.exists():
        try:
            kept = bytes.fromhex(kept_path.read_text(encoding="ascii").strip())
        except ValueError as exc:
            raise VerificationError(f"{kept_path}: not a hex public key") from exc
        if len(kept) != PUBLIC_KEY_BYTES:
            raise VerificationError(f"{kept_path}: not a {PUBLIC_KEY_BYTES}-byte public key")
        kept_id = key_id_for(kept)
        if pin is not None and not _matches_pin(kept_id, pin):
            raise VerificationError(
                f"--pin {pin[:16]}... differs from the coordinator key {kept_id[:16]}... kept in "
                f"{kept_path}; a member's pin never changes silently"
            )
        if served_id != kept_id:
            raise VerificationError(
                f"the service serves coordinator key {served_id[:16]}..., not the pinned key "
                f"{kept_id[:16]}..."
            )
        return Witness(state / WITNESS_FILE, coordinator_key=kept)
    if pin is None:
        raise VerificationError(
            f"no coordinator key pinned in {state}: pass --pin with the key id the coordinator "
            "printed (its first 16+ hex digits) on the first check"
        )
    if not _matches_pin(served_id, pin):
        raise VerificationError(
            f"the service serves coordinator key {served_id[:16]}..., not the pinned "
            f"{pin[:16]}... (a service under another key)"
        )
    state.mkdir(parents=True, exist_ok=True)
    fd = os.open(kept_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(served_key.hex() + "\n")
    return Witness(state / WITNESS_FILE, coordinator_key=served_key)


def read_witnessed(path: Path) -> list[Checkpoint]:
    """Read the heads kept in a witness file without pinning a key (for ``ledger verify``)."""
    if not path.exists():
        raise VerificationError(f"witness file {path} does not exist")
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        return [Checkpoint.from_text(json.loads(line)["checkpoint"]) for line in lines if line]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise VerificationError(f"witness file {path} is malformed: {exc}") from exc
