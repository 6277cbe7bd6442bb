"""One federation run on the coordinator: the stages in order, each in its own module."""

from __future__ import annotations

import logging

import numpy as np
import torch

from consortium.federation.checkpoints import Checkpoints
from consortium.federation.coordinator.finishing import calibrate, evaluate
from consortium.federation.coordinator.outputs import resume_from, save_checkpoint, write_model
from consortium.federation.coordinator.rounds import train_round
from consortium.federation.coordinator.session import Session
from consortium.federation.coordinator.statistics import gather_statistics
from consortium.federation.records import specs_of, state_dict_to_ndarrays
from consortium.rounds import FederationEvent, RoundReport

__all__ = ["run_federation"]

logger = logging.getLogger(__name__)


def run_federation(session: Session) -> None:
    """Run statistics, rounds, calibration and evaluation; write the model directory."""
    run, fam = session.run, session.family
    n = session.members()
    logger.info("federation of %d members: %s, %d rounds", n, run.model, run.rounds)
    checkpoints = Checkpoints(run.out_dir / "checkpoints")
    latest = checkpoints.latest() if run.resume else None
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
        logger.info("resuming after round %d", first - 1)
    model = fam.build(stats, run.settings)
    template = fam.build(stats, run.settings)
    expected = specs_of(model.network.state_dict())
    for rnd in range(first, run.rounds + 1):
        result = train_round(
            session, rnd, arrays=arrays, expected=expected, stats=stats, template=template
        )
        reports.append(result.report)
        if result.report.status != "failed":
            arrays = result.arrays
            save_checkpoint(
                checkpoints, run, rnd, arrays, stats=stats, catalog=catalog, reports=reports
            )
        if session.recorder is not None:
            session.recorder.record_round(result.report)
        session.on_event(FederationEvent("round", rnd, run.rounds, result.report))
    model.network.load_state_dict(
        {k: torch.from_numpy(np.asarray(a).copy()) for k, a in zip(expected, arrays, strict=True)}
    )
    calibrate(session, model, arrays, stats)
    metrics = evaluate(session, model, arrays, stats)
    write_model(run, model, arrays, catalog=catalog, metrics=metrics, reports=reports, n_members=n)
