"""A tiny torch federation for tests and benchmarks of the federation adapter.

Each member fits ``nn.Linear(4, 1)`` by a few full-batch SGD steps on synthetic numbers
derived from its member id, and returns its update through the legacy ``NumPyClient`` path
that ``secaggplus_mod`` needs. For tests a member can misbehave through its ``node_config``:
``{"corrupt": "shape"}`` returns an update with an extra row, ``{"corrupt": "scale"}`` one far
beyond any clipping range. Its plaintext update stays in its own ``context.state`` (key
``toy.last-update``), which only a test, never the coordinator, reads.

Run-config keys of the toy ServerApp: ``secure`` (bool), ``rounds`` (int), ``clipping-range``,
``max-weight``, ``quantization-range``.

Examples
--------
>>> from consortium.federation.local_grid import run_local
>>> run = run_local(make_toy_server_app(), make_toy_client_app(secure=False),
...                 nodes={"a": {"member-id": "a"}, "b": {"member-id": "b"}},
...                 run_config={"secure": False})
>>> run.context.state.config_records["toy.outcome"]["status"]
'ok'
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, MetricRecord
from flwr.client import Client, NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.clientapp.typing import Mod
from flwr.common import NDArrays, Scalar
from flwr.serverapp import Grid, ServerApp
from torch import nn

from consortium.errors import RoundFailed
from consortium.federation.local_grid import LocalGrid
from consortium.federation.mods import make_update_guard_mod
from consortium.federation.records import ndarrays_to_state_dict, specs_of, state_dict_to_ndarrays
from consortium.federation.run_config import read_run_config
from consortium.federation.secagg import SecAggSettings, run_fedavg_round

__all__ = ["make_toy_client_app", "make_toy_server_app", "toy_model"]

logger = logging.getLogger(__name__)

IN_FEATURES = 4
LEARNING_RATE = 0.05
LOCAL_STEPS = 5


def toy_model() -> nn.Module:
    """Return the toy model with a fixed initialisation."""
    gen = torch.Generator().manual_seed(0)
    model = nn.Linear(IN_FEATURES, 1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    return model


class _ToyClient(NumPyClient):
    def __init__(self, context: Context) -> None:
        self._ctx = context
        self._member = str(context.node_config.get("member-id", context.node_id))
        self._corrupt = str(context.node_config.get("corrupt", ""))

    def fit(
        self, parameters: NDArrays, config: dict[str, Scalar]
    ) -> tuple[NDArrays, int, dict[str, Scalar]]:
        model = toy_model()
        start = ndarrays_to_state_dict(
            parameters, expected=specs_of(model.state_dict()), member="coordinator"
        )
        model.load_state_dict(start)
        x, y = _member_data(self._member)
        opt = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
        for _ in range(LOCAL_STEPS):
            opt.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            opt.step()
        update = [
            new - old
            for new, old in zip(state_dict_to_ndarrays(model.state_dict()), parameters, strict=True)
        ]
        if self._corrupt == "shape":
            update[0] = np.vstack([update[0], update[0]])
        elif self._corrupt == "scale":
            update[0] = np.multiply(update[0], 1e6)
        self._ctx.state["toy.last-update"] = ArrayRecord([np.asarray(u) for u in update])
        self._ctx.state["toy.num-examples"] = MetricRecord({"n": len(y)})
        return update, len(y), {}


def _member_data(member: str) -> tuple[torch.Tensor, torch.Tensor]:
    seed = zlib.crc32(member.encode())
    gen = torch.Generator().manual_seed(seed)
    n = 20 + seed % 40
    x = torch.randn(n, IN_FEATURES, generator=gen)
    w = torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
    y = x @ w + 0.1 * torch.randn(n, 1, generator=gen)
    return x, y


def _client_fn(context: Context) -> Client:
    return _ToyClient(context).to_client()


def make_toy_client_app(
    *, secure: bool, guard: bool = True, mods: Sequence[Mod] | None = None
) -> ClientApp:
    """Return the toy members' ``ClientApp``.

    Parameters
    ----------
    secure : bool
        Add ``secaggplus_mod`` (the member then only ever sends masked vectors and shares).
    guard : bool, default True
        Add :func:`~consortium.federation.secagg.make_update_guard_mod` (a member checking its
        own update); ``False`` simulates a member that skips the check.
    mods : Sequence[Mod] | None
        Use exactly these mods instead (e.g. the kit's production
        :func:`~consortium.federation.mods.masked_updates_mod`).
    """
    if mods is not None:
        return ClientApp(client_fn=_client_fn, mods=list(mods))
    chosen: list[Mod] = [secaggplus_mod] if secure else []
    if guard:
        chosen.append(make_update_guard_mod())
    return ClientApp(client_fn=_client_fn, mods=chosen)


@dataclass(frozen=True)
class ToyRunConfig:
    """The toy ServerApp's run config (kebab-case keys; other keys are ignored)."""

    secure: bool = True
    rounds: int = 1
    clipping_range: float = 8.0
    max_weight: float = 100.0
    quantization_range: int = 2**22

    @property
    def secagg(self) -> SecAggSettings:
        """The SecAgg+ quantisation settings."""
        return SecAggSettings(self.clipping_range, self.quantization_range, self.max_weight)


def make_toy_server_app() -> ServerApp:
    """Return the toy coordinator: ``rounds`` FedAvg rounds, the model kept in its state.

    The global model is in ``context.state["toy.global"]`` (replaced only after a successful
    round) and the last round's summary in ``context.state["toy.outcome"]``.
    """
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        cfg = read_run_config(ToyRunConfig, context.run_config, strict=False)
        state_dict = toy_model().state_dict()
        expected = specs_of(state_dict)
        arrays = state_dict_to_ndarrays(state_dict)
        context.state["toy.global"] = ArrayRecord(arrays)
        labels = grid.node_labels() if isinstance(grid, LocalGrid) else None
        for rnd in range(1, cfg.rounds + 1):
            try:
                outcome = run_fedavg_round(
                    grid,
                    context,
                    global_arrays=arrays,
                    expected=expected,
                    server_round=rnd,
                    secagg=cfg.secagg if cfg.secure else None,
                    node_labels=labels,
                )
            except RoundFailed as err:
                logger.warning("%s", err.diagnostics())
                context.state["toy.outcome"] = ConfigRecord(
                    {
                        "status": "failed",
                        "code": err.code,
                        "round": rnd,
                        "failures": list(err.failures) or [""],
                    }
                )
                return
            arrays = list(outcome.arrays)
            context.state["toy.global"] = ArrayRecord(arrays)
            context.state["toy.outcome"] = ConfigRecord(
                {
                    "status": "ok",
                    "round": rnd,
                    "members": outcome.num_members,
                    "examples": outcome.num_examples,
                    "failures": list(outcome.failures) or [""],
                }
            )

    return app
