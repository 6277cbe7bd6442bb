"""A coordinator service on this machine's loopback, for a guided rehearsal or the demo.

:func:`start_loopback_coordinator` does what the coordinator's machine does, each step in its
own process: ``consortium coordinator init`` (its key, the genesis and the first policy) and
``consortium coordinator serve`` on ``127.0.0.1`` (HTTPS with the certificates given in
:class:`ServeOptions`, else plain HTTP, which the kit allows on loopback only). Clients then talk
to it exactly as to a remote one, through :class:`~consortium.client.remote.RemoteCoordinator`.
The coordinator-side admin steps a rehearsal needs are methods here
(:meth:`LoopbackCoordinator.admit_founders`, :meth:`LoopbackCoordinator.admit_founding`,
:meth:`LoopbackCoordinator.request_exit` and :meth:`LoopbackCoordinator.carry_out_exit`, as the
``consortium members admit|exit|remove --db`` admin commands do, and
:meth:`LoopbackCoordinator.mint_round`, as the federation does after a round); each signs a new
tree head with the coordinator's key, which a member never holds on a real consortium.

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
import ssl
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

__all__ = ["LoopbackCoordinator", "ServeOptions", "start_loopback_coordinator"]

COORDINATOR_KEY = "coordinator.key"
"""The key file ``coordinator init`` writes in its key folder."""


@dataclass(frozen=True)
class ServeOptions:
    """What the service answers paid queries with, and its TLS material (all optional).

    Parameters
    ----------
    eta_model, stock_model
        Pooled model folders (``--eta-model``, ``--stock-model``); read at the first query, so
        they may be written after the service starts.
    members
        A synthetic consortium folder whose warehouses answer in the service (``--members``).
    tls_cert, tls_key
        The service's certificate and key (``--tls-cert``, ``--tls-key``): HTTPS when given.
    ca_cert
        The CA certificate the clients trust (the only TLS file a client receives).
    """

    eta_model: Path | None = None
    stock_model: Path | None = None
    members: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    ca_cert: Path | None = None

    def __post_init__(self) -> None:
        tls = (self.tls_cert, self.tls_key, self.ca_cert)
        if any(p is None for p in tls) and any(p is not None for p in tls):
            raise ConfigError("tls", "give the certificate, its key and the CA's, or none of them")

    @property
    def scheme(self) -> str:
        """``https`` with TLS material, else ``http``."""
        return "http" if self.tls_cert is None else "https"

    def args(self) -> list[str]:
        """Return the ``coordinator serve`` options these settings stand for."""
        flags = {"--eta-model": self.eta_model, "--stock-model": self.stock_model,
                 "--members": self.members, "--tls-cert": self.tls_cert,
                 "--tls-key": self.tls_key}  # fmt: skip
        return [part for flag, path in flags.items() if path is not None
                for part in (flag, str(path))]  # fmt: skip


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
    """A running coordinator service on loopback, and its folder (``stop()`` ends it).

    ``command`` is the ``coordinator serve`` command line it runs, to start it again by hand;
    ``log`` is the file its output goes to.
    """

    url: str
    pin: str
    database_url: str
    key_dir: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    log: Path
    ca_cert: Path | None = None
    command: tuple[str, ...] = ()

    def remote(self) -> RemoteCoordinator:
        """Return a client of the service, pinned to its coordinator key id."""
        return RemoteCoordinator(self.url, pin=self.pin, ca_cert=self.ca_cert)

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Return once the service answers ``/v1/health``.

        Raises
        ------
        ConfigError
            If the service exited (its output is quoted) or did not answer in time (it is
            stopped then).
        """
        verify: ssl.SSLContext | bool = True
        if self.ca_cert is not None:
            verify = ssl.create_default_context(cafile=str(self.ca_cert))
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=2, verify=verify) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    output = self.log.read_text(encoding="utf-8", errors="replace")
                    raise ConfigError("coordinator serve", f"exited: {output[-2000:]}")
                try:
                    if client.get(f"{self.url}/v1/health").status_code == 200:
                        return
                except httpx.TransportError:
                    time.sleep(0.1)  # the server is still importing its modules
        self.stop()
        raise ConfigError("coordinator serve", f"did not answer within {timeout_s:.0f} s")

    def _stores(self) -> Coordinator:
        return connect(self.database_url)

    def admit_founding(self, join: JoinOut) -> MemberRecord:
        """Admit a join request as a founding member (coordinator key; no board vote yet)."""
        return self.admit_founders({join.member: bytes.fromhex(join.public_key)})[join.member]

    def admit_founders(self, public_keys: Mapping[str, bytes]) -> dict[str, MemberRecord]:
        """Admit founding members by their public keys, in one transaction under one new head.

        What ``consortium members admit --db`` does on the coordinator's machine at genesis.
        """
        signer = load_signer(self.key_dir / COORDINATOR_KEY)
        with self._stores().transaction() as session:
            records = {member: admit_member(session, member=member, public_key=key, signer=signer)
                       for member, key in public_keys.items()}  # fmt: skip
            publish_checkpoint(session, signer=signer)
        return records

    def mint_round(
        self, examples: Mapping[str, int], *, model: str, server_round: int
    ) -> dict[str, int]:
        """Mint one round's contribution points by the board's rule, under a new signed head.

        What the federation does after each round when it records on the coordinator's
        database (``consortium federate --db``); ``examples`` is the rows each member trained
        on. Returns every account's balance after the mint.
        """
        from consortium.client.demo import mint_round  # noqa: PLC0415

        signer = load_signer(self.key_dir / COORDINATOR_KEY)
        stores = self._stores()
        minted = mint_round(stores, signer=signer, examples=examples, model=model,
                            server_round=server_round)  # fmt: skip
        with stores.transaction() as session:
            publish_checkpoint(session, signer=signer)
        return minted

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


def start_loopback_coordinator(
    folder: Path,
    *,
    policy: Mapping[str, object] | None = None,
    options: ServeOptions | None = None,
    timeout_s: float = 60.0,
    wait: bool = True,
) -> LoopbackCoordinator:
    """Start a new consortium's coordinator service on loopback, with its data in ``folder``.

    Parameters
    ----------
    folder
        A new folder: the SQLite database, the coordinator's key folder and the service's log
        (``serve.log``) go in it.
    policy
        Board parameters to start with (``coordinator init --policy``); ``None``: defaults.
    options
        What the service answers queries with, and its TLS material; ``None``: no queries,
        plain HTTP.
    timeout_s
        How long to wait for the service to answer.
    wait
        Wait until it answers; ``False``: return at once (call
        :meth:`LoopbackCoordinator.wait_ready` before the first request).

    Raises
    ------
    ConfigError
        If ``init`` fails or the service does not answer in time (its output is quoted).
    """
    options = options or ServeOptions()
    folder = Path(folder).resolve()
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
    serve = [*_cli(), "coordinator", "serve", "--db", database_url, "--key-dir", str(key_dir),
             "--host", "127.0.0.1", "--port", str(port), *options.args()]  # fmt: skip
    log = folder / "serve.log"
    with log.open("wb") as out:  # a file, not a pipe nobody reads while it runs
        process = subprocess.Popen(serve, env=_env(), stdout=out, stderr=subprocess.STDOUT)
    started = LoopbackCoordinator(
        url=f"{options.scheme}://127.0.0.1:{port}", pin=pin, database_url=database_url,
        key_dir=key_dir, process=process, log=log, ca_cert=options.ca_cert,
        command=("consortium", *serve[1:]),
    )  # fmt: skip
    atexit.register(started.stop)  # never outlive the notebook or script that started it
    if wait:
        started.wait_ready(timeout_s)
    return started
