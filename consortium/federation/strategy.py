"""FedAvg over model *updates* on Flower's legacy ``Strategy`` API.

SecAgg+ in flwr 1.42 runs only on the legacy ``DefaultWorkflow``, which needs a legacy
``Strategy`` inside a ``LegacyContext``. Members send updates (local - global) rather than full
weights, so that the SecAgg+ quantisation range can be derived from the DP clipping bound (see
:func:`consortium.federation.secagg.update_clipping_range`). :class:`DeltaFedAvg` therefore
averages updates (weighted by ``num_examples``, as FedAvg does) and adds the average to the
global model it sent out. On the plain (non-secure) path it also checks every update against
the model's layout and turns a malformed one into a named failure instead of crashing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from flwr.common import FitRes, Parameters, Scalar, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server.client_proxy import ClientProxy
from flwr.server.strategy import FedAvg
from numpy.typing import NDArray

from consortium.errors import UpdateRejected
from consortium.federation.records import ArraySpec, check_ndarrays

__all__ = ["DeltaFedAvg", "RoundOutcome"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoundOutcome:
    """The result of one successful round.

    Attributes
    ----------
    server_round : int
        The round number given by the caller.
    arrays : tuple of ndarray
        The new global model, in the layout (order, shapes, dtypes) of the old one.
    num_members : int
        Members whose update is inside the aggregate.
    num_examples : int
        Sum of their weights (``num_examples``).
    failures : tuple of str
        Why the other members are missing (error replies, rejected updates); a member that
        silently dropped leaves no entry.
    secure : bool
        Whether the update sum was computed under SecAgg+.
    member_metrics : Mapping[str, Mapping[str, Scalar]]
        Member id -> the plaintext figures it sent beside its update (never the update).
    member_nodes : Mapping[str, int]
        Member id -> node id of every aggregated member (to address follow-up messages).
    update : tuple of ndarray
        The weighted average of the updates in float64, before it is added to the global
        model and cast to its dtype (the same information as ``arrays`` minus the old model).
    """

    server_round: int
    arrays: tuple[NDArray[np.generic], ...]
    num_members: int
    num_examples: int
    failures: tuple[str, ...]
    secure: bool
    member_metrics: Mapping[str, Mapping[str, Scalar]] = field(default_factory=dict)
    member_nodes: Mapping[str, int] = field(default_factory=dict)
    update: tuple[NDArray[np.float64], ...] = ()
    sat_out: tuple[str, ...] = ()
    """Members that had nothing to contribute and left before the masked stage (secure path)."""


class DeltaFedAvg(FedAvg):
    """FedAvg whose clients return updates; every selected member trains each round.

    Parameters
    ----------
    global_arrays : Sequence[ndarray]
        The current global model (sent to members as the round's starting point).
    expected : Mapping[str, ArraySpec]
        Its layout; updates are checked against it on the plain path.
    min_members : int
        Members that must be available before the round starts (all of them, normally).
    node_labels : Mapping[int, str] | None
        Node id -> member id, to name members in failures.
    fit_config : Mapping[str, Scalar] | None
        Sent to every member with the round's instruction.
    min_contributors : int, default 1
        The fewest members of weight above 0 an aggregate may have (the secure path passes
        the consortium's minimum); fewer and nothing is aggregated (:attr:`too_few`).

    After :meth:`aggregate_fit`, :attr:`member_metrics` maps each aggregated member to the
    metrics it reported in plaintext next to its masked update (``num_examples`` and the
    non-secret figures the ClientApp chose to report, e.g. ε spent).
    """

    def __init__(
        self,
        *,
        global_arrays: Sequence[NDArray[np.generic]],
        expected: Mapping[str, ArraySpec],
        min_members: int,
        node_labels: Mapping[int, str] | None = None,
        fit_config: Mapping[str, Scalar] | None = None,
        min_contributors: int = 1,
    ) -> None:
        config = dict(fit_config or {})
        super().__init__(
            on_fit_config_fn=lambda _round: dict(config),
            fit_metrics_aggregation_fn=lambda _metrics: {},  # per-member figures kept apart
            fraction_fit=1.0,
            fraction_evaluate=0.0,
            min_fit_clients=min_members,
            min_evaluate_clients=min_members,
            min_available_clients=min_members,
            accept_failures=True,
            initial_parameters=ndarrays_to_parameters(list(global_arrays)),
        )
        self._global = [np.asarray(a) for a in global_arrays]
        self._expected = dict(expected)
        self._labels = dict(node_labels or {})
        self._min_contributors = min_contributors
        self.too_few: int | None = None  # contributing members, when below the minimum
        self.aggregated: tuple[int, int] | None = None  # (members, examples) once done
        self.rejections: list[str] = []
        self.aggregate_called = False
        self.member_metrics: dict[str, dict[str, Scalar]] = {}
        self.member_nodes: dict[str, int] = {}
        self.average_update: list[NDArray[np.float64]] = []

    def label(self, node_id: int) -> str:
        """Return the member id of ``node_id`` (or ``node <id>`` when unknown)."""
        return self._labels.get(node_id, f"node {node_id}")

    def aggregate_fit(
        self,
        server_round: int,
        results: list[tuple[ClientProxy, FitRes]],
        failures: list[tuple[ClientProxy, FitRes] | BaseException],
    ) -> tuple[Parameters | None, dict[str, Scalar]]:
        """Average the (valid) updates and return global + average."""
        self.aggregate_called = True
        del failures  # error replies are reported by the grid that received them
        self.rejections = []
        valid: list[tuple[ClientProxy, FitRes]] = []
        for proxy, fitres in results:
            try:
                check_ndarrays(
                    parameters_to_ndarrays(fitres.parameters),
                    expected=self._expected,
                    member=self.label(proxy.node_id),
                    check_dtype=False,
                )
            except UpdateRejected as err:
                logger.warning("round %s: update rejected: %s", server_round, err)
                self.rejections.append(str(err))
                continue
            valid.append((proxy, fitres))
        if not valid:
            return None, {}
        if sum(r.num_examples for _, r in valid) == 0:
            self.rejections.append("every member sat out (weight 0): no update to average")
            return None, {}
        contributors = sum(1 for _, r in valid if r.num_examples > 0)
        if contributors < self._min_contributors:
            self.too_few = contributors
            self.rejections.append(
                f"{contributors} members contributed, fewer than {self._min_contributors}"
            )
            return None, {}
        avg_params, metrics = super().aggregate_fit(server_round, valid, [])
        if avg_params is None:
            return None, {}
        avg_update = parameters_to_ndarrays(avg_params)
        self.average_update = [np.asarray(u, dtype=np.float64) for u in avg_update]
        new_global = [
            (g + u).astype(g.dtype, copy=False)
            for g, u in zip(self._global, avg_update, strict=True)
        ]
        self.aggregated = (len(valid), sum(r.num_examples for _, r in valid))
        self.member_metrics = {
            self.label(proxy.node_id): {**dict(r.metrics), "num_examples": r.num_examples}
            for proxy, r in valid
        }
        self.member_nodes = {self.label(proxy.node_id): proxy.node_id for proxy, _ in valid}
        return ndarrays_to_parameters(new_global), metrics
