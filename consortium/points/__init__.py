"""Points: a service credit earned by contributing and bought by cargo owners, never traded.

Points move only through the kit's operations: :func:`~consortium.points.store.mint` for
contributions under the board's rule, :func:`~consortium.points.store.deposit` and
:func:`~consortium.points.store.redeem` against off-ledger payments (treasurer keys), and
:func:`~consortium.points.store.settle` for paid queries. There is no free transfer between
accounts. ``rules`` is pure (accounts, amounts, the contribution rule, the exact revenue split,
replay from the ledger); ``models`` and ``store`` are the SQLAlchemy adapter.
"""
