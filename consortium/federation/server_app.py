"""The coordinator's Flower ``ServerApp``: statistics, DP-FedAvg rounds, calibration, evaluation.

One run trains one model family (``eta`` or ``stock``) across every member node, in four stages
(:mod:`consortium.federation.coordinator`):

1. **Statistics** -- a SecAgg+ secure sum of the members' scaling statistics (and, for ETA, their
   lane sums for the paid-query catalog); the coordinator sees only consortium-wide sums.
2. **Rounds** -- DP-FedAvg under SecAgg+, each member under its own budget; every completed round
   is checkpointed and, with a recorder, written to the ledger with its contribution points.
   Rounds are *scored* (leave-one-out contribution values) when the board's contribution rule is
   ``leave-one-out`` or ``score-contributions`` is true.
3. **Calibration** -- a secure sum of CQR score histograms and Platt coefficients.
4. **Evaluation** -- each member scores the calibrated global model on its own test rows and
   reports metrics only.

The run config (``[tool.flwr.app.config]``) is read once into a
:class:`~consortium.federation.instructions.RunConfig`, whose fields and defaults are the list of
keys. The result is a model directory (``<out-dir>/model``).
"""

from __future__ import annotations

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from consortium.federation.coordinator.run import run_federation
from consortium.federation.coordinator.session import Session
from consortium.federation.instructions import RunConfig
from consortium.rounds import OnEvent, RoundRecorder

__all__ = ["app", "make_server_app"]


def make_server_app(
    *, on_event: OnEvent | None = None, recorder: RoundRecorder | None = None
) -> ServerApp:
    """Return the coordinator's ``ServerApp``.

    Parameters
    ----------
    on_event
        Receives a :class:`~consortium.rounds.FederationEvent` after every stage (progress).
    recorder
        Records rounds in the ledger and supplies the board's policy; ``None`` keeps the
        results in the output folder only.
    """
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        run = RunConfig.from_config(dict(context.run_config))
        run_federation(Session.open(grid, context, run, recorder=recorder, on_event=on_event))

    return app


app = make_server_app()
"""The coordinator's app (``[tool.flwr.app.components] serverapp``)."""
