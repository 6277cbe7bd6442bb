"""Flower's deployment runtime on one machine: a SuperLink and one SuperNode per member.

:class:`LocalDeployment` starts the real processes of flwr 1.42 on loopback, exactly as the
consortium runs them across machines, and drives them only through Flower's own command line:

- ``flower-superlink`` with TLS (certificates from :mod:`consortium.deployment.certs`) and
  ``--enable-supernode-auth``; its Fleet, Control and Runtime APIs share one ``--port``;
  ``--disable-runtime-dependency-installation`` so that nothing is ever installed;
- ``flwr supernode register <key.pub> <connection> --name <member>`` for every admitted
  member's public key (``flwr supernode unregister <node id>`` for a removed one; both through
  :class:`~consortium.deployment.registration.SuperNodeRegistry`), using a connection written to
  ``$FLWR_HOME/config.toml`` (the coordinator's own ``FLWR_HOME`` under the work directory; no
  ``local`` connection exists there, so no background SuperLink can ever be started);
- ``flower-supernode --root-certificates ca.pem --auth-supernode-private-key <key>`` per
  member, each with its own Runtime API ``--port``, its own ``FLWR_HOME`` and its
  ``--node-config`` (a TOML file: ``member-id``, ``data-path``, ``home``, ...); a SuperNode
  whose key is not registered is refused by the SuperLink and exits;
- ``flwr run <app> <connection> --run-config <file>``, then ``flwr ls --run-id`` until the run
  finishes and ``flwr log`` for its log (the ``flwr`` calls go through
  :class:`~consortium.deployment.flwr_cli.FlwrCli`).

Every process gets ``FLWR_TELEMETRY_ENABLED=0`` and ``FLWR_DISABLE_UPDATE_CHECK=1`` and runs in
its own session; :meth:`LocalDeployment.stop` (also run by ``with`` and at interpreter exit)
terminates each session and every descendant, including those Flower detaches.

Round time is dominated by fixed 3 s polls inside flwr (SuperNode pull, ServerApp grid) and one
``flwr-clientapp`` process per message; the SuperExec poll is the only tunable one
(``FLWR_SUPEREXEC_TASK_POLL_INTERVAL``, set to :attr:`Tuning.superexec_poll_s`).

Examples
--------
>>> from pathlib import Path
>>> import tempfile
>>> work = Path(tempfile.mkdtemp())
>>> members = [MemberNode(f"m{i}", {"member-id": f"m{i}"}) for i in range(3)]
>>> with LocalDeployment(work, members=members) as dep:  # doctest: +SKIP
...     run_id = dep.run(Path("tests/deployment/deploy_app"), run_config={"rounds": 1})
...     dep.wait(run_id).ok
True
"""

from __future__ import annotations

import atexit
import logging
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from consortium.deployment import processes
from consortium.deployment.app_dir import ConfigValue, toml_table
from consortium.deployment.certs import (
    CertPaths,
    NodeKeyPaths,
    generate_certificates,
    generate_node_key,
)
from consortium.deployment.flwr_cli import FlwrCli, RunResult
from consortium.deployment.nodes import MemberNode
from consortium.deployment.registration import REGISTRY_FILE, SuperNodeRegistry
from consortium.errors import ConfigError, DeploymentError

__all__ = ["LocalDeployment", "Tuning"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tuning:
    """Timeouts and the one tunable poll interval (seconds)."""

    superexec_poll_s: float = 0.2
    ready_timeout_s: float = 90.0
    status_poll_s: float = 2.0
    stop_grace_s: float = 8.0
    cli_timeout_s: float = 60.0


class LocalDeployment:
    """A SuperLink and one SuperNode per member, as processes on loopback (see module doc).

    Parameters
    ----------
    workdir : Path
        Holds certificates, keys, each party's ``FLWR_HOME``, config files and ``logs/``.
    members : Sequence[MemberNode]
        The SuperNodes :meth:`start` launches (registered ones are awaited online).
    host : str, default "127.0.0.1"
        Loopback address every API binds to.
    certs : CertPaths | None
        Existing TLS material; ``None`` generates it under ``workdir/certs``.
    tuning : Tuning
        Timeouts and poll intervals.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        members: Sequence[MemberNode],
        host: str = "127.0.0.1",
        certs: CertPaths | None = None,
        tuning: Tuning | None = None,
    ) -> None:
        names = [m.member for m in members]
        if len(set(names)) != len(names):
            raise ConfigError("members", "member ids must be unique")
        self.workdir = Path(workdir).resolve()
        self.host = host
        self.tuning = tuning or Tuning()
        self._members = {m.member: m for m in members}
        self._certs = certs
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._keys: dict[str, NodeKeyPaths] = {}
        self._port = 0
        self._runs = 0
        self._cli = FlwrCli(
            self.flwr_home,
            env=lambda: self._env(self.flwr_home),
            timeout_s=self.tuning.cli_timeout_s,
        )
        self.registry = SuperNodeRegistry(self._cli)
        """Which member's SuperNode key is registered, as node id (register, unregister)."""

    # ----------------------------------------------------------------- paths and env
    @property
    def log_dir(self) -> Path:
        """Where every process writes its log (``superlink.log``, ``<member>.log``)."""
        return self.workdir / "logs"

    @property
    def flwr_home(self) -> Path:
        """The coordinator's ``FLWR_HOME`` (its ``config.toml`` holds :data:`CONNECTION`)."""
        return self.workdir / "coordinator" / "flwr-home"

    @property
    def superlink_address(self) -> str:
        """``host:port`` of the SuperLink (Fleet, Control and Runtime APIs)."""
        return processes.address(self.host, self._port)

    @property
    def certs(self) -> CertPaths:
        """The TLS material in use."""
        if self._certs is None:
            raise DeploymentError("certs", code="not-ready", reason="deployment not started")
        return self._certs

    def _env(self, flwr_home: Path) -> dict[str, str]:
        return processes.flower_env(
            flwr_home, host=self.host, superexec_poll_s=self.tuning.superexec_poll_s
        )

    # ----------------------------------------------------------------- lifecycle
    def __enter__(self) -> LocalDeployment:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> LocalDeployment:
        """Start the SuperLink, register the members' keys, start their SuperNodes.

        Raises
        ------
        DeploymentError
            If a process does not come up in time (everything started is stopped again).
        """
        atexit.register(self.stop)
        try:
            self._start_superlink()
            for spec in self._members.values():
                if spec.register:
                    self.register(spec.member)
            for name in self._members:
                self.start_node(name)
            self.wait_online([m.member for m in self._members.values() if m.register])
        except BaseException:
            self.stop()
            raise
        return self

    def _start_superlink(self) -> None:
        for sub in ("certs", "keys", "logs", "coordinator/flwr-home", "nodes", "runs"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        if self._certs is None:
            self._certs = generate_certificates(
                self.workdir / "certs", hosts=(self.host, "localhost")
            )
        self._port = processes.free_port(self.host)
        (self.flwr_home / REGISTRY_FILE).unlink(missing_ok=True)  # a new SuperLink knows no key
        self._cli.connect(address=self.superlink_address, ca_cert=self.certs.ca_cert)
        argv = [
            processes.executable("flower-superlink"),
            "--host", self.host, "--port", str(self._port),
            *self.certs.superlink_args(),
            "--enable-supernode-auth",
            "--disable-runtime-dependency-installation",
        ]  # fmt: skip
        self._spawn("superlink", argv, self.flwr_home)
        deadline = time.monotonic() + self.tuning.ready_timeout_s
        while True:
            self._check_alive("superlink")
            try:
                with socket.create_connection((self.host, self._port), timeout=1.0):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise DeploymentError(
                        "superlink",
                        code="not-ready",
                        reason=processes.tail(self.log_dir / "superlink.log"),
                    ) from None
                time.sleep(0.2)
        logger.info("SuperLink listening on %s (TLS, SuperNode auth)", self.superlink_address)

    def _spawn(self, name: str, argv: list[str], flwr_home: Path) -> None:
        flwr_home.mkdir(parents=True, exist_ok=True)
        self._procs[name] = processes.spawn(
            argv, log_path=self.log_dir / f"{name}.log", cwd=flwr_home, env=self._env(flwr_home)
        )

    def _check_alive(self, name: str) -> None:
        proc = self._procs.get(name)
        if proc is not None and proc.poll() is not None:
            raise DeploymentError(
                name,
                code="start-failed",
                reason=f"exited with {proc.returncode}:\n"
                f"{processes.tail(self.log_dir / f'{name}.log')}",
            )

    def stop(self) -> None:
        """Terminate every process this deployment started, SuperNodes first (idempotent)."""
        atexit.unregister(self.stop)
        order = [n for n in self._procs if n != "superlink"] + ["superlink"]
        named = [(name, self._procs[name]) for name in order if name in self._procs]
        processes.terminate(named, grace_s=self.tuning.stop_grace_s)
        self._procs.clear()

    def pids(self) -> list[int]:
        """Process ids of every running process of this deployment (descendants included)."""
        pids = []
        for proc in self._procs.values():
            if proc.poll() is None:
                pids += [proc.pid, *processes.descendants(proc.pid)]
        return pids

    def log(self, name: str) -> str:
        """Return a process log (``superlink`` or a member id), without colour codes."""
        return processes.strip_ansi((self.log_dir / f"{name}.log").read_text(errors="replace"))

    # ----------------------------------------------------------------- members
    def _member(self, member: str) -> MemberNode:
        try:
            return self._members[member]
        except KeyError:
            raise DeploymentError(
                member, code="unknown-member", reason="not in this deployment"
            ) from None

    def key_of(self, member: str) -> NodeKeyPaths:
        """Return the member's SuperNode key pair (made under ``workdir/keys`` on first use)."""
        spec = self._member(member)
        if member not in self._keys:
            path = self.workdir / "keys" / f"{member}.key"
            self._keys[member] = spec.key or generate_node_key(path)
        return self._keys[member]

    def node_id(self, member: str) -> int | None:
        """Return the SuperLink's node id for the member's key, once registered."""
        return self.registry.node_ids().get(member)

    def register(self, member: str) -> int:
        """Register the member's public key under its member id; return its node id."""
        return self.registry.register(member, self.key_of(member).public_key)

    def unregister(self, member: str) -> None:
        """Unregister the member's node (``flwr supernode unregister``): a removed member."""
        self.registry.unregister(member)

    def start_node(self, member: str) -> None:
        """Start the member's ``flower-supernode`` (its own port, ``FLWR_HOME`` and log)."""
        spec = self._member(member)
        home = self.workdir / "nodes" / member
        node_config = home / "node-config.toml"
        home.mkdir(parents=True, exist_ok=True)
        node_config.write_text(toml_table(spec.node_config))
        argv = [
            processes.executable("flower-supernode"),
            "--superlink", self.superlink_address,
            "--root-certificates", str(self.certs.ca_cert),
            "--auth-supernode-private-key", str(self.key_of(member).private_key),
            "--host", self.host, "--port", str(processes.free_port(self.host)),
            "--node-config", str(node_config),
        ]  # fmt: skip
        self._spawn(member, argv, home / "flwr-home")

    def node_exit_code(self, member: str, *, timeout_s: float) -> int | None:
        """Wait up to ``timeout_s`` for the member's SuperNode to exit; its code or ``None``."""
        try:
            return self._procs[member].wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def nodes(self) -> dict[int, str]:
        """Node id -> status (``registered``, ``online``, ``offline``, ...) from the SuperLink."""
        return self._cli.nodes()

    def wait_online(self, members: Sequence[str]) -> None:
        """Wait until every given member's node is ``online``."""
        deadline = time.monotonic() + self.tuning.ready_timeout_s
        while True:
            for member in members:
                self._check_alive(member)
            status, node_ids = self.nodes(), self.registry.node_ids()
            waiting = [m for m in members if status.get(node_ids[m]) != "online"]
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise DeploymentError(
                    f"supernode {waiting[0]}",
                    code="not-ready",
                    reason=f"not online:\n{processes.tail(self.log_dir / f'{waiting[0]}.log')}",
                )
            time.sleep(1.0)

    # ----------------------------------------------------------------- runs
    def flwr(self, *args: str, timeout_s: float | None = None) -> dict[str, object]:
        """Run a ``flwr`` CLI command with ``--format json`` as the coordinator; its JSON.

        Raises
        ------
        DeploymentError
            If the command fails or does not report success.
        """
        return self._cli.call(*args, timeout_s=timeout_s)

    def run(self, app_dir: Path, *, run_config: Mapping[str, ConfigValue] | None = None) -> int:
        """Submit a Flower App (``flwr run``) with run-config overrides; return the run id."""
        self._runs += 1
        path = None
        if run_config:
            path = self.workdir / "runs" / f"run-config-{self._runs}.toml"
            path.write_text(toml_table(run_config))
        run_id = self._cli.submit(app_dir, run_config_file=path)
        logger.info("submitted run %s (%s)", run_id, app_dir)
        return run_id

    def wait(self, run_id: int, *, timeout_s: float = 600.0) -> RunResult:
        """Wait until the run finishes; return its status and ServerApp log.

        Raises
        ------
        DeploymentError
            If it does not finish within ``timeout_s`` or the SuperLink dies.
        """
        return self._cli.wait(
            run_id,
            timeout_s=timeout_s,
            poll_s=self.tuning.status_poll_s,
            check=lambda: self._check_alive("superlink"),
        )

    def run_log(self, run_id: int) -> str:
        """Return the ServerApp log of a finished run, without colour codes.

        ``flwr log --stream`` ends once every line of a finished run is out (``--show`` prints
        only the first chunk of the stream).
        """
        return self._cli.run_log(run_id)
