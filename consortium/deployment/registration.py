"""SuperNode keys follow membership: admitting a member registers its key, removal unregisters it.

With ``--enable-supernode-auth`` the SuperLink lets a SuperNode in only while its public key is
registered. :class:`SuperNodeRegistry` is the coordinator's side of that list: it registers a
member's SuperNode public key under the member id (``flwr supernode register --name``, the
name the ServerApp reads as the node's member) and unregisters it again (``flwr supernode
unregister``), through the connection in the coordinator's ``FLWR_HOME``. It keeps which node
id each member's key got in ``FLWR_HOME/supernodes.json`` (Flower's ``supernode ls`` does not
list names), so that a removal names the member, not a node id.

:func:`register_supernode` and :func:`unregister_supernode` are the hooks membership changes
call (an executed ``admit`` proposal, a removal, an exit).

Examples
--------
>>> import tempfile
>>> registry = SuperNodeRegistry.at(Path(tempfile.mkdtemp()))
>>> registry.node_ids()
{}
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from consortium.deployment.certs import NodeKeyPaths, node_public_key
from consortium.deployment.flwr_cli import FlwrCli
from consortium.deployment.processes import flower_env
from consortium.errors import ConfigError, DeploymentError

__all__ = ["SuperNodeRegistry", "register_supernode", "unregister_supernode"]

logger = logging.getLogger(__name__)

REGISTRY_FILE = "supernodes.json"


class SuperNodeRegistry:
    """The members' SuperNode keys registered at the SuperLink, by member id.

    Parameters
    ----------
    cli : FlwrCli
        The coordinator's ``flwr`` commands (its ``FLWR_HOME`` names the SuperLink).
    """

    def __init__(self, cli: FlwrCli) -> None:
        self._cli = cli
        self._file = cli.flwr_home / REGISTRY_FILE

    @classmethod
    def at(cls, flwr_home: Path, *, timeout_s: float = 60.0) -> SuperNodeRegistry:
        """Return the registry of the coordinator whose ``FLWR_HOME`` is ``flwr_home``."""
        home = Path(flwr_home).resolve()
        env = lambda: flower_env(home, host="127.0.0.1", superexec_poll_s=0.2)  # noqa: E731
        return cls(FlwrCli(home, env=env, timeout_s=timeout_s))

    def node_ids(self) -> dict[str, int]:
        """Return member id -> node id of every member whose key is registered."""
        try:
            listed = json.loads(self._file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(str(self._file), f"unreadable SuperNode registry: {exc}") from exc
        return {str(m): int(n) for m, n in listed.items()}

    def register(self, member: str, public_key: Path | str | bytes) -> int:
        """Register ``member``'s SuperNode public key (a ``.pub`` file or its OpenSSH line).

        Raises
        ------
        DeploymentError
            ``already-registered``: the member has a registered key (unregister it first);
            ``cli-failed``: the SuperLink refused it (e.g. the key is in use).
        ConfigError
            The key is not an OpenSSH EC public key on a NIST curve.
        """
        known = self.node_ids()
        if member in known:
            raise DeploymentError(
                member,
                code="already-registered",
                reason=f"its SuperNode key is registered as node {known[member]}",
            )
        path = self._key_file(member, public_key)
        node_public_key(NodeKeyPaths(private_key=path, public_key=path))
        node_id = self._cli.register(path, name=member)
        self._save({**self.node_ids(), member: node_id})
        logger.info("registered the SuperNode key of %s as node %s", member, node_id)
        return node_id

    def unregister(self, member: str) -> int:
        """Unregister ``member``'s SuperNode key; return the node id it had.

        Raises
        ------
        DeploymentError
            ``unknown-member``: no key of the member is registered here.
        """
        known = self.node_ids()
        if member not in known:
            raise DeploymentError(
                member, code="unknown-member", reason="its SuperNode key is not registered"
            )
        node_id = known.pop(member)
        self._cli.unregister(node_id)
        self._save(known)
        logger.info("unregistered node %s of %s", node_id, member)
        return node_id

    def _key_file(self, member: str, public_key: Path | str | bytes) -> Path:
        if isinstance(public_key, Path):
            return public_key.resolve()
        text = public_key.decode() if isinstance(public_key, bytes) else public_key
        path = self._cli.flwr_home / "supernode-keys" / f"{member}.pub"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.strip() + "\n", encoding="ascii")
        return path

    def _save(self, node_ids: dict[str, int]) -> None:
        partial = self._file.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(node_ids, indent=1, sort_keys=True), encoding="utf-8")
        partial.replace(self._file)


def register_supernode(flwr_home: Path, *, member: str, public_key: Path | str | bytes) -> int:
    """Register an admitted member's SuperNode key with the coordinator's SuperLink.

    ``flwr_home`` is the coordinator's ``FLWR_HOME``, whose ``config.toml`` names the
    SuperLink connection (:data:`~consortium.deployment.flwr_cli.CONNECTION`).
    """
    return SuperNodeRegistry.at(flwr_home).register(member, public_key)


def unregister_supernode(flwr_home: Path, *, member: str) -> int:
    """Unregister a removed (or exited) member's SuperNode key: the SuperLink refuses it now."""
    return SuperNodeRegistry.at(flwr_home).unregister(member)
