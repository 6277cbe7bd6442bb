"""The coordinator's side of Flower's ``flwr`` command line, against one SuperLink connection.

:class:`FlwrCli` writes the connection :data:`CONNECTION` to the coordinator's
``$FLWR_HOME/config.toml`` (no ``local`` connection exists there, so no background SuperLink
can ever be started) and runs ``flwr ... --format json`` commands with it: ``supernode
register``/``unregister``/``ls`` for members' keys, ``run`` to submit a Flower App, ``ls
--run-id`` until a run finishes and ``log`` for its ServerApp log.

Examples
--------
>>> result = RunResult(run_id=7, status="finished:completed", details="", elapsed_s=1.0, log="")
>>> result.ok
True
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from consortium.deployment.app_dir import toml_table
from consortium.deployment.processes import executable, strip_ansi
from consortium.errors import DeploymentError

__all__ = ["CONNECTION", "FlwrCli", "RunResult"]

logger = logging.getLogger(__name__)

CONNECTION = "consortium-local"


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


def _rows(value: object) -> list[dict[str, str | int | float]]:
    """Return the list of JSON objects a ``flwr ... --format json`` command reported."""
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise DeploymentError("flwr", code="cli-failed", reason=f"unexpected output {value!r}")
    return value


class FlwrCli:
    """Run ``flwr`` commands as the coordinator, through the connection :data:`CONNECTION`.

    Parameters
    ----------
    flwr_home : Path
        The coordinator's ``FLWR_HOME`` (working directory of every command).
    env : Callable[[], dict[str, str]]
        Builds the environment of each command.
    timeout_s : float
        Default time limit of one command.
    """

    def __init__(
        self, flwr_home: Path, *, env: Callable[[], dict[str, str]], timeout_s: float
    ) -> None:
        self.flwr_home = flwr_home
        self._env = env
        self.timeout_s = timeout_s

    def connect(self, *, address: str, ca_cert: Path) -> None:
        """Write :data:`CONNECTION` (the SuperLink at ``address``, TLS with ``ca_cert``)."""
        (self.flwr_home / "config.toml").write_text(
            f'[superlink]\ndefault = "{CONNECTION}"\n\n[superlink.{CONNECTION}]\n'
            + toml_table({"address": address, "root-certificates": str(ca_cert)})
        )

    def call(self, *args: str, timeout_s: float | None = None) -> dict[str, object]:
        """Run a ``flwr`` CLI command with ``--format json``; return its JSON.

        Raises
        ------
        DeploymentError
            If the command fails or does not report success.
        """
        argv = [executable("flwr"), *args, "--format", "json"]
        subject = f"flwr {' '.join(args[:2])}"
        try:
            done = subprocess.run(  # noqa: S603
                argv,
                capture_output=True,
                cwd=self.flwr_home,
                env=self._env(),
                timeout=timeout_s or self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DeploymentError(subject, code="timeout", reason=str(exc)) from exc
        text = strip_ansi(done.stdout.decode(errors="replace"))  # colour, should one be forced
        try:
            out = json.loads(text[text.index("{") :])
        except ValueError:
            out = {}
        if done.returncode != 0 or not out.get("success"):
            reason = out.get("error-message") or strip_ansi(text + done.stderr.decode())
            raise DeploymentError(subject, code="cli-failed", reason=str(reason).strip())
        return dict(out)

    def register(self, public_key: Path, *, name: str | None = None) -> int:
        """Register a SuperNode public key (``flwr supernode register``); return its node id.

        ``name`` (the member id) is what the ServerApp later reads as the node's member.
        """
        named = ["--name", name] if name else []
        out = self.call("supernode", "register", str(public_key), CONNECTION, *named)
        return int(str(out["node-id"]))

    def unregister(self, node_id: int) -> None:
        """Unregister a node (``flwr supernode unregister``)."""
        self.call("supernode", "unregister", str(node_id), CONNECTION)

    def nodes(self) -> dict[int, str]:
        """Node id -> status (``registered``, ``online``, ``offline``, ...) from the SuperLink."""
        rows = self.call("supernode", "ls", CONNECTION)["nodes"]
        return {int(n["node-id"]): str(n["status"]) for n in _rows(rows)}

    def submit(self, app_dir: Path, *, run_config_file: Path | None = None) -> int:
        """Submit a Flower App (``flwr run``), with a run-config file if given; its run id."""
        args = [str(Path(app_dir).resolve()), CONNECTION]
        if run_config_file is not None:
            args += ["--run-config", str(run_config_file)]
        return int(str(self.call("run", *args)["run-id"]))

    def wait(
        self, run_id: int, *, timeout_s: float, poll_s: float, check: Callable[[], None]
    ) -> RunResult:
        """Poll ``flwr ls`` every ``poll_s`` until the run finishes; its status and log.

        ``check`` runs before every poll (it raises if the SuperLink died).

        Raises
        ------
        DeploymentError
            If it does not finish within ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            check()
            runs = _rows(self.call("ls", CONNECTION, "--run-id", str(run_id))["runs"])
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
            time.sleep(poll_s)

    def run_log(self, run_id: int) -> str:
        """Return the ServerApp log of a finished run, without colour codes.

        ``flwr log --stream`` ends once every line of a finished run is out (``--show`` prints
        only the first chunk of the stream).
        """
        done = subprocess.run(  # noqa: S603
            [executable("flwr"), "log", str(run_id), CONNECTION, "--stream"],
            capture_output=True,
            cwd=self.flwr_home,
            env=self._env(),
            timeout=self.timeout_s,
            check=False,
        )
        return strip_ansi(done.stdout.decode(errors="replace"))
