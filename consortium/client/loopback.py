"""A coordinator service on this machine's loopback, for a member's guided rehearsal.

:func:`start_loopback_coordinator` does what the coordinator's machine does, each step in its
own process: ``consortium coordinator init`` (its key, the genesis and the first policy) and
``consortium coordinator serve`` on ``127.0.0.1`` (plain HTTP, which the kit allows on loopback
only). The member then talks to it exactly as to a remote one, through
:class:`~consortium.client.remote.RemoteCoordinator`. Two coordinator-side admin steps a
rehearsal needs are methods here (:meth:`LoopbackCoordinator.admit_founding`,
:meth:`LoopbackCoordinator.request_exit` and :meth:`LoopbackCoordinator.carry_out_exit`, as the
``consortium members admit|exit|remove --db`` admin commands do); each signs a new tree head with
the coordinator's key, which a member never holds on a real consortium.

Examples
--------
>>> with start_loopback_coordinator(Path(tempfile.mkdtemp())) as coordinator:  # doctest: +SKIP
...     remote = coordinator.remote()
...     remote.head().size
2
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from consortium.client.connection import Coordinator, connect
from consortium.client.remote import RemoteCoordinator
from consortium.errors import ConfigError
from consortium.identity.keys import load_signer
from consortium.ledger.store import publish_checkpoint
from consortium.membership import admit_member, remove_member, request_exit
from consortium.membership.models import MemberRecord
from consortium.wire.onboarding import JoinOut

__all__ = ["LoopbackCoordinator", "start_loopback_coordinator"]

COORDINATOR_KEY = "coordinator.key"
"""The key file ``coordinator init`` writes in its key folder."""


def _cli() -> list[str]:
    beside = Path(sys.executable).parent / "consortium"
    found = str(beside) if beside.is_file() else shutil.which("consortium")
    if found is None:
        raise ConfigError("consortium", "the consortium command is not installed")
    return [found]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    return {**os.environ, "FLWR_TELEMETRY_ENABLED": "0", "FLWR_DISABLE_UPDATE_CHECK": "1"}


@dataclass
class LoopbackCoordinator:
    """A running coordinator service on loopback, and its folder (``stop()`` ends it)."""

    url: str
    pin: str
    database_url: str
    key_dir: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def remote(self) -> RemoteCoordinator:
        """Return a client of the service, pinned to its coordinator key id."""
        return RemoteCoordinator(self.url, pin=self.pin)

    def _stores(self) -> Coordinator:
        return connect(self.database_url)

    def admit_founding(self, join: JoinOut) -> MemberRecord:
        """Admit a join request as a founding member (coordinator key; no board vote yet)."""
        signer = load_signer(self.key_dir / COORDINATOR_KEY)
        with self._stores().transaction() as session:
            key = bytes.fromhex(join.public_key)
            record = admit_member(session, member=join.member, public_key=key, signer=signer)
            publish_checkpoint(session, signer=signer)
        return record

    def request_exit(self, *, member: str, key_file: Path) -> MemberRecord:
        """Record ``member``'s own exit request, signed with its key (``members exit``)."""
        with self._stores().transaction() as session:
            record = request_exit(session, member=member, signer=load_signer(key_file))
            publish_checkpoint(session, signer=load_signer(self.key_dir / COORDINATOR_KEY))
        return record

    def carry_out_exit(self, member: str) -> MemberRecord:
        """Carry out an exit request: revoke the keys, erase the details (``members remove``)."""
        signer = load_signer(self.key_dir / COORDINATOR_KEY)
        with self._stores().transaction() as session:
            record = remove_member(session, member=member, signer=signer)
            publish_checkpoint(session, signer=signer)
        return record

    def stop(self) -> None:
        """Stop the service (its database and keys stay in the folder)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> LoopbackCoordinator:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                raise ConfigError("coordinator serve", f"exited: {output[-2000:]}")
            try:
                if client.get(f"{url}/v1/health").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
    process.terminate()
    raise ConfigError("coordinator serve", f"did not answer within {timeout_s:.0f} s")


def start_loopback_coordinator(
    folder: Path, *, policy: Mapping[str, object] | None = None, timeout_s: float = 60.0
) -> LoopbackCoordinator:
    """Start a new consortium's coordinator service on loopback, with its data in ``folder``.

    Parameters
    ----------
    folder
        A new folder: the SQLite database and the coordinator's key folder go in it.
    policy
        Board parameters to start with (``coordinator init --policy``); ``None``: defaults.
    timeout_s
        How long to wait for the service to answer.

    Raises
    ------
    ConfigError
        If ``init`` fails or the service does not answer in time (its output is quoted).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    database_url, key_dir = f"sqlite:///{folder / 'coordinator.db'}", folder / "keys"
    init = [*_cli(), "coordinator", "init", "--db", database_url, "--key-dir", str(key_dir)]
    if policy:
        (folder / "policy.json").write_text(json.dumps(dict(policy)), encoding="utf-8")
        init += ["--policy", str(folder / "policy.json")]
    done = subprocess.run(init, env=_env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ConfigError("coordinator init", (done.stdout + done.stderr)[-2000:])
    pin = done.stdout.strip().split()[-1]
    port = _free_port()
    process = subprocess.Popen(
        [*_cli(), "coordinator", "serve", "--db", database_url, "--key-dir", str(key_dir),
         "--host", "127.0.0.1", "--port", str(port)],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    _wait_ready(url, process, timeout_s)
    started = LoopbackCoordinator(url=url, pin=pin, database_url=database_url, key_dir=key_dir,
                                  process=process)  # fmt: skip
    atexit.register(started.stop)  # never outlive the notebook or script that started it
    return started
