"""A member's SuperNode connected to a SuperLink on loopback: the last step of joining, rehearsed.

After the board admits a company, the coordinator registers its SuperNode key with the SuperLink
(``consortium members supernodes-sync``) and the company starts ``flower-supernode`` with that
key. :func:`connect_member_node` does both on this machine with real processes (TLS with the
kit's CA, SuperNode authentication) and reports what the SuperLink itself says about the node;
a node whose key the SuperLink does not know never comes online.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from consortium.deployment.app_dir import ConfigValue
from consortium.deployment.certs import NodeKeyPaths
from consortium.deployment.nodes import MemberNode
from consortium.deployment.supervisor import LocalDeployment, Tuning

__all__ = ["NodeConnection", "connect_member_node"]


@dataclass(frozen=True)
class NodeConnection:
    """What the SuperLink reported about the member's node.

    Attributes
    ----------
    member : str
        The member id the key was registered under.
    node_id : int
        The SuperLink's id for the node (from the registered key).
    status : str
        The SuperLink's own status of the node (``online`` once connected).
    superlink : str
        ``host:port`` of the SuperLink it dialled (TLS, SuperNode authentication).
    seconds : float
        From the SuperLink's start to the node online, wall time.
    """

    member: str
    node_id: int
    status: str
    superlink: str
    seconds: float


def connect_member_node(
    workdir: Path,
    *,
    member: str,
    node_key: NodeKeyPaths,
    node_config: Mapping[str, ConfigValue],
    tuning: Tuning | None = None,
) -> NodeConnection:
    """Start a SuperLink on loopback, register ``node_key`` for ``member``, connect its node.

    The SuperLink runs with TLS (certificates made under ``workdir`` by the kit's CA) and
    SuperNode authentication; ``flower-supernode`` runs with the member's own private key and
    ``node_config`` (``member-id``, ``data-path``, ``home``, ``epsilon``, ...). Both are stopped
    before this returns.

    Raises
    ------
    DeploymentError
        If a process does not start or the node is not online within ``tuning``'s timeout.
    """
    started = time.monotonic()
    node = MemberNode(member, dict(node_config), key=node_key)
    with LocalDeployment(Path(workdir), members=[node], tuning=tuning) as deployment:
        node_id = deployment.node_id(member)
        assert node_id is not None  # start() registered it and waited for it online
        status = deployment.nodes().get(node_id, "unknown")
        address = deployment.superlink_address
    return NodeConnection(member=member, node_id=node_id, status=status, superlink=address,
                          seconds=time.monotonic() - started)  # fmt: skip
