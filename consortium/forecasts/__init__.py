"""Paid forecast queries: cargo owners buy lane and warehouse forecasts with points.

``catalog`` (lane totals learnt by secure sum), ``pooled`` (model versions and caches),
``lane`` (answers from the pooled ETA model), ``warehouse`` (answers computed by the warehouse's
own node), ``messages`` (signed query messages), ``store`` (answered queries, replay refusal),
``service`` (price, answer, split, settle and record in one transaction) and ``splits``
(recompute a split from the ledger alone).
"""
