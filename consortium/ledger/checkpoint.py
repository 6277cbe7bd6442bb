"""Signed tree heads (checkpoints) in a signed-note text form, like sigstore's checkpoint.

Text form (the body is what the coordinator signs)::

    logistics-consortium-ledger
    42
    <base64 root>
    time 2026-01-01T00:00:00.000000Z

    — <key id> <base64 signature>
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime

from consortium.errors import VerificationError
from consortium.ledger.canonical import EncodingError, format_time, parse_time
from consortium.ledger.merkle import HASH_BYTES
from consortium.ledger.signing import Signer, key_id_for, verify_signature

DEFAULT_ORIGIN = "logistics-consortium-ledger"
_ORIGIN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")
_SIG_PREFIX = "\u2014 "


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: ``size`` leaves with ``root``, published at ``time`` by ``key_id``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from consortium.ledger.merkle import EMPTY_ROOT
    >>> s = Signer.generate()
    >>> cp = Checkpoint.sign(size=0, root=EMPTY_ROOT, moment=datetime(2026, 1, 1, tzinfo=UTC),
    ...                      signer=s)
    >>> Checkpoint.from_text(cp.to_text()) == cp
    True
    >>> cp.verify(s.public_key)
    """

    origin: str
    size: int
    root: bytes
    time: str
    key_id: str
    signature: bytes

    def body(self) -> bytes:
        """Return the signed part of the note."""
        root = base64.b64encode(self.root).decode("ascii")
        return f"{self.origin}\n{self.size}\n{root}\ntime {self.time}\n".encode()

    def to_text(self) -> str:
        """Return the signed note: body, blank line, signature line."""
        sig = base64.b64encode(self.signature).decode("ascii")
        return f"{self.body().decode()}\n{_SIG_PREFIX}{self.key_id} {sig}\n"

    @classmethod
    def sign(
        cls,
        *,
        size: int,
        root: bytes,
        moment: datetime,
        signer: Signer,
        origin: str = DEFAULT_ORIGIN,
    ) -> Checkpoint:
        """Create and sign a checkpoint."""
        unsigned = cls(origin, size, root, format_time(moment), signer.key_id, b"")
        unsigned._check()
        return cls(origin, size, root, unsigned.time, signer.key_id, signer.sign(unsigned.body()))

    def verify(self, public_key: bytes) -> None:
        """Check the signature with the coordinator's raw public key.

        Raises
        ------
        VerificationError
            If the head names another key or the signature does not verify.
        """
        if key_id_for(public_key) != self.key_id:
            raise VerificationError(
                f"tree head at size {self.size}: names key {self.key_id[:16]}..., "
                f"not the verifying key {key_id_for(public_key)[:16]}..."
            )
        try:
            verify_signature(public_key, self.signature, self.body())
        except VerificationError as exc:
            raise VerificationError(
                f"tree head at size {self.size}: signature by {self.key_id[:16]}... does not verify"
            ) from exc

    def _check(self) -> None:
        if not _ORIGIN_RE.match(self.origin):
            raise VerificationError(f"checkpoint origin {self.origin!r} is not a token")
        if self.size < 0:
            raise VerificationError(f"checkpoint size {self.size} is negative")
        if len(self.root) != HASH_BYTES:
            raise VerificationError(f"checkpoint root is {len(self.root)} bytes, not {HASH_BYTES}")

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        """Parse :meth:`to_text` output; raise :class:`VerificationError` naming the bad field."""
        body, sep, sig_part = text.partition("\n\n")
        if not sep:
            raise VerificationError("checkpoint: missing blank line before the signature")
        lines = body.split("\n")
        if len(lines) != 4:
            raise VerificationError(f"checkpoint: body has {len(lines)} lines, expected 4")
        origin, size_text, root_text, time_line = lines
        if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
            raise VerificationError(f"checkpoint: size {size_text!r} is not a decimal integer")
        try:
            root = base64.b64decode(root_text, validate=True)
        except binascii.Error as exc:
            raise VerificationError(f"checkpoint: root {root_text!r} is not base64") from exc
        if base64.b64encode(root).decode("ascii") != root_text:
            raise VerificationError("checkpoint: root is not canonical base64")
        if not time_line.startswith("time "):
            raise VerificationError("checkpoint: fourth line must be 'time <UTC timestamp>'")
        time = time_line[5:]
        try:
            parse_time(time)
        except EncodingError as exc:
            raise VerificationError(f"checkpoint: {exc}") from exc
        sig_lines = sig_part.rstrip("\n").split("\n")
        if len(sig_lines) != 1 or not sig_lines[0].startswith(_SIG_PREFIX):
            raise VerificationError("checkpoint: expected exactly one signature line")
        parts = sig_lines[0][len(_SIG_PREFIX) :].split(" ")
        if len(parts) != 2:
            raise VerificationError("checkpoint: signature line must be '— <key id> <signature>'")
        try:
            signature = base64.b64decode(parts[1], validate=True)
        except binascii.Error as exc:
            raise VerificationError("checkpoint: signature is not base64") from exc
        if base64.b64encode(signature).decode("ascii") != parts[1]:
            raise VerificationError("checkpoint: signature is not canonical base64")
        cp = cls(origin, int(size_text), root, time, parts[0], signature)
        cp._check()
        return cp
