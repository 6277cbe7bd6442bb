"""Grid helpers: a forwarding ``Grid`` and one evaluate exchange with a set of members.

:class:`DelegatingGrid` forwards every call to another grid; wrappers override what they change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from flwr.app import Message
from flwr.app.message_type import MessageType
from flwr.common import EvaluateRes
from flwr.proto.node_pb2 import NodeInfo
from flwr.serverapp import Grid
from flwr.supercore.run import Run
from numpy.typing import NDArray

from consortium.federation.instructions import Instruction
from consortium.federation.legacy import evaluate_content, read_evaluate_reply

__all__ = ["DelegatingGrid", "evaluate_on"]

logger = logging.getLogger(__name__)


def evaluate_on(  # noqa: PLR0913
    grid: Grid,
    nodes: Iterable[int],
    arrays: Sequence[NDArray[np.generic]],
    instruction: Instruction,
    *,
    labels: Mapping[int, str],
    timeout: float | None,
    message_type: str = MessageType.EVALUATE,
) -> dict[str, EvaluateRes]:
    """Send one evaluate-type ``instruction`` (with ``arrays``) to each node; return the replies.

    Keyed by member id (``labels``, else ``node <id>``); a member whose ClientApp failed is
    logged under the instruction's task and left out.
    """
    config = instruction.to_config()
    messages = [Message(evaluate_content(arrays, config), n, message_type) for n in nodes]
    replies: dict[str, EvaluateRes] = {}
    for reply in grid.send_and_receive(messages, timeout=timeout):
        node = reply.metadata.src_node_id
        member = labels.get(node, f"node {node}")
        if reply.has_error():
            logger.warning("%s by %s failed: %s", instruction.task, member, reply.error.reason)
            continue
        replies[member] = read_evaluate_reply(reply)
    return replies


class DelegatingGrid(Grid):
    """Forward every ``Grid`` method to ``inner``."""

    def __init__(self, inner: Grid) -> None:
        self._inner = inner

    def set_run(self, run: Run) -> None:  # noqa: D102
        self._inner.set_run(run)

    @property
    def run(self) -> Run:  # noqa: D102
        return self._inner.run

    def create_message(self, *args: Any, **kwargs: Any) -> Message:  # noqa: D102
        return self._inner.create_message(*args, **kwargs)

    def get_node_ids(self) -> Iterable[int]:  # noqa: D102
        return self._inner.get_node_ids()

    def get_nodes(self) -> Iterable[NodeInfo]:  # noqa: D102
        return self._inner.get_nodes()

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:  # noqa: D102
        return self._inner.push_messages(messages)

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:  # noqa: D102
        return self._inner.pull_messages(message_ids)

    def send_and_receive(  # noqa: D102
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        return self._inner.send_and_receive(messages, timeout=timeout)
