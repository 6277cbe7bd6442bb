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

With ``ledger-db`` and ``coordinator-key`` in the run config the app opens the coordinator's
stores itself (:func:`recorder_of`): on the deployment runtime, where it runs beside the
SuperLink on the coordinator's machine, exactly as on the one-machine runner. It then records
every round and mints its points, caps ε per round at the board's policy and lets only the
roster's active members take part (nodes are known by the member id the coordinator registered
their SuperNode key under, :func:`~consortium.federation.coordinator.session.node_members`).

The run config (``[tool.flwr.app.config]``) is read once into a
:class:`~consortium.federation.instructions.RunConfig`, whose fields and defaults are the list of
keys. The result is a model directory (``<out-dir>/model``).
"""

from __future__ import annotations

from pathlib import Path

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from consortium.contributions.opening import open_recorder
from consortium.errors import ConfigError
from consortium.federation.coordinator.run import run_federation
from consortium.federation.coordinator.session import Session
from consortium.federation.instructions import RunConfig
from consortium.rounds import OnEvent, RoundRecorder

__all__ = ["app", "make_server_app", "recorder_of"]


def make_server_app(
    *, on_event: OnEvent | None = None, recorder: RoundRecorder | None = None
) -> ServerApp:
    """Return the coordinator's ``ServerApp``.

    Parameters
    ----------
    on_event
        Receives a :class:`~consortium.rounds.FederationEvent` after every stage (progress).
    recorder
        An already open recorder (tests over an in-memory database). Otherwise the run
        config's ``ledger-db`` and ``coordinator-key`` name the coordinator's stores, which the
        app opens itself (:func:`recorder_of`) on either runtime; with neither, the results
        stay in the output folder only.
    """
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        run = RunConfig.from_config(dict(context.run_config))
        chosen = recorder_of(run, given=recorder)
        run_federation(Session.open(grid, context, run, recorder=chosen, on_event=on_event))

    return app


def recorder_of(run: RunConfig, *, given: RoundRecorder | None = None) -> RoundRecorder | None:
    """Return the run's recorder: ``given``, or the one over the run config's ``ledger-db``.

    Raises
    ------
    ConfigError
        Both a recorder and a ``ledger-db`` are given, or the stores cannot be opened.
    """
    if not run.ledger_db:
        return given
    if given is not None:
        raise ConfigError("ledger-db", "a recorder is already given; name the database once")
    return open_recorder(db_url=run.ledger_db, key_path=Path(run.coordinator_key))


app = make_server_app()
"""The coordinator's app (``[tool.flwr.app.components] serverapp``)."""
