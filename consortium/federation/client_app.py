"""The member's Flower ``ClientApp``: one message handler per message type, one module per task.

Handlers (Flower's Message API):

``train``
    Every masked exchange arrives as a ``train`` message, because Flower's SecAgg+ mod masks
    only that type: the scaling-statistics and calibration secure sums and the DP training
    rounds. The handler reads the typed :class:`~consortium.federation.instructions.Instruction`
    once and runs its task (``stats``, ``train`` or ``calibrate``; :mod:`.member`).
``evaluate``
    Metrics of the calibrated global model on the member's own test rows (``evaluate``), or the
    one projection ``g · u`` a scored round asks of each member (``score``).
``query.warehouses`` / ``query.warehouse_risk``
    Warehouse stock-risk queries, answered on the member's machine or declined
    (:mod:`consortium.forecasts.member_answers`).

``secaggplus_mod`` reads and writes the legacy ``FitIns``/``FitRes`` records, so the ``train``
and ``evaluate`` handlers keep that record layout (:mod:`consortium.federation.legacy`). The
member's mods (:mod:`consortium.federation.secagg`) refuse a plain train instruction unless the
node config allows it and check each update against the global model's layout, clipping it into
the quantisation range (post-processing of a DP output, so the guarantee is unchanged).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from flwr.app import Context, Message
from flwr.clientapp import ClientApp
from flwr.clientapp.typing import Mod
from numpy.typing import NDArray

from consortium.errors import ConfigError
from consortium.federation.instructions import Instruction, Task
from consortium.federation.legacy import (
    evaluate_reply,
    read_evaluate,
    read_train,
    train_reply,
)
from consortium.federation.member.evaluation import evaluate_global, project_update
from consortium.federation.member.node import MemberNode
from consortium.federation.member.reply import Reply
from consortium.federation.member.sums import calibration_sums, statistics_sums
from consortium.federation.member.training import train_round
from consortium.federation.mods import make_update_guard_mod, masked_updates_mod
from consortium.federation.warehouse_grid import (
    answer_record,
    query_from_record,
    warehouses_record,
)
from consortium.forecasts.member_answers import StockMember, answer_risk_query, warehouses_of

__all__ = ["app", "make_client_app"]

Arrays = list[NDArray[np.generic]]


def _node(context: Context) -> MemberNode:
    # Only the member's own node config: the run config is the coordinator's and sets no budget.
    return MemberNode.of(context.node_config, node_id=context.node_id)


def _stock_member(context: Context) -> StockMember:
    node = _node(context)
    return StockMember(node.member, node.data_path, node.home, node.answers_queries)


_EVALUATE_TASKS: dict[Task, Callable[[MemberNode, Instruction, Arrays, Context], Reply]] = {
    Task.EVALUATE: lambda node, ins, arrays, _ctx: evaluate_global(node, ins, arrays),
    Task.SCORE: lambda node, ins, arrays, ctx: project_update(node, ins, arrays, ctx.state),
}

_MASKED_TASKS: dict[Task, Callable[[MemberNode, Instruction, Arrays, Context], Reply]] = {
    Task.STATS: lambda node, ins, arrays, _ctx: statistics_sums(node, ins, arrays),
    Task.CALIBRATE: lambda node, ins, arrays, _ctx: calibration_sums(node, ins, arrays),
    Task.TRAIN: lambda node, ins, arrays, ctx: train_round(node, ins, arrays, ctx.state),
}


def train(msg: Message, context: Context) -> Message:
    """Run the masked task the instruction names (statistics, training or calibration)."""
    ins, arrays = read_train(msg)
    if ins.task not in _MASKED_TASKS:
        raise ConfigError("task", f"{ins.task} is not a train-message task")
    return train_reply(msg, _MASKED_TASKS[ins.task](_node(context), ins, arrays, context))


def evaluate(msg: Message, context: Context) -> Message:
    """Score the global model on this member's test rows, or answer a scored round's projection."""
    ins, arrays = read_evaluate(msg)
    if ins.task not in _EVALUATE_TASKS:
        raise ConfigError("task", f"{ins.task} is not an evaluate-message task")
    return evaluate_reply(msg, _EVALUATE_TASKS[ins.task](_node(context), ins, arrays, context))


def warehouses(msg: Message, context: Context) -> Message:
    """Say which warehouses this member answers stock-risk queries for."""
    return Message(warehouses_record(warehouses_of(_stock_member(context))), reply_to=msg)


def warehouse_risk(msg: Message, context: Context) -> Message:
    """Answer a stock-risk query for one of this member's warehouses, or decline."""
    answer = answer_risk_query(_stock_member(context), query_from_record(msg.content))
    return Message(answer_record(answer), reply_to=msg)


def make_client_app(*, mods: Sequence[Mod] | None = None) -> ClientApp:
    """Return the members' ``ClientApp`` with ``mods`` around every handler.

    The default mods are the production ones: :func:`masked_updates_mod` then the update guard
    (clipping). Tests pass other lists to play a member that misbehaves.
    """
    if mods is None:
        mods = [masked_updates_mod, make_update_guard_mod(on_out_of_range="clip")]
    client = ClientApp(mods=list(mods))
    client.train()(train)
    client.evaluate()(evaluate)
    client.query("warehouses")(warehouses)
    client.query("warehouse_risk")(warehouse_risk)
    return client


app = make_client_app()
"""The members' app (``[tool.flwr.app.components] clientapp``)."""
