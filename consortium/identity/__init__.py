"""Identities: Ed25519 key files, the key/role registry, erasable member details.

The registry changes only through ledger entries; member details stay off-ledger behind a
salted commitment.
"""
