"""A ``Grid`` wrapper that lets only admitted members' nodes take part.

On the deployment runtime SuperNode authentication refuses a removed member's node at the
SuperLink. On the one-machine runner the coordinator knows which node is which member, and this
wrapper hides every node that is not an active member: the ServerApp never samples it and a
message addressed to it is refused before delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from flwr.app import Message
from flwr.proto.node_pb2 import NodeInfo
from flwr.serverapp import Grid

from consortium.errors import MembershipError
from consortium.federation.grids import DelegatingGrid

__all__ = ["AdmittedGrid"]

logger = logging.getLogger(__name__)


class AdmittedGrid(DelegatingGrid):
    """Delegates to ``inner`` but exposes only the node ids in ``admitted``."""

    def __init__(self, inner: Grid, admitted: Iterable[int]) -> None:
        super().__init__(inner)
        self._admitted = frozenset(admitted)
        refused = [n for n in inner.get_node_ids() if n not in self._admitted]
        if refused:
            logger.warning("%d node(s) refused: not active members", len(refused))

    def get_node_ids(self) -> Iterable[int]:  # noqa: D102
        return [n for n in self._inner.get_node_ids() if n in self._admitted]

    def get_nodes(self) -> Iterable[NodeInfo]:  # noqa: D102
        return [n for n in self._inner.get_nodes() if n.node_id in self._admitted]

    def _check(self, messages: Iterable[Message]) -> list[Message]:
        sent = list(messages)
        for msg in sent:
            if msg.metadata.dst_node_id not in self._admitted:
                raise MembershipError(
                    f"node {msg.metadata.dst_node_id}",
                    code="not-admitted",
                    reason="the node is not an active member's; nothing was sent",
                )
        return sent

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:  # noqa: D102
        return self._inner.push_messages(self._check(messages))

    def send_and_receive(  # noqa: D102
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        return self._inner.send_and_receive(self._check(messages), timeout=timeout)
