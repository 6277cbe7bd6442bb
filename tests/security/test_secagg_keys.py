"""Issue 14, item 4: a coordinator that substitutes a SecAgg+ public key it controls.

Three toy members on the one-machine ``LocalGrid`` run a real SecAgg+ round. The coordinator's
grid replaces the victim's two public keys, in the share-keys messages to the *other* members,
with a key pair of its own. With Flower's bare ``secaggplus_mod`` the others encrypt the
victim's shares of their secrets to the coordinator's key, and the coordinator decrypts them.
With the kit's mods and each member's key bound to its member key (node configs ``member-key``
and ``member-keys``), the others refuse to share anything.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")

from collections.abc import Iterable  # noqa: E402
from pathlib import Path  # noqa: E402

from flwr.app import ConfigRecord, Context, Message  # noqa: E402
from flwr.client.mod import secaggplus_mod  # noqa: E402
from flwr.clientapp.typing import Mod  # noqa: E402
from flwr.common.secure_aggregation.crypto.symmetric_encryption import (  # noqa: E402
    decrypt,
    generate_shared_key,
)
from flwr.common.secure_aggregation.secaggplus_constants import (  # noqa: E402
    RECORD_KEY_CONFIGS,
    Key,
    Stage,
)
from flwr.common.secure_aggregation.secaggplus_utils import (  # noqa: E402
    share_keys_plaintext_separate,
)
from flwr.serverapp import Grid, ServerApp  # noqa: E402
from flwr.supercore.primitives.asymmetric import (  # noqa: E402
    bytes_to_public_key,
    generate_key_pairs,
    public_key_to_bytes,
)

from consortium.errors import RoundFailed  # noqa: E402
from consortium.federation.grids import DelegatingGrid  # noqa: E402
from consortium.federation.local_grid import LocalGrid, serve  # noqa: E402
from consortium.federation.mods import make_update_guard_mod, masked_updates_mod  # noqa: E402
from consortium.federation.records import specs_of, state_dict_to_ndarrays  # noqa: E402
from consortium.federation.secagg import SecAggSettings, run_fedavg_round  # noqa: E402
from consortium.federation.toy import make_toy_client_app, toy_model  # noqa: E402
from consortium.identity.keys import generate_key_file  # noqa: E402
from tests.federation.conftest import member_nodes  # noqa: E402

VICTIM = "m1"


class SwapKeyGrid(DelegatingGrid):
    """Forwards the victim's keys to the others as a key pair the coordinator holds."""

    def __init__(self, inner: Grid, victim: int) -> None:
        super().__init__(inner)
        self.victim = victim
        self.sk1, pk1 = generate_key_pairs()
        self.sk2, pk2 = generate_key_pairs()
        self.fake = [public_key_to_bytes(pk1), public_key_to_bytes(pk2)]
        self.stolen: list[bytes] = []  # shares the others meant for the victim
        self.share_refusals = 0

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        sent = list(messages)
        sharing = False
        for msg in sent:
            cfg = msg.content.config_records.get(RECORD_KEY_CONFIGS, ConfigRecord())
            if cfg.get(Key.STAGE) == Stage.SHARE_KEYS:
                sharing = True
                if msg.metadata.dst_node_id != self.victim:
                    cfg[str(self.victim)] = list(self.fake)
        replies = list(self._inner.send_and_receive(sent, timeout=timeout))
        if sharing:
            for reply in replies:
                if reply.has_error():
                    self.share_refusals += 1
                    continue
                self._steal(reply, sent)
        return replies

    def _steal(self, reply: Message, sent: list[Message]) -> None:
        cfg = reply.content.config_records[RECORD_KEY_CONFIGS]
        src = reply.metadata.src_node_id
        pk2_of_src = next(
            m.content.config_records[RECORD_KEY_CONFIGS][str(src)]
            for m in sent
            if m.metadata.dst_node_id == src
        )[1]  # type: ignore[index]
        key = generate_shared_key(self.sk2, bytes_to_public_key(pk2_of_src))  # type: ignore[arg-type]
        for dst, ciphertext in zip(cfg[Key.DESTINATION_LIST], cfg[Key.CIPHERTEXT_LIST],  # type: ignore[arg-type]
                                   strict=True):  # fmt: skip
            if dst == self.victim:
                _, _, seed_share, key_share = share_keys_plaintext_separate(
                    decrypt(key, ciphertext)  # type: ignore[arg-type]
                )
                self.stolen += [seed_share, key_share]


def _keyed_nodes(tmp: Path) -> dict[str, dict[str, str]]:
    nodes = member_nodes(3)
    trusted = {m: generate_key_file(tmp / f"{m}.key").public_key.hex() for m in nodes}
    (tmp / "trusted.json").write_text(json.dumps(trusted), encoding="utf-8")
    for member, cfg in nodes.items():
        cfg |= {"member-key": str(tmp / f"{member}.key"), "member-keys": str(tmp / "trusted.json")}
    return nodes


def _round(grid: LocalGrid, attack: Grid) -> dict[str, object]:
    seen: dict[str, object] = {}
    app = ServerApp()

    @app.main()
    def main(_grid: Grid, context: Context) -> None:
        sd = toy_model().state_dict()
        try:
            seen["outcome"] = run_fedavg_round(
                attack, context, global_arrays=state_dict_to_ndarrays(sd), expected=specs_of(sd),
                secagg=SecAggSettings(clipping_range=8.0, max_weight=100.0),
                node_labels=grid.node_labels(),
            )  # fmt: skip
        except RoundFailed as err:
            seen["error"] = err

    serve(app, grid, run_config={})
    return seen


def _grid(mods: list[Mod], nodes: dict[str, dict[str, str]]) -> LocalGrid:
    return LocalGrid(make_toy_client_app(secure=True, mods=mods), nodes=nodes, record=True)


def test_bound_keys_let_an_honest_round_complete(tmp_path: Path) -> None:
    # Prepare
    grid = _grid([masked_updates_mod, make_update_guard_mod()], _keyed_nodes(tmp_path))
    # Execute
    seen = _round(grid, grid)
    # Assert
    assert "outcome" in seen, seen.get("error")
    assert not any(m.has_error() for m in grid.received)


def test_flowers_bare_mod_shares_secrets_with_a_substituted_key(tmp_path: Path) -> None:
    # Prepare: what the kit's mod did before the fix (it delegated to Flower's mod).
    grid = _grid([secaggplus_mod, make_update_guard_mod()], _keyed_nodes(tmp_path))
    attack = SwapKeyGrid(grid, grid.node_id_of(VICTIM))
    # Execute
    _round(grid, attack)
    # Assert: both other members encrypted their shares for the victim to the coordinator's key.
    assert attack.share_refusals == 0
    assert len(attack.stolen) == 4  # a seed share and a key share from each of the two others


def test_members_refuse_to_share_with_a_key_not_signed_by_its_member(tmp_path: Path) -> None:
    # Prepare: the kit's production mods, each member's keys bound to its member key.
    grid = _grid([masked_updates_mod, make_update_guard_mod()], _keyed_nodes(tmp_path))
    attack = SwapKeyGrid(grid, grid.node_id_of(VICTIM))
    # Execute
    seen = _round(grid, attack)
    # Assert: the two others refused, nothing was stolen, the round failed.
    assert attack.stolen == []
    assert attack.share_refusals == 2
    refusals = [m.error.reason for m in grid.received if m.has_error()]
    assert sum("key-unbound" in r for r in refusals) == 2, refusals
    assert "outcome" not in seen
