"""How a federated round's contributions are recorded and paid: the coordinator's recorder.

It sits above the rooms it combines (points, membership, policy, the ledger): after every round
it writes the round's ledger entry and mints the contribution points the board's rule awards,
in one transaction (:mod:`consortium.contributions.recording`).
"""
