"""What every stage of a run shares: the members' grid, the run config, the model family."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from flwr.app import Context
from flwr.serverapp import Grid

from consortium.federation.admission import AdmittedGrid
from consortium.federation.instructions import Instruction, RunConfig, Task
from consortium.federation.secagg import SecAggSettings
from consortium.models.families import family
from consortium.models.family import ModelFamily
from consortium.rounds import FederationEvent, OnEvent, RoundRecorder

__all__ = ["Session", "node_members"]

logger = logging.getLogger(__name__)


def _ignore(_event: FederationEvent) -> None:
    return None


def node_members(grid: Grid) -> dict[int, str]:
    """Return node id -> member id: the name each node was registered under.

    On the deployment runtime the coordinator registers a member's SuperNode key under the
    member id (``flwr supernode register --name``), and the SuperLink admits only the node that
    holds that key, so the name is the coordinator's word, not the node's. The one-machine
    runner names each node after its member (:meth:`LocalGrid.get_nodes`). A node without a
    name is left out.
    """
    return {n.node_id: n.name for n in grid.get_nodes() if n.name}


@dataclass
class Session:
    """One run of the ServerApp: its grid, config and where it reports.

    Nodes are labelled by :func:`node_members`; with a recorder only the roster's active
    members take part (:class:`AdmittedGrid`), on either runtime.
    """

    grid: Grid
    context: Context
    run: RunConfig
    recorder: RoundRecorder | None = None
    on_event: OnEvent = field(default=_ignore)
    labels: dict[int, str] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        grid: Grid,
        context: Context,
        run: RunConfig,
        *,
        recorder: RoundRecorder | None,
        on_event: OnEvent | None,
    ) -> Session:
        """Label the nodes; with a recorder admit only the nodes of active members.

        A node with no member name, or one of two nodes under the same name, is refused when
        recording: its points could not be told apart.
        """
        labels = node_members(grid)
        if recorder is not None:
            counts = Counter(labels.values())
            allowed = recorder.admitted(m for m, k in counts.items() if k == 1)
            grid = AdmittedGrid(grid, {n for n, m in labels.items() if m in allowed})
        return cls(grid, context, run, recorder, on_event or _ignore, labels)

    @property
    def family(self) -> ModelFamily:
        """The family of the model this run trains."""
        return family(self.run.model)

    def members(self) -> int:
        """Return how many members' nodes take part."""
        return len(list(self.grid.get_node_ids()))

    def secagg(self) -> SecAggSettings | None:
        """Return the quantisation settings of a masked round (``None``: the plain path)."""
        if not self.run.secure:
            return None
        return SecAggSettings(
            clipping_range=self.run.update_clipping_range,
            max_weight=self.run.max_weight,
            timeout=self.run.round_timeout,
        )

    def instruction(self, task: Task, **fields: object) -> Instruction:
        """Return an instruction for ``task`` about this run's model (plus ``fields``)."""
        return Instruction(
            task=task,
            model=self.run.model,
            settings=self.run.settings,
            rounds=self.run.rounds,
            local_epochs=self.run.local_epochs,
            max_weight=int(self.run.max_weight),
            min_members=self.run.min_members,
            **fields,  # type: ignore[arg-type]
        )

    def emit(self, stage: str, server_round: int, **detail: object) -> None:
        """Report a finished stage to ``on_event``."""
        self.on_event(FederationEvent(stage, server_round, self.run.rounds, detail=detail))
