"""Ed25519 signing and verification, and the key id every actor is known by.

A key id is the full lowercase hex SHA-256 of the 32-byte raw public key (64 characters): not
truncated, so ids never collide and anyone can recompute one from the key alone.
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from consortium.errors import VerificationError

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def key_id_for(public_key: bytes) -> str:
    """Return the key id (hex SHA-256) of a raw 32-byte Ed25519 public key.

    Examples
    --------
    >>> key_id_for(bytes(32))[:16]
    '66687aadf862bd77'
    """
    if len(public_key) != PUBLIC_KEY_BYTES:
        raise VerificationError(
            f"public key must be {PUBLIC_KEY_BYTES} bytes, got {len(public_key)}"
        )
    return hashlib.sha256(public_key).hexdigest()


class Signer:
    """An Ed25519 private key with its key id; the only object that can sign ledger data.

    Examples
    --------
    >>> signer = Signer.generate()
    >>> verify_signature(signer.public_key, signer.sign(b"x"), b"x")
    """

    __slots__ = ("_private", "public_key", "key_id")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self.public_key: bytes = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id: str = key_id_for(self.public_key)

    @classmethod
    def generate(cls) -> Signer:
        """Return a signer over a fresh random key."""
        return cls(Ed25519PrivateKey.generate())

    @property
    def private_key(self) -> Ed25519PrivateKey:
        """The wrapped private key (for writing it to its key file)."""
        return self._private

    def sign(self, data: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``data``."""
        return self._private.sign(data)

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id[:16]}...)"


def verify_signature(public_key: bytes, signature: bytes, data: bytes) -> None:
    """Check an Ed25519 signature.

    Raises
    ------
    VerificationError
        If the key is malformed or the signature does not verify.
    """
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except (InvalidSignature, ValueError) as exc:
        raise VerificationError("signature does not verify") from exc


def is_valid_signature(public_key: bytes, signature: bytes, data: bytes) -> bool:
    """Return whether the signature verifies (the fast path for bulk verification)."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True
