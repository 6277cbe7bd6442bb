"""The member's mods: cross-cutting checks around every train message it answers.

:func:`masked_updates_mod` runs Flower's ``secaggplus_mod`` and refuses to send an update
unmasked unless the member's own node config allows it; :func:`make_update_guard_mod` checks the
member's own update against the global model's layout, its weight and the quantisation range
before SecAgg+ masks it.

Against a deviating coordinator (:func:`check_secagg_stage`)
------------------------------------------------------------
SecAgg+ hides one member's vector only if the coordinator unmasks a *sum* of enough real
contributions. A member knows three things of its own: whether it sent a masked vector, which
neighbours it exchanged keys with, and the active/dead lists the unmask request names. So:

* **Contributing means being in the sum.** A member with nothing to contribute (weight 0: its
  budget is spent, it declined) does not send a masked zero vector, which would let the sum of
  the others pass for a sum of more members; it leaves the round before the masked stage
  (``sat-out``). Being listed *active* is then the same as having contributed.
* **Too few contributors.** A member trains and sends its masked vector only when at least
  ``min-members`` (never below 3, :func:`~consortium.federation.instructions.min_members_of`)
  of its neighbours, itself included, are still in the round; it hands over its key shares only
  when the unmask request lists at least that many of its neighbours as active.
* **Overlapping lists.** It refuses an unmask request that lists a member as both active and
  dropped (it would hand over both the self-mask seed share and the key share of that member,
  and the coordinator could strip every mask from that member's vector alone), that names the
  member itself as dropped, that omits it from the active list, or that repeats or names
  unknown ids.

Neighbours are the public keys the coordinator forwarded, so a coordinator that invents members
(keys it controls) could make up the count: a member that lists the members it trusts
(:mod:`.key_binding`) accepts only keys signed by distinct trusted members.
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
    Key,
    Stage,
)
from flwr.compat.common import recorddict_compat as compat

from consortium.errors import ConfigError, UpdateRejected
from consortium.federation.instructions import MIN_MEMBERS, min_members_of
from consortium.federation.key_binding import check_bindings, sign_own_keys
from consortium.federation.member.node import PLAIN_ALLOWED_KEY, member_label
from consortium.federation.records import check_ndarrays, specs_of_ndarrays

__all__ = ["check_secagg_stage", "make_update_guard_mod", "masked_updates_mod"]

logger = logging.getLogger(__name__)

GUARD_KEY = "consortium.secagg-guard"
"""The member's own record of the SecAgg+ round under way: the ``min-members`` it accepted."""


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
    if msg.metadata.message_type != MessageType.TRAIN:
        return secaggplus_mod(msg, ctxt, call_next)
    if _is_masked(msg):
        check_secagg_stage(msg, ctxt)
        stage = msg.content.config_records[RECORD_KEY_CONFIGS].get(Key.STAGE)  # Flower pops it
        reply = secaggplus_mod(msg, ctxt, _contributing(call_next))
        if stage == Stage.SETUP:
            sign_own_keys(msg, reply, ctxt)  # bind its SecAgg+ keys to its member key
        return reply
    if str(ctxt.node_config.get(PLAIN_ALLOWED_KEY, "false")).lower() != "true":
        member = member_label(ctxt.node_config, ctxt.node_id)
        raise UpdateRejected(
            member,
            None,
            code="plain-refused",
            reason=f"asked to send its update without SecAgg+; set {PLAIN_ALLOWED_KEY} to allow",
        )
    return call_next(msg, ctxt)


def _refuse(ctxt: Context, code: str, reason: str) -> UpdateRejected:
    member = member_label(ctxt.node_config, ctxt.node_id)
    logger.warning("%s refuses a SecAgg+ stage: %s [%s]", member, reason, code)
    return UpdateRejected(member, None, code=code, reason=reason)


def _contributing(call_next: ClientAppCallable) -> ClientAppCallable:
    """Wrap the task so that a member with nothing to contribute leaves instead of sending zeros."""

    def call(msg: Message, ctxt: Context) -> Message:
        reply = call_next(msg, ctxt)
        if reply.has_error():
            return reply
        if compat.recorddict_to_fitres(reply.content, keep_input=True).num_examples <= 0:
            raise _refuse(
                ctxt,
                "sat-out",
                "contributes nothing this round (weight 0), so it leaves the secure sum "
                "instead of sending a zero vector that would pass for a contribution",
            )
        return reply

    return call


def check_secagg_stage(msg: Message, ctxt: Context) -> None:
    """Refuse a SecAgg+ stage that would let the coordinator isolate one member's vector.

    Runs before Flower's ``secaggplus_mod`` on every masked message (see the module
    docstring). Flower's own ``secaggplus_mod`` (flwr 1.42, ``_unmask``) checks only that the
    active list reaches the threshold: it answers overlapping active/dead lists, and a list naming
    the member itself as dropped, with both kinds of share. That gap is to be reported upstream;
    until it is fixed there, this check is what protects a member.

    Raises
    ------
    UpdateRejected
        ``too-few-members`` (fewer than ``min-members`` neighbours in the round, or listed
        active) or ``unmask-refused`` (overlapping, repeated or unknown ids; itself dropped or not
        active), naming the member.
    """
    configs = msg.content.config_records[RECORD_KEY_CONFIGS]
    stage = configs.get(Key.STAGE)
    if stage == Stage.COLLECT_MASKED_VECTORS:
        fit_config = compat.recorddict_to_fitins(msg.content, keep_input=True).config
        minimum = min_members_of(fit_config)
        ctxt.state.config_records[GUARD_KEY] = ConfigRecord({"min-members": minimum})
        sources = configs.get(Key.SOURCE_LIST, [])
        alive = 1 + len(sources if isinstance(sources, list) else [])
        if alive < minimum:
            raise _refuse(
                ctxt,
                "too-few-members",
                f"only {alive} members (itself included) are left in the round; "
                f"the consortium's minimum is {minimum}",
            )
    elif stage == Stage.SHARE_KEYS:
        check_bindings(msg, ctxt)  # every key signed by a member it trusts
    elif stage == Stage.UNMASK:
        _check_unmask(configs, ctxt, me=msg.metadata.dst_node_id)


def _check_unmask(configs: ConfigRecord, ctxt: Context, *, me: int) -> None:
    active = [int(n) for n in configs.get(Key.ACTIVE_NODE_ID_LIST, [])]  # type: ignore[union-attr]
    dead = [int(n) for n in configs.get(Key.DEAD_NODE_ID_LIST, [])]  # type: ignore[union-attr]
    sa_state = ctxt.state.config_records.get(RECORD_KEY_STATE, ConfigRecord())
    known = {int(n) for n in sa_state.get("rd_seed_share_dict:K", [])}  # type: ignore[union-attr]
    guard = ctxt.state.config_records.get(GUARD_KEY, ConfigRecord())
    minimum = max(MIN_MEMBERS, int(guard.get("min-members", MIN_MEMBERS)))  # type: ignore[arg-type]
    both = sorted(set(active) & set(dead))
    if both:
        raise _refuse(ctxt, "unmask-refused", f"nodes {both} are listed as active and dropped")
    if me in dead or me not in active:
        raise _refuse(ctxt, "unmask-refused", "the request lists this member as dropped")
    if len(set(active)) != len(active) or len(set(dead)) != len(dead):
        raise _refuse(ctxt, "unmask-refused", "the request repeats a node")
    unknown = sorted((set(active) | set(dead)) - known)
    if unknown:
        raise _refuse(ctxt, "unmask-refused", f"nodes {unknown} are not its neighbours")
    if len(active) < minimum:
        raise _refuse(
            ctxt,
            "too-few-members",
            f"only {len(active)} contributing neighbours (itself included); "
            f"the consortium's minimum is {minimum}",
        )


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
