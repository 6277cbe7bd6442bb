"""A member's receipts: the requests it signed that the coordinator says it wrote, by seq.

When the coordinator service applies a signed request it answers with the entry's seq. The member
keeps ``(seq, nonce)`` in its state folder; :func:`~consortium.ledger.witness_check.witness_once`
checks each one once against the next tree head it witnesses: the entry at that seq must embed
*this* request (its nonce, signed by the member). After that the head's consistency with every
later head keeps the entry where it is, so a receipt is confirmed once and never fetched again.

Examples
--------
>>> import tempfile, pathlib
>>> book = ReceiptBook(pathlib.Path(tempfile.mkdtemp()) / "receipts.jsonl")
>>> book.record(Receipt(seq=7, nonce="ab" * 16, action="vote"))
>>> [r.seq for r in book.pending()]
[7]
>>> book.confirm([7], size=8)
>>> book.pending()
[]
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection
from dataclasses import asdict, dataclass
from pathlib import Path

from consortium.errors import VerificationError

__all__ = ["RECEIPTS_FILE", "Receipt", "ReceiptBook"]

RECEIPTS_FILE = "receipts.jsonl"
"""Name of the receipts file in a member's state folder."""
_NONCE_RE = re.compile(r"^[0-9a-f]{32,64}$")


@dataclass(frozen=True)
class Receipt:
    """The coordinator's answer to one of the member's requests: written at ``seq``.

    ``confirmed_size`` is the size of the witnessed head that first showed the entry (``None``
    while pending).
    """

    seq: int
    nonce: str
    action: str
    confirmed_size: int | None = None

    def __post_init__(self) -> None:
        if self.seq < 0:
            raise VerificationError(f"receipt seq {self.seq} is negative")
        if not _NONCE_RE.match(self.nonce):
            raise VerificationError(f"receipt nonce {self.nonce!r} is not 32-64 hex digits")


class ReceiptBook:
    """The receipts kept in one file (JSON lines, mode 0600), rewritten atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def all(self) -> list[Receipt]:
        """Return every receipt, in the order recorded."""
        if not self.path.exists():
            return []
        receipts = []
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                receipts.append(Receipt(**json.loads(line)))
            except (json.JSONDecodeError, TypeError) as exc:
                raise VerificationError(f"{self.path}: line {number} is malformed: {exc}") from exc
        return receipts

    def pending(self) -> list[Receipt]:
        """Return the receipts no witnessed head has confirmed yet."""
        return [r for r in self.all() if r.confirmed_size is None]

    def record(self, receipt: Receipt) -> None:
        """Keep a new receipt (pending)."""
        self._write([*self.all(), Receipt(receipt.seq, receipt.nonce, receipt.action)])

    def confirm(self, seqs: Collection[int], *, size: int) -> None:
        """Mark the receipts at ``seqs`` confirmed by the witnessed head of ``size`` leaves."""
        if not seqs:
            return
        done = set(seqs)
        self._write(
            [
                Receipt(r.seq, r.nonce, r.action, size)
                if r.seq in done and r.confirmed_size is None
                else r
                for r in self.all()
            ]
        )

    def _write(self, receipts: list[Receipt]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(asdict(r), sort_keys=True) + "\n" for r in receipts)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, self.path)
