"""Flower's deployment runtime, supervised by the kit: a SuperLink and one SuperNode per member.

This package drives Flower's executables (``flower-superlink``, ``flower-supernode``, ``flwr``)
as processes and imports no ``flwr`` module itself; the apps those processes load live in
:mod:`consortium.federation`.

Modules
-------
certs
    The consortium's certificate authority: TLS material for the SuperLink, SuperNode keys.
nodes
    ``MemberNode`` (one member's SuperNode and its node config) and ``member_nodes``.
app_dir
    ``toml_table`` for Flower's config files and ``write_kit_app`` (the kit's Flower App).
processes
    Ports, executables, environments, spawning, signalling and log tails of the processes.
flwr_cli
    ``FlwrCli``: the coordinator's ``flwr`` commands (register keys, run, wait, log).
registration
    ``SuperNodeRegistry``, ``register_supernode``, ``unregister_supernode``: members' SuperNode
    keys at the SuperLink follow membership.
supervisor
    ``LocalDeployment``: starts, watches and stops the SuperLink and SuperNodes.
rehearsal
    ``connect_member_node``: one member's SuperNode connected to a SuperLink on loopback.
"""

from consortium.deployment.app_dir import ConfigValue, toml_table, write_kit_app
from consortium.deployment.certs import (
    DEFAULT_HOSTS,
    CertPaths,
    NodeKeyPaths,
    generate_certificates,
    generate_node_key,
    node_public_key,
)
from consortium.deployment.flwr_cli import CONNECTION, FlwrCli, RunResult
from consortium.deployment.nodes import MemberNode, member_nodes
from consortium.deployment.registration import (
    SuperNodeRegistry,
    register_supernode,
    unregister_supernode,
)
from consortium.deployment.supervisor import LocalDeployment, Tuning
from consortium.errors import DeploymentError

__all__ = [
    "CONNECTION",
    "DEFAULT_HOSTS",
    "CertPaths",
    "ConfigValue",
    "DeploymentError",
    "FlwrCli",
    "LocalDeployment",
    "MemberNode",
    "NodeKeyPaths",
    "RunResult",
    "SuperNodeRegistry",
    "Tuning",
    "generate_certificates",
    "generate_node_key",
    "member_nodes",
    "node_public_key",
    "register_supernode",
    "toml_table",
    "unregister_supernode",
    "write_kit_app",
]
