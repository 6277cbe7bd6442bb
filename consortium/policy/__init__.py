"""Board-set live parameters: fees, revenue split, privacy caps, contribution rule, governance.

``model`` is pure (the frozen :class:`~consortium.policy.model.ConsortiumPolicy`, its validation
and replay from ledger entries); ``store`` persists one version per change, each recorded by a
``policy-changed`` ledger entry. The next round or query reads
:func:`~consortium.policy.store.current_policy`.
"""
