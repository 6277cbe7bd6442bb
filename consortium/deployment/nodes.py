"""Which SuperNodes a deployment starts: one :class:`MemberNode` per member, with its node config.

Examples
--------
>>> node = MemberNode("m1", {"member-id": "m1", "epsilon": 4.0})
>>> node.register
True
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from consortium.deployment.app_dir import ConfigValue
from consortium.deployment.certs import NodeKeyPaths
from consortium.errors import ConfigError
from consortium.privacy.state import member_state_dir

__all__ = ["MemberNode", "member_nodes"]


@dataclass(frozen=True)
class MemberNode:
    """One member's SuperNode.

    Attributes
    ----------
    member : str
        Member id (``[a-z0-9][a-z0-9-]{1,63}``); names its files, logs and default key.
    node_config : Mapping[str, ConfigValue]
        Passed to ``--node-config`` (``member-id``, ``data-path``, ``home``, ...).
    key : NodeKeyPaths | None
        Its SuperNode key pair; ``None`` makes one under the work directory.
    register : bool, default True
        Register its public key at start; ``False`` models a node that was never admitted.
    """

    member: str
    node_config: Mapping[str, ConfigValue] = field(default_factory=dict)
    key: NodeKeyPaths | None = None
    register: bool = True

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,63}", self.member):
            raise ConfigError("member", f"{self.member!r} is not a member id token")


def member_nodes(
    members_dir: Path,
    *,
    model: str,
    epsilon: float,
    state_dir: Path | None = None,
    limit: int | None = None,
    member_keys: Path | None = None,
) -> list[MemberNode]:
    """One :class:`MemberNode` per member with data for ``model`` (as ``consortium federate``).

    ``members_dir`` is a members folder (one entry per member, see
    :func:`consortium.federation.runner.discover_members`) or a synthetic consortium's root
    (holding ``members/``). Each node gets ``member-id``, ``data-path``, its own budget
    ``epsilon`` (the coordinator's run config sets none) and ``home``, the member's state
    folder (:func:`consortium.privacy.state.member_state_dir`: with its data, or
    ``state_dir/<member>``); ``limit`` keeps the first ones by id. With ``member_keys`` (a
    folder of the members' ledger keys, ``<member>.key``) each node also gets ``member-key``
    and ``member-keys``: it signs its SecAgg+ keys with its member key and refuses keys that
    no listed member signed
    (:func:`~consortium.federation.key_binding.binding_node_configs`).

    Raises
    ------
    ConfigError
        If no member has data for ``model``, or ``epsilon`` is not a positive number.
    """
    from consortium.federation.key_binding import binding_node_configs  # noqa: PLC0415
    from consortium.federation.runner import discover_members  # noqa: PLC0415  (torch)

    if not float(epsilon) > 0:
        raise ConfigError("epsilon", f"each member's budget must be > 0, got {epsilon}")
    members_dir = Path(members_dir)
    if (members_dir / "members").is_dir():
        members_dir = members_dir / "members"
    found = sorted(discover_members(members_dir, model).items())[:limit]  # type: ignore[arg-type]
    if not found:
        raise ConfigError("members", f"no member in {members_dir} has data for the {model} model")
    bindings = binding_node_configs(dict(found), member_keys) if member_keys is not None else {}
    nodes = []
    for member, path in found:
        config: dict[str, ConfigValue] = {
            "member-id": member,
            "data-path": str(path.resolve()),
            "home": str(
                member_state_dir(
                    path.resolve(),
                    member=member,
                    state_dir=Path(state_dir).resolve() if state_dir is not None else None,
                )
            ),
            "epsilon": float(epsilon),
            **bindings.get(member, {}),
        }
        nodes.append(MemberNode(member, config))
    return nodes
