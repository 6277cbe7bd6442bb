"""The model step of ``consortium demo``: members train locally under DP and compare to baselines.

Kept apart from :mod:`consortium.cli.demo` so the heavy torch import happens only when this step
runs. It drives the same commands a member types (``consortium train`` and ``consortium
evaluate``), each member with its own state folder, so its ε spent persists as it would at home.
"""

from __future__ import annotations

from pathlib import Path

import typer

from consortium.cli import models as models_cli
from consortium.synth import ConsortiumSummary

#: (member, model) pairs the demo trains: a carrier's ETA model and a warehouse's stock model.
DEMO_TRAINING = (("meridian-line", "eta"), ("duisburg-dc", "stock"))


def train_and_evaluate(summary: ConsortiumSummary, *, out: Path, epsilon: float, seed: int) -> None:
    """Train each demo model under ``epsilon`` and print its evaluation against the baselines."""
    for member_id, kind in DEMO_TRAINING:
        member = summary.member(member_id)
        model_dir = out / "models" / f"{member_id}-{kind}"
        home = out / "member-state" / member_id
        typer.secho(f"\n  {member_id}: {kind} model, local data only", bold=True)
        models_cli.train(
            model=models_cli.ModelKindOption(kind),
            data=[summary.out_dir / member.file],
            epsilon=epsilon,
            out=model_dir,
            home=home,
            seed=seed,
        )
        models_cli.evaluate(model_dir, summary.out_dir / member.file, home=home, seed=seed)
