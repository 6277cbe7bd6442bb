"""Read-only projections of the coordinator's stores for the dashboard, notebooks and reports.

Every function takes a ``session`` (or a folder of model directories), reads, and returns frozen
dataclasses or pandas DataFrames, never ORM objects; nothing here writes or commits. The edge
frames the transaction (``with factory.begin() as session:``) and renders the values.

Modules: :mod:`~consortium.queries.ledger` (size, tree head, verification, recent entries),
:mod:`~consortium.queries.points` (supply and balances), :mod:`~consortium.queries.policy`
(policy in force and its history), :mod:`~consortium.queries.members` (the roster),
:mod:`~consortium.queries.governance` (proposals, tallies, voting power at the snapshot),
:mod:`~consortium.queries.paid` (paid queries and their splits), :mod:`~consortium.queries.rounds`
(federated rounds and ε spent from the ledger), :mod:`~consortium.queries.models` (model cards)
:mod:`~consortium.queries.lanes` (a lane forecast preview, the lane catalogue and "did you mean"),
:mod:`~consortium.queries.warehouses` (which warehouses would answer, stock-out reliability) and
:mod:`~consortium.queries.value` (the value of joining that ``consortium value`` wrote).
"""
