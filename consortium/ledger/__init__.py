"""The tamper-evident ledger: canonical entries, RFC 6962 Merkle tree, proofs, signed tree heads.

The core modules (``canonical``, ``entry``, ``kinds``, ``signing``, ``merkle``, ``proof``,
``checkpoint``, ``keyring``, ``payload``, ``requests``, ``verify``, ``witness``,
``witness_check``, ``witness_receipts``, ``export``) use the standard library, ``cryptography``
and ``rfc8785`` only. ``kinds`` names every entry kind the kit writes
(:class:`~consortium.ledger.kinds.EntryKind`). ``models``, ``store`` and ``witness_sources`` (a
member's head source over the stores, and the service's tree cache) are the SQLAlchemy adapter.
"""
