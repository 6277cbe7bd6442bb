"""The member's side of a federation, one module per task (the ClientApp dispatches to them).

node
    The member's own node config (:class:`MemberNode`) and its rows, loaded through the contract.
sums
    ``stats`` and ``calibrate``: the member's contributions to the secure sums.
training
    ``train``: local DP training of the global model; the update that enters SecAgg+.
evaluation
    ``evaluate`` and ``score``: metrics of the global model on the member's own rows, and the
    one projection a scored round asks for.
"""
