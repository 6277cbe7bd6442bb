"""Whose keys: each member's SecAgg+ public keys signed by its member key, checked by the others.

In SecAgg+ every member encrypts its secret shares to the other members' public keys, which only
the coordinator forwards. A coordinator that substitutes a key it controls for one member's
receives that member's shares of everyone's secrets. So (issue 14, item 4):

* at the setup stage a member with a member key (node config ``member-key``: its Ed25519 key
  file, the key the ledger registered for it) signs :func:`binding_bytes` of its two SecAgg+
  public keys, bound to the run, the round, its node id and its member id, and sends the
  signature beside them (the ConfigRecord :data:`BINDING_RECORD`);
* the coordinator forwards every signature with the keys (:class:`KeyBindingGrid`);
* at the share-keys stage a member that names the members it trusts (node config
  ``member-keys``: a JSON file ``{member id: public key hex}``, e.g. from the ledger's
  ``key-registered`` entries) refuses to share unless every forwarded key pair carries a valid
  signature of a distinct listed member (:func:`check_bindings`, code ``key-unbound``).

:func:`binding_node_configs` writes both keys of every member's node config from a folder of
member keys (``consortium federate --member-keys``, ``consortium federation up --member-keys``).

Not covered: a member without ``member-keys`` checks nothing (the one-machine test consortium);
the registry is what the member was given, so a stale one trusts a removed member.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from flwr.app import ConfigRecord, Context, Message
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key, Stage
from flwr.serverapp import Grid

from consortium.errors import ConfigError, UpdateRejected
from consortium.federation.grids import DelegatingGrid
from consortium.federation.member.node import member_label
from consortium.identity.keys import KeyFileError, load_public_key, load_signer, public_key_path
from consortium.ledger.signing import Signer, is_valid_signature

__all__ = [
    "BINDING_RECORD",
    "KeyBindingGrid",
    "binding_bytes",
    "binding_node_configs",
    "check_bindings",
    "sign_own_keys",
]

logger = logging.getLogger(__name__)

BINDING_RECORD = "consortium.key-bindings"
"""The ConfigRecord beside SecAgg+'s own that carries members' signatures of their keys."""
MEMBER_KEY = "member-key"
TRUSTED_KEYS = "member-keys"


def binding_node_configs(members: Iterable[str], keys_dir: Path) -> dict[str, dict[str, str]]:
    """Return member id -> the node config that binds its SecAgg+ keys to its member key.

    ``keys_dir`` holds each member's ledger member key (``<member>.key`` and its ``.pub``, as
    :func:`~consortium.identity.keys.generate_key_file` writes them). Each node config names
    its own key file (``member-key``) and the members it trusts (``member-keys``): a JSON file
    of exactly these members' public keys, written beside them and named by its content (so a
    run with other members never reads a list cached for this one).

    Raises
    ------
    ConfigError
        A member's key file or public key file is missing or unreadable.
    """
    keys_dir = Path(keys_dir).resolve()
    chosen = sorted(set(members))
    trusted: dict[str, str] = {}
    for member in chosen:
        key = keys_dir / f"{member}.key"
        if not key.is_file():
            raise ConfigError(MEMBER_KEY, f"no member key {key} for member {member!r}")
        try:
            trusted[member] = load_public_key(public_key_path(key)).hex()
        except KeyFileError as exc:
            raise ConfigError(MEMBER_KEY, str(exc)) from exc
    text = json.dumps(trusted, sort_keys=True, indent=1) + "\n"
    listed = keys_dir / f"member-keys-{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"
    if not listed.is_file():
        partial = listed.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(listed)
    return {m: {MEMBER_KEY: str(keys_dir / f"{m}.key"), TRUSTED_KEYS: str(listed)} for m in chosen}


def binding_bytes(  # noqa: PLR0913
    *, run_id: int, group_id: str, node_id: int, member: str, pk1: bytes, pk2: bytes
) -> bytes:
    """Return the canonical bytes a member signs for its SecAgg+ keys of one round.

    Examples
    --------
    >>> binding_bytes(run_id=1, group_id="2", node_id=3, member="m", pk1=b"a", pk2=b"b")[:25]
    b'consortium/secagg-keys/v1'
    """
    body = {"run": run_id, "round": group_id, "node": node_id, "member": member,
            "pk1": pk1.hex(), "pk2": pk2.hex()}  # fmt: skip
    return b"consortium/secagg-keys/v1\n" + json.dumps(body, sort_keys=True).encode()


def sign_own_keys(msg: Message, reply: Message, ctxt: Context) -> None:
    """After the setup stage, add this member's signature of its keys to ``reply`` (if keyed)."""
    path = ctxt.node_config.get(MEMBER_KEY)
    if path is None or reply.has_error():
        return
    configs = reply.content.config_records[RECORD_KEY_CONFIGS]
    member = member_label(ctxt.node_config, ctxt.node_id)
    data = binding_bytes(
        run_id=msg.metadata.run_id, group_id=msg.metadata.group_id,
        node_id=msg.metadata.dst_node_id, member=member,
        pk1=bytes(configs[Key.PUBLIC_KEY_1]), pk2=bytes(configs[Key.PUBLIC_KEY_2]),  # type: ignore[arg-type]
    )  # fmt: skip
    signature = _signer(str(path)).sign(data)
    reply.content.config_records[BINDING_RECORD] = ConfigRecord(
        {"member": member, "signature": signature}
    )


def check_bindings(msg: Message, ctxt: Context) -> None:
    """Refuse a share-keys stage whose keys are not each signed by a distinct trusted member.

    Raises
    ------
    UpdateRejected
        ``key-unbound``, naming the node whose keys are unsigned, signed by an unknown member,
        by a member bound twice, or whose signature does not match.
    """
    path = ctxt.node_config.get(TRUSTED_KEYS)
    if path is None:
        return
    trusted = _trusted(str(path))
    me = member_label(ctxt.node_config, ctxt.node_id)
    configs = msg.content.config_records[RECORD_KEY_CONFIGS]
    bindings = msg.content.config_records.get(BINDING_RECORD, ConfigRecord())
    seen: set[str] = set()
    for key, value in configs.items():
        if key == Key.STAGE:
            continue
        node, (pk1, pk2) = int(key), list(value)  # type: ignore[arg-type]
        member = str(bindings.get(f"{node}:member", ""))
        signature = bindings.get(f"{node}:signature", b"")
        data = binding_bytes(run_id=msg.metadata.run_id, group_id=msg.metadata.group_id,
                             node_id=node, member=member, pk1=pk1, pk2=pk2)  # type: ignore[arg-type]  # fmt: skip
        own = node == msg.metadata.dst_node_id
        if (
            member not in trusted
            or member in seen
            or (own and member != me)
            or not isinstance(signature, bytes)
            or not is_valid_signature(trusted[member], signature, data)
        ):
            logger.warning("%s: SecAgg+ keys of node %s are not bound to a member", me, node)
            raise UpdateRejected(
                me, None, code="key-unbound",
                reason=f"the SecAgg+ keys of node {node} carry no valid signature of a member "
                "it trusts; it shares no secret with them",
            )  # fmt: skip
        seen.add(member)


class KeyBindingGrid(DelegatingGrid):
    """The coordinator forwards each member's key signature with its keys (share-keys stage)."""

    def __init__(self, inner: Grid) -> None:
        super().__init__(inner)
        self._bindings: dict[int, tuple[str, bytes]] = {}

    def send_and_receive(  # noqa: D102
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        sent = list(messages)
        for msg in sent:
            if _stage(msg) == Stage.SHARE_KEYS and self._bindings:
                record = ConfigRecord()
                for node, (member, signature) in self._bindings.items():
                    record[f"{node}:member"] = member
                    record[f"{node}:signature"] = signature
                msg.content.config_records[BINDING_RECORD] = record
        replies = list(self._inner.send_and_receive(sent, timeout=timeout))
        if any(_stage(m) == Stage.SETUP for m in sent):
            self._bindings = {}
            for reply in replies:
                if reply.has_error():
                    continue
                signed = reply.content.config_records.get(BINDING_RECORD)
                if signed is not None:
                    self._bindings[reply.metadata.src_node_id] = (
                        str(signed["member"]), bytes(signed["signature"]),  # type: ignore[arg-type]
                    )  # fmt: skip
        return replies


def _stage(msg: Message) -> str | None:
    if not msg.has_content():
        return None
    configs = msg.content.config_records.get(RECORD_KEY_CONFIGS)
    return None if configs is None else str(configs.get(Key.STAGE))


@lru_cache(maxsize=8)
def _signer(path: str) -> Signer:
    return load_signer(Path(path))


@lru_cache(maxsize=8)
def _trusted(path: str) -> dict[str, bytes]:
    try:
        listed = json.loads(Path(path).read_text(encoding="utf-8"))
        return {str(m): bytes.fromhex(str(k)) for m, k in listed.items()}
    except (OSError, ValueError, AttributeError) as exc:
        reason = f"cannot read the trusted member keys {path}: {exc}"
        raise ConfigError(TRUSTED_KEYS, reason) from exc
