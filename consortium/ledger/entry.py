"""A ledger entry: header, canonical payload, actor and signature, and its Merkle leaf."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from consortium.errors import VerificationError
from consortium.ledger.canonical import (
    canonical_payload,
    check_header,
    format_time,
    parse_time,
    signing_bytes,
)
from consortium.ledger.merkle import hash_leaf
from consortium.ledger.signing import SIGNATURE_BYTES, Signer


@dataclass(frozen=True)
class Entry:
    """One signed, append-only ledger entry.

    Attributes
    ----------
    seq : int
        0-based position in the log (the Merkle leaf index).
    time : str
        Canonical UTC ISO 8601 time (``2026-01-01T00:00:00.000000Z``); see :attr:`timestamp`.
    kind : str
        Lower-case kebab token such as ``key-registered`` (see
        :class:`~consortium.ledger.kinds.EntryKind`).
    payload : bytes
        RFC 8785 canonical JSON of the payload object (ids, numbers and hashes only).
    actor : str
        Key id of the signer.
    signature : bytes
        Ed25519 signature over :meth:`signing_bytes`.
    """

    seq: int
    time: str
    kind: str
    payload: bytes
    actor: str
    signature: bytes

    @property
    def timestamp(self) -> datetime:
        """The entry time as a tz-aware UTC datetime."""
        return parse_time(self.time)

    def payload_object(self) -> dict[str, object]:
        """Decode the payload."""
        return cast(dict[str, object], json.loads(self.payload))

    def signing_bytes(self) -> bytes:
        """Return the bytes the signature covers: RFC 8785 of (seq, time, kind, payload, actor)."""
        return signing_bytes(
            seq=self.seq, time=self.time, kind=self.kind, payload=self.payload, actor=self.actor
        )

    def leaf_data(self) -> bytes:
        """Return the Merkle leaf data: the signed bytes followed by the 64-byte signature."""
        return self.signing_bytes() + self.signature

    def leaf_hash(self) -> bytes:
        """RFC 6962 leaf hash ``SHA-256(0x00 || leaf_data)``."""
        return hash_leaf(self.leaf_data())

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready form (signature in base64, payload as its canonical text)."""
        return {
            "seq": self.seq,
            "time": self.time,
            "kind": self.kind,
            "payload": self.payload.decode("utf-8"),
            "actor": self.actor,
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Entry:
        """Inverse of :meth:`to_json`; raises :class:`VerificationError` on malformed fields."""
        try:
            seq, time, kind = data["seq"], data["time"], data["kind"]
            payload, actor, sig = data["payload"], data["actor"], data["signature"]
            if not isinstance(payload, str) or not isinstance(sig, str):
                raise TypeError("payload and signature must be strings")
            if base64.b64encode(base64.b64decode(sig, validate=True)).decode("ascii") != sig:
                raise ValueError("signature is not canonical base64")
            entry = cls(
                seq=cast(int, seq),
                time=cast(str, time),
                kind=cast(str, kind),
                payload=payload.encode("utf-8"),
                actor=cast(str, actor),
                signature=base64.b64decode(sig, validate=True),
            )
        except (KeyError, TypeError, ValueError) as exc:
            index = data.get("seq") if isinstance(data.get("seq"), int) else None
            raise VerificationError(
                f"malformed entry: {exc}", index=cast(int | None, index)
            ) from exc
        return entry


def sign_entry(
    *, seq: int, moment: datetime, kind: str, payload: Mapping[str, object], signer: Signer
) -> Entry:
    """Build and sign an entry (no payload policy here; the store applies it).

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> e = sign_entry(seq=0, moment=datetime(2026, 1, 1, tzinfo=UTC), kind="demo",
    ...                payload={"n": 1}, signer=Signer.generate())
    >>> e.payload, len(e.signature)
    (b'{"n":1}', 64)
    """
    time = format_time(moment)
    kind = str(kind)  # an EntryKind member is stored as its plain token
    body = canonical_payload(payload)
    check_header(seq=seq, time=time, kind=kind, actor=signer.key_id)
    data = signing_bytes(seq=seq, time=time, kind=kind, payload=body, actor=signer.key_id)
    signature = signer.sign(data)
    if len(signature) != SIGNATURE_BYTES:  # pragma: no cover - Ed25519 always gives 64 bytes
        raise VerificationError("signature has the wrong length", index=seq)
    return Entry(seq, time, kind, body, signer.key_id, signature)
