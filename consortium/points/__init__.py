"""Points: a service credit earned by contributing and bought by cargo owners, never traded.

Points move only through the kit's operations: :func:`~consortium.points.store.mint` for
contributions under the board's rule, :func:`~consortium.points.store.deposit` and
:func:`~consortium.points.store.redeem` against off-ledger payments (treasurer keys), and
:func:`~consortium.points.store.settle` for paid queries, all through the one posting path
(:func:`consortium.points.posting.post`). There is no free transfer between accounts.

* pure rules, re-exported by ``rules``: ``accounts`` (accounts, amounts), ``awards`` (the
  contribution rules), ``revenue`` (the exact revenue split), ``replay`` (balances and
  contributions rebuilt from ledger entries); ``valuation`` (leave-one-out quality scores);
* the SQLAlchemy adapter, re-exported by ``store``: ``models``, ``posting``, ``books`` (reads),
  ``minting``, ``payments``, ``settlement``;
* ``rounds``: the round index (round entries found by model version). The coordinator's recorder
  (:class:`~consortium.contributions.recording.LedgerRecorder`) lives one room up.
"""
