"""One federation run on the coordinator: the stages in order, each in its own module."""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace

import numpy as np
import torch

from consortium.errors import ConfigError
from consortium.federation.checkpoints import Checkpoint, Checkpoints
from consortium.federation.coordinator.finishing import calibrate, evaluate
from consortium.federation.coordinator.outputs import (
    optimizer_state,
    resume_from,
    save_checkpoint,
    write_model,
)
from consortium.federation.coordinator.rounds import train_round
from consortium.federation.coordinator.server_optimizer import ServerOptimizer
from consortium.federation.coordinator.session import Session
from consortium.federation.coordinator.statistics import gather_statistics
from consortium.federation.instructions import RunConfig
from consortium.federation.records import specs_of, state_dict_to_ndarrays
from consortium.rounds import FederationEvent, RoundReport

__all__ = ["run_federation", "run_id_of"]

logger = logging.getLogger(__name__)


def run_federation(session: Session) -> None:
    """Run statistics, rounds, calibration and evaluation; write the model directory.

    Every round is keyed by the run id (:func:`run_id_of`). A resumed run first hands every
    round its checkpoints hold to the recorder, which writes the ones a crash between checkpoint
    and ledger left out (recording is idempotent per run and round), so each completed round is
    recorded and minted exactly once.
    """
    checkpoints = Checkpoints(session.run.out_dir / "checkpoints")
    latest = checkpoints.latest() if session.run.resume else None
    session.run = replace(session.run, run_id=run_id_of(session.run, latest))
    run, fam = session.run, session.family
    n = session.members()
    logger.info(
        "federation of %d members: %s, %d rounds, run %s", n, run.model, run.rounds, run.run_id
    )
    reports: list[RoundReport] = []
    if latest is None:
        stats, catalog = gather_statistics(session)
        torch.manual_seed(run.seed)
        first_model = fam.build(stats, run.settings)
        arrays = state_dict_to_ndarrays(first_model.network.state_dict())
        save_checkpoint(checkpoints, run, 0, arrays, stats=stats, catalog=catalog, reports=[])
        first = 1
    else:
        stats, catalog, reports, arrays, first = resume_from(run, latest)
        logger.info("resuming run %s after round %d", run.run_id, first - 1)
        if session.recorder is not None:  # a crash may have come between checkpoint and ledger
            for done in reports:
                session.recorder.record_round(replace(done, run_id=run.run_id))
    model = fam.build(stats, run.settings)
    template = fam.build(stats, run.settings)
    expected = specs_of(model.network.state_dict())
    optimizer = ServerOptimizer.load(run.server, optimizer_state(checkpoints, first - 1))
    for rnd in range(first, run.rounds + 1):
        result = train_round(
            session, rnd, arrays=arrays, expected=expected, stats=stats, template=template,
            optimizer=optimizer,
        )  # fmt: skip
        report = replace(result.report, run_id=run.run_id)
        reports.append(report)
        if report.status != "failed":
            arrays = result.arrays
            optimizer.save(optimizer_state(checkpoints, rnd))  # before the round's checkpoint
            save_checkpoint(
                checkpoints, run, rnd, arrays, stats=stats, catalog=catalog, reports=reports
            )
        if session.recorder is not None:
            session.recorder.record_round(report)
        session.on_event(FederationEvent("round", rnd, run.rounds, report))
    model.network.load_state_dict(
        {k: torch.from_numpy(np.asarray(a).copy()) for k, a in zip(expected, arrays, strict=True)}
    )
    calibrate(session, model, arrays, stats)
    metrics = evaluate(session, model, arrays, stats)
    write_model(run, model, arrays, catalog=catalog, metrics=metrics, reports=reports, n_members=n)


def run_id_of(run: RunConfig, latest: Checkpoint | None) -> str:
    """Return the id of this run: the checkpoints' when resuming, else the given or a fresh one.

    Raises
    ------
    ConfigError
        ``run-id``: resuming checkpoints of another run than the one named.

    Examples
    --------
    >>> len(run_id_of(RunConfig(), None)), run_id_of(RunConfig(run_id="nightly-7"), None)
    (32, 'nightly-7')
    """
    if latest is None:
        return run.run_id or uuid.uuid4().hex
    stored = str(latest.meta.get("run_id", ""))  # "": checkpoints written before run ids
    if run.run_id and run.run_id != stored:
        raise ConfigError(
            "run-id",
            f"the checkpoints in {run.out_dir} belong to run {stored!r}, not {run.run_id!r}",
        )
    return stored
