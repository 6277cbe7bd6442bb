"""Issue 14, item 3: an unmask request that lists one member as both active and dropped.

A deviating coordinator runs a real SecAgg+ round (Flower's ``SecAggPlusWorkflow`` and
``secaggplus_mod``, three toy members on the one-machine ``LocalGrid``) through a ``Grid`` wrapper
that rewrites every unmask request so that the victim is listed active *and* dropped. A member
that answers hands over its share of the victim's self-mask seed *and* of its key; with two of
three shares of each, the coordinator strips every mask from the victim's own masked vector.
The wrapper hides the extra shares from Flower's workflow, so the round even completes normally.

With Flower's bare ``secaggplus_mod`` (what the kit's mod delegated to before the fix) the
victim's update is recovered exactly; with the kit's ``masked_updates_mod`` every member refuses.
"""

from __future__ import annotations

import os

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")

from collections.abc import Iterable  # noqa: E402

import numpy as np  # noqa: E402
from flwr.app import ConfigRecord, Context, Message  # noqa: E402
from flwr.client.mod import secaggplus_mod  # noqa: E402
from flwr.clientapp.typing import Mod  # noqa: E402
from flwr.common import bytes_to_ndarray  # noqa: E402
from flwr.common.secure_aggregation.crypto.shamir import combine_shares  # noqa: E402
from flwr.common.secure_aggregation.crypto.symmetric_encryption import (  # noqa: E402
    generate_shared_key,
)
from flwr.common.secure_aggregation.ndarrays_arithmetic import (  # noqa: E402
    factor_extract,
    parameters_addition,
    parameters_mod,
    parameters_subtraction,
)
from flwr.common.secure_aggregation.quantization import dequantize  # noqa: E402
from flwr.common.secure_aggregation.secaggplus_constants import (  # noqa: E402
    RECORD_KEY_CONFIGS,
    Key,
    Stage,
)
from flwr.common.secure_aggregation.secaggplus_utils import pseudo_rand_gen  # noqa: E402
from flwr.serverapp import Grid, ServerApp  # noqa: E402
from flwr.supercore.primitives.asymmetric import (  # noqa: E402
    bytes_to_private_key,
    bytes_to_public_key,
)

from consortium.errors import RoundFailed  # noqa: E402
from consortium.federation.grids import DelegatingGrid  # noqa: E402
from consortium.federation.local_grid import LocalGrid, serve  # noqa: E402
from consortium.federation.mods import make_update_guard_mod, masked_updates_mod  # noqa: E402
from consortium.federation.records import specs_of, state_dict_to_ndarrays  # noqa: E402
from consortium.federation.secagg import SecAggSettings, run_fedavg_round  # noqa: E402
from consortium.federation.toy import make_toy_client_app, toy_model  # noqa: E402
from tests.federation.conftest import last_update, member_nodes  # noqa: E402

SETTINGS = SecAggSettings(clipping_range=8.0, max_weight=100.0)
MODULUS = 2**32
VICTIM = "m1"


class OverlappingUnmaskGrid(DelegatingGrid):
    """A coordinator's grid that lists the victim as active and dropped in every unmask request.

    From each answer it takes the victim's second share (its key share) and passes the rest on,
    so that Flower's workflow finishes the round as if nothing happened.
    """

    def __init__(self, inner: Grid, victim: int, *, self_dropped: bool = False) -> None:
        super().__init__(inner)
        self.victim = victim
        self.self_dropped = self_dropped  # instead: list each member itself as dropped
        self.seed_shares: list[bytes] = []
        self.key_shares: list[bytes] = []
        self.unmask_answers = 0
        self.unmask_refusals = 0

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        sent = list(messages)
        unmask = False
        for msg in sent:
            cfg = msg.content.config_records.get(RECORD_KEY_CONFIGS, ConfigRecord())
            if cfg.get(Key.STAGE) == Stage.UNMASK:
                unmask = True
                dead = list(cfg[Key.DEAD_NODE_ID_LIST])  # type: ignore[arg-type]
                if self.self_dropped:
                    me = msg.metadata.dst_node_id
                    active = list(cfg[Key.ACTIVE_NODE_ID_LIST])  # type: ignore[arg-type]
                    cfg[Key.ACTIVE_NODE_ID_LIST] = [n for n in active if n != me]
                    cfg[Key.DEAD_NODE_ID_LIST] = [*dead, me]
                else:
                    cfg[Key.DEAD_NODE_ID_LIST] = [*dead, self.victim]
        replies = list(self._inner.send_and_receive(sent, timeout=timeout))
        if unmask:
            for reply in replies:
                if reply.has_error():
                    self.unmask_refusals += 1
                    continue
                self.unmask_answers += 1
                self._take_key_share(reply)
        return replies

    def _take_key_share(self, reply: Message) -> None:
        cfg = reply.content.config_records[RECORD_KEY_CONFIGS]
        nids = list(cfg[Key.NODE_ID_LIST])  # type: ignore[arg-type]
        shares = list(cfg[Key.SHARE_LIST])  # type: ignore[arg-type]
        at = [i for i, n in enumerate(nids) if n == self.victim]
        if len(at) == 2:  # the first is the seed share (active), the second the key share (dead)
            self.seed_shares.append(shares[at[0]])  # type: ignore[arg-type]
            self.key_shares.append(shares.pop(at[1]))  # type: ignore[arg-type]
            nids.pop(at[1])
            cfg[Key.NODE_ID_LIST] = nids
            cfg[Key.SHARE_LIST] = shares


def _stage_replies(grid: LocalGrid, key: str) -> dict[int, object]:
    """Node id -> the value of ``key`` in its SecAgg+ replies the coordinator received."""
    out: dict[int, object] = {}
    for msg in grid.received:
        if msg.has_error():
            continue
        cfg = msg.content.config_records.get(RECORD_KEY_CONFIGS, ConfigRecord())
        if key in cfg:
            out[msg.metadata.src_node_id] = cfg[key]
    return out


def recover_victims_update(grid: LocalGrid, attack: OverlappingUnmaskGrid) -> list[np.ndarray]:
    """Strip every mask from the victim's masked vector with the shares the attack collected."""
    victim = attack.victim
    masked = [bytes_to_ndarray(b) for b in _stage_replies(grid, Key.MASKED_PARAMETERS)[victim]]  # type: ignore[attr-defined]
    shapes = [a.shape for a in masked]
    seed = combine_shares(attack.seed_shares)
    masked = parameters_subtraction(masked, pseudo_rand_gen(seed, MODULUS, shapes))
    sk1 = bytes_to_private_key(combine_shares(attack.key_shares))
    for nid, pk1 in _stage_replies(grid, Key.PUBLIC_KEY_1).items():
        if nid == victim:
            continue
        pairwise = pseudo_rand_gen(
            generate_shared_key(sk1, bytes_to_public_key(pk1)),  # type: ignore[arg-type]
            MODULUS,
            shapes,
        )
        masked = (
            parameters_subtraction(masked, pairwise)
            if victim > nid
            else parameters_addition(masked, pairwise)
        )
    q_ratio, quantized = factor_extract(parameters_mod(masked, MODULUS))
    values = dequantize(quantized, SETTINGS.clipping_range, SETTINGS.quantization_range)
    return [v * SETTINGS.quantization_range / q_ratio for v in values]


def _attack(
    mods: list[Mod], *, self_dropped: bool = False
) -> tuple[LocalGrid, OverlappingUnmaskGrid, dict[str, object]]:
    grid = LocalGrid(make_toy_client_app(secure=True, mods=mods), nodes=member_nodes(3),
                     record=True)  # fmt: skip
    attack = OverlappingUnmaskGrid(grid, grid.node_id_of(VICTIM), self_dropped=self_dropped)
    seen: dict[str, object] = {}
    app = ServerApp()

    @app.main()
    def main(_grid: Grid, context: Context) -> None:
        sd = toy_model().state_dict()
        try:
            seen["outcome"] = run_fedavg_round(
                attack, context, global_arrays=state_dict_to_ndarrays(sd),
                expected=specs_of(sd), secagg=SETTINGS, node_labels=grid.node_labels(),
            )  # fmt: skip
        except RoundFailed as err:
            seen["error"] = err

    serve(app, grid, run_config={})
    return grid, attack, seen


def test_flowers_bare_mod_hands_over_one_members_update_to_overlapping_lists() -> None:
    # Prepare / Execute: what the kit's mod did before the fix (it delegated to Flower's mod).
    grid, attack, seen = _attack([secaggplus_mod, make_update_guard_mod()])
    # Assert: every member answered, the round "completed", and the victim's update came out.
    assert attack.unmask_answers == 3
    assert attack.unmask_refusals == 0
    assert "outcome" in seen
    assert len(attack.key_shares) >= 2
    recovered = recover_victims_update(grid, attack)
    update, n = last_update(grid, VICTIM)
    weight_ratio = n / SETTINGS.max_weight
    quantum = 2 * SETTINGS.clipping_range / SETTINGS.quantization_range / weight_ratio
    for got, want in zip(recovered, update, strict=True):
        np.testing.assert_allclose(got, np.asarray(want, dtype=np.float64), atol=2 * quantum)


def test_members_refuse_an_unmask_request_with_overlapping_lists() -> None:
    # Prepare / Execute: the kit's production mods.
    grid, attack, seen = _attack([masked_updates_mod, make_update_guard_mod()])
    # Assert: nobody handed over a share, no key share of the victim left any member.
    assert attack.unmask_answers == 0
    assert attack.unmask_refusals == 3
    assert attack.key_shares == []
    assert attack.seed_shares == []
    assert "outcome" not in seen
    refusals = [m.error.reason for m in grid.received if m.has_error()]
    assert len(refusals) == 3
    assert all("unmask-refused" in r and "active and dropped" in r for r in refusals), refusals


def test_members_refuse_an_unmask_request_that_names_themselves_dropped() -> None:
    # Prepare / Execute: each member is told it dropped (it would hand over its own key share).
    grid, attack, seen = _attack([masked_updates_mod, make_update_guard_mod()], self_dropped=True)
    # Assert
    assert attack.unmask_answers == 0
    refusals = [m.error.reason for m in grid.received if m.has_error()]
    assert len(refusals) == 3
    assert all("unmask-refused" in r and "as dropped" in r for r in refusals), refusals
    assert "outcome" not in seen
