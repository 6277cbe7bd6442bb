"""The one-machine runner: a real ``ServerApp`` and ``ClientApp`` in one process.

:class:`LocalGrid` implements Flower's :class:`flwr.serverapp.Grid` interface. Each pushed
``Message`` is serialised to protobuf and back (as on the wire, so no object is shared between
the coordinator and a member), handed to the real ``ClientApp`` of its destination node
together with that node's own persistent ``Context`` (own ``state`` and ``node_config``), and
the reply is stored until the ``ServerApp`` pulls it. Delivery is synchronous: when
``push_messages`` returns, every reply that will ever come is already there, so
``send_and_receive`` never has to wait, with or without a timeout, and no thread per node is
needed. Flower's legacy ``DefaultWorkflow`` polls ``get_node_ids`` from its own thread; that
method only reads an immutable snapshot.

A node can be marked as dropped (:meth:`LocalGrid.drop`): after answering a given number of
further messages it goes silent (as if it left: no reply, the caller's timeout expires) or
answers with an error reply. A ``ClientApp`` exception becomes an error reply, as in Flower's
runtime. With ``record=True`` every message the coordinator side receives is kept in
:attr:`LocalGrid.received`, which the tests use to prove what the coordinator can see.

Examples
--------
>>> from consortium.federation.toy import make_toy_client_app, make_toy_server_app
>>> run = run_local(
...     make_toy_server_app(),
...     make_toy_client_app(secure=True),
...     nodes={f"m{i}": {"member-id": f"m{i}"} for i in range(3)},
...     run_config={"secure": True},
... )
>>> run.context.state.config_records["toy.outcome"]["members"]
3
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from uuid import uuid4

from flwr.app import Context, Error, Message, RecordDict
from flwr.app.user_config import UserConfig, UserConfigValue
from flwr.clientapp import ClientApp
from flwr.common.constant import SUPERLINK_NODE_ID, ErrorCode
from flwr.common.serde import message_from_proto, message_to_proto
from flwr.proto.node_pb2 import NodeInfo
from flwr.serverapp import Grid, ServerApp
from flwr.supercore.run import Run
from flwr.supercore.task_identity import TaskIdentity

from consortium.errors import ConfigError

__all__ = ["LocalGrid", "LocalRun", "coordinator_identity", "run_local", "serve"]

logger = logging.getLogger(__name__)


@dataclass
class _Node:
    node_id: int
    member: str
    context: Context
    handled: int = 0
    answers_left: int | None = None  # None: healthy; n: answer n more messages, then drop
    drop_with_error: bool = False


@dataclass(frozen=True)
class LocalRun:
    """What :func:`run_local` returns: the ServerApp's final context and the grid used."""

    context: Context
    grid: LocalGrid = field(repr=False)


class LocalGrid(Grid):
    """An in-process ``Grid`` that delivers every message to a real ``ClientApp``.

    Parameters
    ----------
    client_app : ClientApp
        The app every node runs (the same object a SuperNode would load).
    nodes : Mapping[str, Mapping[str, UserConfigValue]]
        Member id -> that node's ``node_config`` (e.g. ``{"member-id": ..., "data-path": ...}``).
    run_id : int, default 1
        The run id written into every context and message.
    run_config : Mapping[str, UserConfigValue] | None
        The run config each node's ``Context`` carries.
    seed : int, default 0
        Seeds the (random, 63-bit) node ids so runs are reproducible.
    record : bool, default False
        Keep a copy of every message the coordinator side receives in :attr:`received`.
    """

    def __init__(  # noqa: PLR0913
        self,
        client_app: ClientApp,
        *,
        nodes: Mapping[str, Mapping[str, UserConfigValue]],
        run_id: int = 1,
        run_config: Mapping[str, UserConfigValue] | None = None,
        seed: int = 0,
        record: bool = False,
    ) -> None:
        if not nodes:
            raise ConfigError("nodes", "at least one node is needed")
        self._app = client_app
        self._run = Run.create_empty(run_id)
        rng = random.Random(seed)
        ids: set[int] = set()
        self._nodes: dict[int, _Node] = {}
        self._by_member: dict[str, int] = {}
        for member, node_config in nodes.items():
            node_id = rng.getrandbits(63)
            while node_id in ids or node_id == SUPERLINK_NODE_ID:
                node_id = rng.getrandbits(63)
            ids.add(node_id)
            context = Context(
                run_id=run_id,
                node_id=node_id,
                node_config=UserConfig(node_config),
                state=RecordDict(),
                run_config=UserConfig(run_config or {}),
            )
            self._nodes[node_id] = _Node(node_id, member, context)
            self._by_member[member] = node_id
        self._node_ids: tuple[int, ...] = tuple(self._nodes)
        self._replies: dict[str, Message] = {}
        self.record = record
        self.received: list[Message] = []

    # --- Grid interface -------------------------------------------------------------------

    def set_run(self, run: Run) -> None:
        """Set the run this grid operates in (its id must match the nodes' contexts)."""
        if run.run_id != self._run.run_id:
            raise ConfigError("run", f"run id {run.run_id} is not {self._run.run_id}")
        self._run = run

    @property
    def run(self) -> Run:
        """Run information."""
        return Run(**vars(self._run))

    def create_message(  # noqa: PLR0913
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        """Create a message (deprecated in Flower; kept for the abstract interface)."""
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        """Return the ids of every registered node, dropped ones included."""
        return self._node_ids

    def get_nodes(self) -> Iterable[NodeInfo]:
        """Return every node, named by its member id (as the coordinator registers SuperNodes)."""
        return [NodeInfo(node_id=nid, name=self._nodes[nid].member) for nid in self._node_ids]

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        """Deliver each message to its node's ``ClientApp`` now and store the reply."""
        ids: list[str] = []
        for msg in messages:
            msg.metadata.__dict__["_message_id"] = str(uuid4())
            if msg.metadata.reply_to_message_id or msg.metadata.ttl <= 0:
                raise ValueError(f"invalid instruction message: {msg.metadata}")
            reply = self._deliver(msg)
            if reply is not None:
                reply.metadata.__dict__["_message_id"] = str(uuid4())
                received = _over_the_wire(reply)
                self._replies[msg.metadata.message_id] = received
                if self.record:
                    self.received.append(_over_the_wire(reply))
            ids.append(msg.metadata.message_id)
        return ids

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        """Return (and forget) the replies available for ``message_ids``."""
        return [self._replies.pop(mid) for mid in message_ids if mid in self._replies]

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        """Push ``messages`` and return every reply.

        ``timeout`` is accepted for the interface; delivery is synchronous, so a node that
        has not answered when ``push_messages`` returns never will (it has dropped).
        """
        return self.pull_messages(self.push_messages(messages))

    # --- local controls ---------------------------------------------------------------------

    def drop(self, member: str, *, after: int = 0, with_error: bool = False) -> None:
        """Make ``member`` drop out after answering ``after`` more messages.

        Parameters
        ----------
        member : str
            The member id given in ``nodes``.
        after : int, default 0
            How many further messages it still answers (e.g. 2 = the SecAgg+ setup and
            share-keys stages, then it disappears before sending its masked update).
        with_error : bool, default False
            Answer later messages with an error reply instead of staying silent.
        """
        if after < 0:
            raise ConfigError("after", "must be >= 0")
        node = self._nodes[self.node_id_of(member)]
        node.answers_left = after
        node.drop_with_error = with_error

    def restore(self, member: str) -> None:
        """Bring a dropped member back."""
        self._nodes[self.node_id_of(member)].answers_left = None

    def node_id_of(self, member: str) -> int:
        """Return the node id of ``member``."""
        try:
            return self._by_member[member]
        except KeyError:
            raise ConfigError("member", f"unknown member {member!r}") from None

    def member_of(self, node_id: int) -> str:
        """Return the member id behind ``node_id``."""
        return self._nodes[node_id].member

    def node_labels(self) -> Mapping[int, str]:
        """Return node id -> member id, for the coordinator's error messages."""
        return MappingProxyType({nid: n.member for nid, n in self._nodes.items()})

    def context_of(self, member: str) -> Context:
        """Return the persistent ``Context`` of ``member``'s node (tests inspect its state)."""
        return self._nodes[self.node_id_of(member)].context

    def _deliver(self, msg: Message) -> Message | None:
        dst = msg.metadata.dst_node_id
        node = self._nodes.get(dst)
        if node is None:
            return Message(Error(ErrorCode.NODE_UNAVAILABLE, f"node {dst} unknown"), reply_to=msg)
        if node.answers_left is not None:
            if node.answers_left <= 0:
                logger.debug("node %s (%s) dropped: no answer", dst, node.member)
                if node.drop_with_error:
                    reason = f"node {dst} ({node.member}) is unavailable"
                    return Message(Error(ErrorCode.NODE_UNAVAILABLE, reason), reply_to=msg)
                return None
            node.answers_left -= 1
        delivered = _over_the_wire(msg)
        delivered.metadata.delivered_at = datetime.now(UTC).isoformat()
        node.handled += 1
        try:
            return self._app(message=delivered, context=node.context)
        except Exception as ex:  # noqa: BLE001 - the runtime turns any ClientApp error into a reply
            logger.warning("ClientApp of %s raised %s: %s", node.member, type(ex).__name__, ex)
            reason = f"{type(ex)}:<'{ex}'>"
            return Message(Error(ErrorCode.CLIENT_APP_RAISED_EXCEPTION, reason), reply_to=delivered)


def serve(
    server_app: ServerApp, grid: LocalGrid, *, run_config: Mapping[str, UserConfigValue]
) -> Context:
    """Run ``server_app`` against ``grid`` as Flower's runtime does; return its context.

    The ServerApp gets ``server_app(grid=grid, context=context)`` with a fresh coordinator
    ``Context`` (node id 0, empty state) and the run config, exactly like
    ``flwr.server.run_serverapp.run``.
    """
    context = Context(
        run_id=grid.run.run_id,
        node_id=0,
        node_config=UserConfig(),
        state=RecordDict(),
        run_config=UserConfig(run_config),
    )
    with coordinator_identity(grid.run.run_id):
        server_app(grid=grid, context=context)
    return context


def run_local(  # noqa: PLR0913
    server_app: ServerApp,
    client_app: ClientApp,
    *,
    nodes: Mapping[str, Mapping[str, UserConfigValue]],
    run_config: Mapping[str, UserConfigValue],
    seed: int = 0,
    record: bool = False,
) -> LocalRun:
    """Run a whole federation on this machine: one ``ServerApp``, one node per member.

    Parameters
    ----------
    server_app : ServerApp
        The coordinator's app.
    client_app : ClientApp
        The members' app (each node gets its own persistent ``Context``).
    nodes : Mapping[str, Mapping[str, UserConfigValue]]
        Member id -> ``node_config``.
    run_config : Mapping[str, UserConfigValue]
        Flower run config (kebab-case keys), given to the ServerApp and every node.
    seed : int, default 0
        Seeds the node ids.
    record : bool, default False
        Record every message the coordinator receives (see :class:`LocalGrid`).

    Returns
    -------
    LocalRun
        The ServerApp's final ``Context`` and the grid (members' contexts, recordings).
    """
    grid = LocalGrid(client_app, nodes=nodes, run_config=run_config, seed=seed, record=record)
    return LocalRun(context=serve(server_app, grid, run_config=run_config), grid=grid)


def _over_the_wire(msg: Message) -> Message:
    """Copy ``msg`` through its protobuf encoding, as the network would."""
    return message_from_proto(message_to_proto(msg))


@contextmanager
def coordinator_identity(run_id: int) -> Iterator[None]:
    """Act as the SuperLink's ServerApp process while inside the block.

    ``Message(content, dst_node_id, message_type)`` reads the process-wide
    ``TaskIdentity``, which Flower's runtimes set; this sets it (and restores it after) so
    that instruction messages can be built in one process, e.g. in tests.
    """
    saved = (TaskIdentity._task_id, TaskIdentity._run_id, TaskIdentity._node_id)  # noqa: SLF001
    TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = 1, run_id, SUPERLINK_NODE_ID
    try:
        yield
    finally:
        TaskIdentity._task_id, TaskIdentity._run_id, TaskIdentity._node_id = saved  # noqa: SLF001
