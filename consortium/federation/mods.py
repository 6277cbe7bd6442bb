"""The member's mods: cross-cutting checks around every train message it answers.

:func:`masked_updates_mod` runs Flower's ``secaggplus_mod`` and refuses to send an update
unmasked unless the member's own node config allows it; :func:`make_update_guard_mod` checks the
member's own update against the global model's layout, its weight and the quantisation range
before SecAgg+ masks it.
"""

from __future__ import annotations

import logging
import math
from typing import Literal

import numpy as np
from flwr.app import ConfigRecord, Context, Message
from flwr.app.message_type import MessageType
from flwr.client.mod import secaggplus_mod
from flwr.clientapp.typing import ClientAppCallable, Mod
from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
from flwr.common.secure_aggregation.secaggplus_constants import (
    RECORD_KEY_CONFIGS,
    RECORD_KEY_STATE,
)
from flwr.compat.common import recorddict_compat as compat

from consortium.errors import ConfigError, UpdateRejected
from consortium.federation.member.node import PLAIN_ALLOWED_KEY, member_label
from consortium.federation.records import check_ndarrays, specs_of_ndarrays

__all__ = ["make_update_guard_mod", "masked_updates_mod"]

logger = logging.getLogger(__name__)


def _is_masked(msg: Message) -> bool:
    """Whether ``msg`` is a stage of a SecAgg+ round (it carries the SecAgg+ configs)."""
    return RECORD_KEY_CONFIGS in msg.content.config_records


def masked_updates_mod(msg: Message, ctxt: Context, call_next: ClientAppCallable) -> Message:
    """Run Flower's ``secaggplus_mod``, and refuse to send an update unmasked unless allowed.

    Flower's mod fails on a train instruction that carries no SecAgg+ stage. A coordinator
    that asks for a plain round would otherwise see each member's update, so a member answers
    one only when its own node config sets ``allow-plain-updates`` (a test consortium run
    with ``consortium federate --plain`` does; a production node does not).
    """
    if msg.metadata.message_type != MessageType.TRAIN or _is_masked(msg):
        return secaggplus_mod(msg, ctxt, call_next)
    if str(ctxt.node_config.get(PLAIN_ALLOWED_KEY, "false")).lower() != "true":
        member = member_label(ctxt.node_config, ctxt.node_id)
        raise UpdateRejected(
            member,
            None,
            code="plain-refused",
            reason=f"asked to send its update without SecAgg+; set {PLAIN_ALLOWED_KEY} to allow",
        )
    return call_next(msg, ctxt)


def make_update_guard_mod(*, on_out_of_range: Literal["reject", "clip"] = "reject") -> Mod:
    """Return a member-side mod that checks its own update before SecAgg+ masks it.

    Place it *after* ``secaggplus_mod`` (``mods=[secaggplus_mod, guard]``) so that it wraps
    the training call only. It checks the returned update against the layout of the global
    model just received, its weight against ``max_weight`` and, under SecAgg+, every
    coordinate against ``clipping_range``; out of range it rejects (raises, so the member
    drops out of the round with a named reason) or clips with a warning.
    """
    if on_out_of_range not in ("reject", "clip"):
        raise ConfigError("on_out_of_range", "must be 'reject' or 'clip'")

    def update_guard_mod(msg: Message, ctxt: Context, call_next: ClientAppCallable) -> Message:
        if msg.metadata.message_type != MessageType.TRAIN or (
            "fitins.parameters" not in msg.content.array_records
        ):
            return call_next(msg, ctxt)
        reply = call_next(msg, ctxt)
        if reply.has_error():
            return reply
        member = member_label(ctxt.node_config, ctxt.node_id)
        start = parameters_to_ndarrays(compat.recorddict_to_fitins(msg.content, True).parameters)
        fitres = compat.recorddict_to_fitres(reply.content, keep_input=True)
        update = parameters_to_ndarrays(fitres.parameters)
        check_ndarrays(update, expected=specs_of_ndarrays(start), member=member, check_dtype=False)
        sa_state = (
            ctxt.state.config_records.get(RECORD_KEY_STATE, ConfigRecord())
            if _is_masked(msg)
            else ConfigRecord()  # a plain round: an earlier masked round's state does not apply
        )
        max_weight = float(sa_state.get("max_weight", math.inf))  # type: ignore[arg-type]
        if fitres.num_examples > max_weight:
            raise UpdateRejected(
                member,
                None,
                code="weight-out-of-range",
                reason=f"num_examples {fitres.num_examples} exceeds max_weight {max_weight}",
            )
        bound = float(sa_state.get("clipping_range", math.inf))  # type: ignore[arg-type]
        worst = [float(np.max(np.abs(a))) if a.size else 0.0 for a in update]
        if all(w <= bound for w in worst):
            return reply
        idx = int(np.argmax(worst))
        if on_out_of_range == "reject":
            raise UpdateRejected(
                member,
                str(idx),
                code="out-of-range",
                reason=f"|update| reaches {worst[idx]:.4g}, beyond clipping_range {bound:.4g}",
            )
        logger.warning("%s: update clipped to +/-%.4g (was up to %.4g)", member, bound, worst[idx])
        clipped = [np.clip(a, -bound, bound) for a in update]
        reply.content.array_records["fitres.parameters"] = compat.parameters_to_arrayrecord(
            ndarrays_to_parameters(clipped), keep_input=True
        )
        return reply

    return update_guard_mod
