"""The acting person's key: every client action is signed with it, on the person's machine.

Examples
--------
>>> signer = Signer.generate()
>>> len(signer.key_id)
64
"""

from __future__ import annotations

from pathlib import Path

from consortium.identity.keys import KeyFileError, load_signer
from consortium.ledger.signing import Signer

__all__ = ["KeyFileError", "Signer", "load_key"]


def load_key(path: Path | str, *, passphrase: str | bytes | None = None) -> Signer:
    """Load a private key file (``consortium keys``), decrypting it with ``passphrase``.

    An empty passphrase counts as none.

    Raises
    ------
    KeyFileError
        If the file is missing, readable by others, not an Ed25519 key, or the passphrase is
        missing or wrong.

    Examples
    --------
    >>> try:
    ...     load_key("absent.key", passphrase="")
    ... except KeyFileError as exc:
    ...     print(exc)
    absent.key: cannot read key file: No such file or directory
    """
    secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
    return load_signer(Path(path).expanduser(), passphrase=secret or None)
