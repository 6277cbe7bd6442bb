"""Ed25519 key files made in the join workflow; the private key never leaves its owner.

The private key is written as PEM PKCS#8 with mode 0600 (created exclusively, never
overwritten), encrypted with :class:`~cryptography.hazmat.primitives.serialization.
BestAvailableEncryption` when a passphrase is given. The public key goes next to it as
``<name>.pub`` (hex of the raw 32 bytes), which is what the registry needs.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consortium.errors import ConsortiumError
from consortium.ledger.signing import PUBLIC_KEY_BYTES, Signer

logger = logging.getLogger(__name__)


class KeyFileError(ConsortiumError, ValueError):
    """A key file is missing, unreadable, too permissive, or the passphrase is wrong."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def public_key_path(path: Path) -> Path:
    """Where the public key of the private key file ``path`` lives."""
    return path.with_name(path.name + ".pub")


def generate_key_file(path: Path, *, passphrase: bytes | None = None) -> Signer:
    """Create a new key pair, write it to ``path`` (0600) and ``path.pub``; return its signer.

    Parameters
    ----------
    path
        Private key file to create; it must not exist.
    passphrase
        Encrypt the key with it (recommended); ``None`` writes it unencrypted.

    Raises
    ------
    KeyFileError
        If the file exists or cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "member.key"
    >>> s = generate_key_file(p, passphrase=b"correct horse")
    >>> oct(p.stat().st_mode & 0o777)
    '0o600'
    >>> load_signer(p, passphrase=b"correct horse").key_id == s.key_id
    True
    """
    signer = Signer(Ed25519PrivateKey.generate())
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = signer.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise KeyFileError(path, "already exists; refusing to overwrite a key") from exc
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(path, 0o600)  # the umask cannot widen it, but be explicit
    public_key_path(path).write_text(signer.public_key.hex() + "\n", encoding="ascii")
    logger.info("new key %s written to %s", signer.key_id[:16], path)
    return signer


def load_signer(path: Path, *, passphrase: bytes | None = None) -> Signer:
    """Load a private key file written by :func:`generate_key_file`.

    Raises
    ------
    KeyFileError
        If the file is missing, readable by group or others, not an Ed25519 key, or the
        passphrase is missing or wrong.
    """
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(path, f"cannot read key file: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(path, f"permissions {oct(mode & 0o777)} are too open; use 0600")
    try:
        key = serialization.load_pem_private_key(data, password=passphrase or None)
    except TypeError as exc:
        raise KeyFileError(path, "key is encrypted: a passphrase is required") from exc
    except ValueError as exc:
        raise KeyFileError(path, "wrong passphrase or not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(path, "not an Ed25519 key")
    return Signer(key)


def load_public_key(path: Path) -> bytes:
    """Read a ``.pub`` file (hex of the raw public key)."""
    try:
        raw = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError) as exc:
        raise KeyFileError(path, f"not a public key file: {exc}") from exc
    if len(raw) != PUBLIC_KEY_BYTES:
        raise KeyFileError(path, f"public key must be {PUBLIC_KEY_BYTES} bytes")
    return raw
