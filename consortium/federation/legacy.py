"""The legacy record layout that Flower's SecAgg+ needs, in one place.

``secaggplus_mod`` (members) and ``SecAggPlusWorkflow`` (coordinator) exchange ``FitIns`` and
``FitRes`` records, so masked exchanges keep that layout; evaluate messages use the matching
``EvaluateIns``/``EvaluateRes`` records so the coordinator reads every reply the same way.
Re-check on every flwr upgrade.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from flwr.app import Message, RecordDict
from flwr.common import (
    Code,
    EvaluateIns,
    EvaluateRes,
    FitRes,
    Status,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.compat.common import recorddict_compat as compat
from numpy.typing import NDArray

from consortium.federation.instructions import Instruction
from consortium.federation.member.reply import Reply

__all__ = [
    "evaluate_content",
    "evaluate_reply",
    "read_evaluate",
    "read_evaluate_reply",
    "read_train",
    "train_reply",
]

_OK = Status(code=Code.OK, message="Success")
Arrays = list[NDArray[np.generic]]


def read_train(msg: Message) -> tuple[Instruction, Arrays]:
    """Decode a train message: the instruction and the arrays it carries."""
    fitins = compat.recorddict_to_fitins(msg.content, keep_input=True)
    return Instruction.from_config(fitins.config), parameters_to_ndarrays(fitins.parameters)


def train_reply(msg: Message, reply: Reply) -> Message:
    """Encode a member's reply to a train message as the ``FitRes`` SecAgg+ reads."""
    parameters = ndarrays_to_parameters(list(reply.arrays))
    fitres = FitRes(_OK, parameters, reply.num_examples, reply.metrics)
    return Message(compat.fitres_to_recorddict(fitres, keep_input=False), reply_to=msg)


def evaluate_content(
    arrays: Sequence[NDArray[np.generic]], config: Mapping[str, object]
) -> RecordDict:
    """Encode an evaluate instruction (``config`` from :meth:`Instruction.to_config`)."""
    parameters = ndarrays_to_parameters([np.asarray(a) for a in arrays])
    return compat.evaluateins_to_recorddict(EvaluateIns(parameters, dict(config)), True)  # type: ignore[arg-type]


def read_evaluate(msg: Message) -> tuple[Instruction, Arrays]:
    """Decode an evaluate message: the instruction and the arrays it carries."""
    ins = compat.recorddict_to_evaluateins(msg.content, keep_input=True)
    return Instruction.from_config(ins.config), parameters_to_ndarrays(ins.parameters)


def evaluate_reply(msg: Message, reply: Reply) -> Message:
    """Encode a member's reply to an evaluate message."""
    res = EvaluateRes(_OK, reply.loss, reply.num_examples, reply.metrics)
    return Message(compat.evaluateres_to_recorddict(res), reply_to=msg)


def read_evaluate_reply(msg: Message) -> EvaluateRes:
    """Decode a member's evaluate reply (coordinator side)."""
    return compat.recorddict_to_evaluateres(msg.content)
