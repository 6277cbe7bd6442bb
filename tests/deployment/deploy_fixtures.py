"""Helpers of the deployment-runtime tests (test_supervisor, test_nodes, test_egress)."""

from __future__ import annotations

from pathlib import Path

from consortium.synth import generate_consortium

TOY_APP = Path(__file__).parent / "deploy_app"


def make_consortium(out: Path) -> Path:
    """A tiny synthetic consortium (seed 7, scale 0.01): four carriers, three warehouses."""
    generate_consortium(out, seed=7, scale=0.01)
    return out
