"""Flower's deployment runtime on one machine: a SuperLink and one SuperNode per member.

:class:`LocalDeployment` starts the real processes of flwr 1.42 on loopback, exactly as the
consortium runs them across machines, and drives them only through Flower's own command line:

- ``flower-superlink`` with TLS (certificates from :mod:`consortium.federation.certs`) and
  ``--enable-supernode-auth``; its Fleet, Control and Runtime APIs share one ``--port``;
  ``--disable-runtime-dependency-installation`` so that nothing is ever installed;
- ``flwr supernode register <key.pub> <connection>`` for every admitted member's public key
  (``flwr supernode unregister <node id>`` for a removed one), using a connection written to
  ``$FLWR_HOME/config.toml`` (the coordinator's own ``FLWR_HOME`` under the work directory; no
  ``local`` connection exists there, so no background SuperLink can ever be started);
- ``flower-supernode --root-certificates ca.pem --auth-supernode-private-key <key>`` per
  member, each with its own Runtime API ``--port``, its own ``FLWR_HOME`` and its
  ``--node-config`` (a TOML file: ``member-id``, ``data-path``, ``home``, ...); a SuperNode
  whose key is not registered is refused by the SuperLink and exits;
- ``flwr run <app> <connection> --run-config <file>``, then ``flwr ls --run-id`` until the run
  finishes and ``flwr log`` for its log.

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
...     run_id = dep.run(Path("tests/federation/deploy_app"), run_config={"rounds": 1})
...     dep.wait(run_id).ok
True
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from consortium.errors import ConfigError, DeploymentError
from consortium.federation.certs import (
    CertPaths,
    NodeKeyPaths,
    generate_certificates,
    generate_node_key,
)

__all__ = [
    "CONNECTION",
    "DeploymentError",
    "LocalDeployment",
    "MemberNode",
    "RunResult",
    "Tuning",
    "member_nodes",
    "toml_table",
    "write_kit_app",
]

logger = logging.getLogger(__name__)

CONNECTION = "consortium-local"
ConfigValue = str | int | float | bool
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TOML_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


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


@dataclass(frozen=True)
class Tuning:
    """Timeouts and the one tunable poll interval (seconds)."""

    superexec_poll_s: float = 0.2
    ready_timeout_s: float = 90.0
    status_poll_s: float = 2.0
    stop_grace_s: float = 8.0
    cli_timeout_s: float = 60.0


@dataclass(frozen=True)
class RunResult:
    """How a run ended, as ``flwr ls`` reports it, and its ServerApp log."""

    run_id: int
    status: str
    details: str
    elapsed_s: float
    log: str

    @property
    def ok(self) -> bool:
        """Whether the run finished as ``finished:completed``."""
        return self.status == "finished:completed"


def toml_table(values: Mapping[str, ConfigValue]) -> str:
    """Render a flat config mapping as TOML (what ``--node-config``/``--run-config`` read).

    Examples
    --------
    >>> print(toml_table({"member-id": "m1", "rounds": 2, "secure": True}), end="")
    member-id = "m1"
    rounds = 2
    secure = true
    """
    lines = []
    for key, value in values.items():
        if not _TOML_KEY.match(key):
            raise ConfigError(key, "config keys may hold only letters, digits, '-' and '_'")
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float):
            if not math.isfinite(value):
                raise ConfigError(key, "must be a finite number")
            text = repr(value)
        elif isinstance(value, str):
            text = json.dumps(value)
        else:
            raise ConfigError(key, f"unsupported type {type(value).__name__}")
        lines.append(f"{key} = {text}\n")
    return "".join(lines)


def write_kit_app(dest: Path) -> Path:
    """Write the kit's Flower App manifest to ``dest``; return ``dest`` (give it to ``run``).

    The FAB built from it holds only ``pyproject.toml``: its components name the kit's own
    apps (``consortium.federation.server_app:app``, ``...client_app:app``), which every
    machine loads from the kit version it installed, so the coordinator cannot push code to
    members. Its ``[tool.flwr.app.config]`` holds the ServerApp's run-config defaults (keys
    without a finite default are left out), which a run may then override.
    """
    from consortium import __version__  # noqa: PLC0415
    from consortium.federation.server_app import FederationConfig  # noqa: PLC0415  (torch)

    defaults: dict[str, ConfigValue] = {}
    for name, value in vars(FederationConfig()).items():
        if isinstance(value, Path):
            value = str(value)
        elif value is None and name == "round_timeout":
            value = 0.0  # FederationConfig reads <= 0 as "no timeout"
        finite = isinstance(value, float) and math.isfinite(value)
        if isinstance(value, str | bool | int) or finite:
            defaults[name.replace("_", "-")] = value
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "pyproject.toml").write_text(
        "# Written by consortium.federation.deployment.write_kit_app: the kit's Flower App.\n"
        '[build-system]\nrequires = ["setuptools>=69"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "logistics-consortium"\n'
        f'version = "{__version__}"\n'
        f'dependencies = ["flwr>=1.42,<1.43", "logistics-consortium-kit=={__version__}"]\n\n'
        '[tool.flwr.app]\npublisher = "consortium"\n\n'
        "[tool.flwr.app.components]\n"
        'serverapp = "consortium.federation.server_app:app"\n'
        'clientapp = "consortium.federation.client_app:app"\n\n'
        "[tool.flwr.app.config]\n" + toml_table(defaults)
    )
    return dest


def member_nodes(
    members_dir: Path,
    *,
    model: str,
    state_dir: Path,
    limit: int | None = None,
    epsilon: float | None = None,
) -> list[MemberNode]:
    """One :class:`MemberNode` per member with data for ``model`` (as ``consortium federate``).

    ``members_dir`` is a members folder (one entry per member, see
    :func:`consortium.federation.runner.discover_members`) or a synthetic consortium's root
    (holding ``members/``). Each node gets ``member-id``, ``data-path``, ``home``
    (``state_dir/<member>``) and, if given, ``epsilon``; ``limit`` keeps the first ones by id.

    Raises
    ------
    ConfigError
        If no member has data for ``model``.
    """
    from consortium.federation.runner import discover_members  # noqa: PLC0415  (torch)

    members_dir = Path(members_dir)
    if (members_dir / "members").is_dir():
        members_dir = members_dir / "members"
    found = sorted(discover_members(members_dir, model).items())[:limit]  # type: ignore[arg-type]
    if not found:
        raise ConfigError("members", f"no member in {members_dir} has data for the {model} model")
    nodes = []
    for member, path in found:
        config: dict[str, ConfigValue] = {
            "member-id": member,
            "data-path": str(path.resolve()),
            "home": str((Path(state_dir) / member).resolve()),
        }
        if epsilon is not None:
            config["epsilon"] = float(epsilon)
        nodes.append(MemberNode(member, config))
    return nodes


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _executable(name: str) -> str:
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise DeploymentError(name, code="start-failed", reason="executable not found (flwr 1.42)")
    return found


def _descendants(root: int) -> list[int]:
    """Every live descendant of ``root`` (Linux ``/proc``; detached sessions included)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _rows(value: object) -> list[dict[str, str | int | float]]:
    """Return the list of JSON objects a ``flwr ... --format json`` command reported."""
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise DeploymentError("flwr", code="cli-failed", reason=f"unexpected output {value!r}")
    return value


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = _ANSI.sub("", path.read_text(errors="replace"))
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


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
        self._node_ids: dict[str, int] = {}
        self._keys: dict[str, NodeKeyPaths] = {}
        self._port = 0
        self._runs = 0

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
        return _address(self.host, self._port)

    @property
    def certs(self) -> CertPaths:
        """The TLS material in use."""
        if self._certs is None:
            raise DeploymentError("certs", code="not-ready", reason="deployment not started")
        return self._certs

    def _env(self, flwr_home: Path) -> dict[str, str]:
        env = dict(os.environ)  # children need PATH, HOME, ...; the kit's settings stay above
        loopback = ",".join(dict.fromkeys([self.host, "127.0.0.1", "::1", "localhost"]))
        env.update(
            FLWR_TELEMETRY_ENABLED="0",
            FLWR_DISABLE_UPDATE_CHECK="1",
            FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION="1",
            FLWR_SUPEREXEC_TASK_POLL_INTERVAL=str(self.tuning.superexec_poll_s),
            FLWR_HOME=str(flwr_home),
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            PYTHONUNBUFFERED="1",
            NO_PROXY=loopback,
            no_proxy=loopback,
        )
        return env

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
        self._port = _free_port(self.host)
        (self.flwr_home / "config.toml").write_text(
            f'[superlink]\ndefault = "{CONNECTION}"\n\n[superlink.{CONNECTION}]\n'
            + toml_table(
                {"address": self.superlink_address, "root-certificates": str(self.certs.ca_cert)}
            )
        )
        argv = [
            _executable("flower-superlink"),
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
                        "superlink", code="not-ready", reason=_tail(self.log_dir / "superlink.log")
                    ) from None
                time.sleep(0.2)
        logger.info("SuperLink listening on %s (TLS, SuperNode auth)", self.superlink_address)

    def _spawn(self, name: str, argv: list[str], flwr_home: Path) -> None:
        flwr_home.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{name}.log").open("ab") as log:
            self._procs[name] = subprocess.Popen(  # noqa: S603  (fixed executables, no shell)
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=flwr_home,
                env=self._env(flwr_home),
                start_new_session=True,
            )

    def _check_alive(self, name: str) -> None:
        proc = self._procs.get(name)
        if proc is not None and proc.poll() is not None:
            raise DeploymentError(
                name,
                code="start-failed",
                reason=f"exited with {proc.returncode}:\n{_tail(self.log_dir / f'{name}.log')}",
            )

    def stop(self) -> None:
        """Terminate every process this deployment started, SuperNodes first (idempotent)."""
        atexit.unregister(self.stop)
        order = [n for n in self._procs if n != "superlink"] + ["superlink"]
        victims: list[int] = []
        for name in order:
            proc = self._procs.get(name)
            if proc is None:
                continue
            pids = [proc.pid, *_descendants(proc.pid)]
            victims += pids
            if proc.poll() is None:
                self._signal([proc.pid], signal.SIGTERM, group=True)
            self._signal(pids[1:], signal.SIGTERM)
        deadline = time.monotonic() + self.tuning.stop_grace_s
        for name in order:
            proc = self._procs.get(name)
            if proc is not None:
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    logger.warning("%s did not stop in time; killing it", name)
        self._signal(victims, signal.SIGKILL, group=True)
        for proc in self._procs.values():
            proc.wait()
        self._procs.clear()

    def pids(self) -> list[int]:
        """Process ids of every running process of this deployment (descendants included)."""
        pids = []
        for proc in self._procs.values():
            if proc.poll() is None:
                pids += [proc.pid, *_descendants(proc.pid)]
        return pids

    @staticmethod
    def _signal(pids: Sequence[int], sig: signal.Signals, *, group: bool = False) -> None:
        for pid in pids:
            for send in (os.killpg, os.kill) if group else (os.kill,):
                try:
                    send(pid, sig)
                except (ProcessLookupError, PermissionError):
                    continue

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
        return self._node_ids.get(member)

    def register(self, member: str) -> int:
        """Register the member's public key (``flwr supernode register``); return its node id."""
        out = self.flwr("supernode", "register", str(self.key_of(member).public_key), CONNECTION)
        self._node_ids[member] = int(str(out["node-id"]))
        logger.info("registered SuperNode key of %s as node %s", member, out["node-id"])
        return self._node_ids[member]

    def unregister(self, member: str) -> None:
        """Unregister the member's node (``flwr supernode unregister``): a removed member."""
        node_id = self._node_ids.pop(member, None)
        if node_id is None:
            raise DeploymentError(member, code="unknown-member", reason="its key is not registered")
        self.flwr("supernode", "unregister", str(node_id), CONNECTION)
        logger.info("unregistered node %s of %s", node_id, member)

    def start_node(self, member: str) -> None:
        """Start the member's ``flower-supernode`` (its own port, ``FLWR_HOME`` and log)."""
        spec = self._member(member)
        home = self.workdir / "nodes" / member
        node_config = home / "node-config.toml"
        home.mkdir(parents=True, exist_ok=True)
        node_config.write_text(toml_table(spec.node_config))
        argv = [
            _executable("flower-supernode"),
            "--superlink", self.superlink_address,
            "--root-certificates", str(self.certs.ca_cert),
            "--auth-supernode-private-key", str(self.key_of(member).private_key),
            "--host", self.host, "--port", str(_free_port(self.host)),
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
        rows = self.flwr("supernode", "ls", CONNECTION)["nodes"]
        return {int(n["node-id"]): str(n["status"]) for n in _rows(rows)}

    def wait_online(self, members: Sequence[str]) -> None:
        """Wait until every given member's node is ``online``."""
        deadline = time.monotonic() + self.tuning.ready_timeout_s
        while True:
            for member in members:
                self._check_alive(member)
            status = self.nodes()
            waiting = [m for m in members if status.get(self._node_ids[m]) != "online"]
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise DeploymentError(
                    f"supernode {waiting[0]}",
                    code="not-ready",
                    reason=f"not online:\n{_tail(self.log_dir / f'{waiting[0]}.log')}",
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
        argv = [_executable("flwr"), *args, "--format", "json"]
        subject = f"flwr {' '.join(args[:2])}"
        try:
            done = subprocess.run(  # noqa: S603
                argv,
                capture_output=True,
                cwd=self.flwr_home,
                env=self._env(self.flwr_home),
                timeout=timeout_s or self.tuning.cli_timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DeploymentError(subject, code="timeout", reason=str(exc)) from exc
        text = done.stdout.decode(errors="replace")
        try:
            out = json.loads(text[text.index("{") :])
        except ValueError:
            out = {}
        if done.returncode != 0 or not out.get("success"):
            reason = out.get("error-message") or _ANSI.sub("", text + done.stderr.decode())
            raise DeploymentError(subject, code="cli-failed", reason=str(reason).strip())
        return dict(out)

    def run(self, app_dir: Path, *, run_config: Mapping[str, ConfigValue] | None = None) -> int:
        """Submit a Flower App (``flwr run``) with run-config overrides; return the run id."""
        self._runs += 1
        args = [str(Path(app_dir).resolve()), CONNECTION]
        if run_config:
            path = self.workdir / "runs" / f"run-config-{self._runs}.toml"
            path.write_text(toml_table(run_config))
            args += ["--run-config", str(path)]
        run_id = int(str(self.flwr("run", *args)["run-id"]))
        logger.info("submitted run %s (%s)", run_id, app_dir)
        return run_id

    def wait(self, run_id: int, *, timeout_s: float = 600.0) -> RunResult:
        """Wait until the run finishes; return its status and ServerApp log.

        Raises
        ------
        DeploymentError
            If it does not finish within ``timeout_s`` or the SuperLink dies.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            self._check_alive("superlink")
            runs = _rows(self.flwr("ls", CONNECTION, "--run-id", str(run_id))["runs"])
            row = runs[0] if runs else {}
            status = str(row.get("status", ""))
            if status.startswith("finished"):
                return RunResult(
                    run_id=run_id,
                    status=status,
                    details=str(row.get("status-details", "")),
                    elapsed_s=float(row.get("elapsed", 0.0) or 0.0),
                    log=self.run_log(run_id),
                )
            if time.monotonic() > deadline:
                raise DeploymentError(f"run {run_id}", code="timeout", reason=f"still {status}")
            time.sleep(self.tuning.status_poll_s)

    def run_log(self, run_id: int) -> str:
        """Return the ServerApp log of a finished run, without colour codes.

        ``flwr log --stream`` ends once every line of a finished run is out (``--show`` prints
        only the first chunk of the stream).
        """
        done = subprocess.run(  # noqa: S603
            [_executable("flwr"), "log", str(run_id), CONNECTION, "--stream"],
            capture_output=True,
            cwd=self.flwr_home,
            env=self._env(self.flwr_home),
            timeout=self.tuning.cli_timeout_s,
            check=False,
        )
        return _ANSI.sub("", done.stdout.decode(errors="replace"))

    def log(self, name: str) -> str:
        """Return a process log (``superlink`` or a member id), without colour codes."""
        return _ANSI.sub("", (self.log_dir / f"{name}.log").read_text(errors="replace"))
