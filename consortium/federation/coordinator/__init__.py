"""The coordinator's side of a federation, one module per stage (the ServerApp runs them in order).

session
    What every stage shares: the grid (admitted members only), the run config, the family.
statistics
    A secure sum of the members' scaling statistics and catalog sums.
rounds
    One DP-FedAvg round under SecAgg+; the round's report.
server_optimizer
    How the secure sum's averaged update moves the global model (FedAvg, FedAvgM, FedAdam).
scoring
    The leave-one-out scores of a scored round (one projection per member).
finishing
    A secure sum of calibration, then federated evaluation (metrics only).
outputs
    Checkpoints (resume) and the model directory with its card.
run
    :class:`Federation`: the stages in order.
"""
