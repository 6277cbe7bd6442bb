"""The tamper-evident ledger: canonical entries, RFC 6962 Merkle tree, proofs, signed tree heads.

The core modules (``canonical``, ``entry``, ``kinds``, ``signing``, ``merkle``, ``proof``,
``checkpoint``, ``keyring``, ``payload``, ``verify``, ``witness``, ``export``) use the standard
library, ``cryptography`` and ``rfc8785`` only. ``kinds`` names every entry kind the kit writes
(:class:`~consortium.ledger.kinds.EntryKind`). ``models`` and ``store`` are the SQLAlchemy
adapter.
"""
