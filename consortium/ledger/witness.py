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
from consortium.ledger.signing import key_id_for

logger = logging.getLogger(__name__)


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
            if last.size == checkpoint.size:
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


def read_witnessed(path: Path) -> list[Checkpoint]:
    """Read the heads kept in a witness file without pinning a key (for ``ledger verify``)."""
    if not path.exists():
        raise VerificationError(f"witness file {path} does not exist")
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        return [Checkpoint.from_text(json.loads(line)["checkpoint"]) for line in lines if line]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise VerificationError(f"witness file {path} is malformed: {exc}") from exc
