"""A ``Grid`` wrapper that screens what the coordinator receives during a round.

It rejects SecAgg+ masked vectors whose layout does not match the model (their shapes are
public even though their values are masked), turning them into error replies that name the
member, so the workflow treats that member as dropped and removes its masks. It also notes
every error reply and every missing reply with the member and the protocol stage, so that a
failed round can say who dropped where. And it never asks for key shares to unmask a sum of
fewer masked vectors than the consortium's minimum (``min_members``): the round stops there
(:attr:`ScreeningGrid.too_few`), before anything is unmasked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from flwr.app import ConfigRecord, Error, Message
from flwr.common import bytes_to_ndarray
from flwr.common.constant import ErrorCode
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key, Stage
from flwr.serverapp import Grid

from consortium.errors import UpdateRejected
from consortium.federation.grids import DelegatingGrid
from consortium.federation.instructions import MIN_MEMBERS
from consortium.federation.records import ArraySpec, check_ndarrays

__all__ = ["SAT_OUT_CODE", "ScreeningGrid"]

SAT_OUT_CODE = "[sat-out]"
"""How a member's error reply says it left a round with nothing to contribute (:mod:`.mods`)."""

logger = logging.getLogger(__name__)


class ScreeningGrid(DelegatingGrid):
    """Delegates to a grid; rejects masked vectors of the wrong layout; notes who failed.

    ``notes`` gets one line per error reply and per missing reply, naming the member and the
    stage, so that a failed round can say who dropped where.
    """

    def __init__(
        self,
        inner: Grid,
        layout: Mapping[str, ArraySpec],
        label: Callable[[int], str],
        *,
        min_members: int = MIN_MEMBERS,
    ) -> None:
        super().__init__(inner)
        self._min_members = min_members
        self.too_few: int | None = None  # masked vectors received, when below the minimum
        self.masked_vectors: int | None = None  # accepted masked vectors, once that stage ran
        self.sat_out: set[int] = set()  # members that left with nothing to contribute
        self._layout = layout
        self._label = label
        self.notes: list[str] = []
        self.missed_keys: set[int] = set()  # sampled nodes that missed setup or share keys
        self.aborted = False

    def send_and_receive(  # noqa: D102
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        sent = list(messages)
        stages = {m.metadata.dst_node_id: _stage_of(m) for m in sent}
        if self.missed_keys and any(_secagg_stage(m) == Stage.COLLECT_MASKED_VECTORS for m in sent):
            # Flower's SecAgg+ cannot unmask once a sampled node missed the key exchange (no one
            # holds its key shares), and members train in this stage: stop before anyone spends
            # privacy budget, so that the caller can restart the round without those nodes.
            self.aborted = True
            return []
        unmasking = [m for m in sent if _secagg_stage(m) == Stage.UNMASK]
        if unmasking and len(unmasking) < self._min_members:
            # Only members whose masked vector is in the sum are asked to unmask: fewer than
            # the minimum would make the "sum" one member's update (or two).
            self.too_few = len(unmasking)
            return []
        replies = list(self._inner.send_and_receive(sent, timeout=timeout))
        by_id = {m.metadata.message_id: m for m in sent}
        screened = [self._screen(r, by_id.get(r.metadata.reply_to_message_id)) for r in replies]
        if any(_secagg_stage(m) == Stage.COLLECT_MASKED_VECTORS for m in sent):
            self.masked_vectors = sum(
                not r.has_error()
                and Key.MASKED_PARAMETERS
                in r.content.config_records.get(RECORD_KEY_CONFIGS, ConfigRecord())
                for r in screened
            )
            if self.masked_vectors < self._min_members:
                self.too_few = self.masked_vectors
        answered = {r.metadata.src_node_id for r in screened}
        key_stage = {
            m.metadata.dst_node_id
            for m in sent
            if _secagg_stage(m) in (Stage.SETUP, Stage.SHARE_KEYS)
        }
        for reply in screened:
            if reply.has_error() and SAT_OUT_CODE in (reply.error.reason or ""):
                self.sat_out.add(reply.metadata.src_node_id)  # said so: not a failure
            elif reply.has_error():
                node_id = reply.metadata.src_node_id
                if node_id in key_stage:
                    self.missed_keys.add(node_id)
                self.notes.append(
                    f"member {self._label(node_id)} failed at {stages.get(node_id, '?')}: "
                    f"{reply.error.reason}"
                )
        for node_id, stage in stages.items():
            if node_id not in answered:
                if node_id in key_stage:
                    self.missed_keys.add(node_id)
                self.notes.append(f"member {self._label(node_id)} did not answer at {stage}")
        return screened

    def _screen(self, reply: Message, instruction: Message | None) -> Message:
        if reply.has_error() or instruction is None:
            return reply
        configs = reply.content.config_records.get(RECORD_KEY_CONFIGS, ConfigRecord())
        if Key.MASKED_PARAMETERS not in configs:
            return reply
        raw = configs[Key.MASKED_PARAMETERS]
        member = self._label(reply.metadata.src_node_id)
        try:
            if not isinstance(raw, list):
                raise UpdateRejected(member, None, code="count-mismatch", reason="no masked vector")
            arrays = [bytes_to_ndarray(b) for b in raw]  # type: ignore[arg-type]
            check_ndarrays(arrays, expected=self._layout, member=member, check_dtype=False)
        except (UpdateRejected, ValueError, OSError, EOFError) as err:
            logger.warning("masked update rejected: %s", err)
            reason = f"rejected by the coordinator: {err}"
            return Message(Error(ErrorCode.UNKNOWN, reason), reply_to=instruction)
        return reply


def _secagg_stage(msg: Message) -> str | None:
    """Return the SecAgg+ stage an instruction belongs to, or ``None``."""
    if msg.has_content() and RECORD_KEY_CONFIGS in msg.content.config_records:
        return str(msg.content.config_records[RECORD_KEY_CONFIGS].get(Key.STAGE))
    return None


def _stage_of(msg: Message) -> str:
    """Name the protocol step of an instruction: a SecAgg+ stage or the message type."""
    if msg.has_content() and RECORD_KEY_CONFIGS in msg.content.config_records:
        stage = msg.content.config_records[RECORD_KEY_CONFIGS].get(Key.STAGE)
        return f"SecAgg+ stage '{stage!s}'"
    return f"'{msg.metadata.message_type}'"
