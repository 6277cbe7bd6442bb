"""Federation adapter: the only package that imports ``flwr``.

Modules
-------
records
    torch ``state_dict`` <-> Flower ``ArrayRecord`` / NumPy lists, with validation.
local_grid
    The one-machine runner: a real ``ServerApp`` and ``ClientApp`` driven in one process
    through Flower's ``Grid`` interface.
secagg
    The secure path (SecAgg+ on Flower's legacy ``DefaultWorkflow``): share/threshold rule,
    DP-derived clipping range, member-side update guard, ``run_fedavg_round``.
screening
    The ``Grid`` wrapper that rejects malformed masked vectors and notes who dropped where.
strategy
    ``DeltaFedAvg``: FedAvg over updates on the legacy ``Strategy`` API.
exceptions
    ``UpdateRejected`` and ``RoundFailed`` (to move into ``consortium/errors.py``).
toy
    A tiny torch federation used by this package's tests and benchmarks.
"""
