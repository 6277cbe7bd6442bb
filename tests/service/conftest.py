"""A real coordinator service on loopback: ``consortium coordinator serve`` (uvicorn) over TLS.

:func:`service` (module scope, over SQLite and PostgreSQL) runs, each in its own process, what
the coordinator's machine runs: ``consortium coordinator init``, the operator's admin steps
(:mod:`tests.service.admin`) and ``consortium coordinator serve`` with a certificate made by the
kit's CA (:func:`consortium.deployment.certs.generate_certificates`). The test process is the
clients: it holds only the members' and the cargo owner's key folders, the CA certificate, the
URL and the pinned key id.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from consortium.deployment.certs import generate_certificates
from consortium.identity.keys import generate_key_file, load_signer
from consortium.ledger.signing import Signer

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MEMBERS = {"alpha": 600, "beta": 300, "gamma": 100}
CREDIT = 100
POLICY = {"voting_delay_s": 0, "voting_period_s": 4, "timelock_s": 0,
          "late_quorum_extension_s": 0, "quorum_bps": 4000}  # fmt: skip
STARTUP_S = 240


@dataclass
class Service:
    """What a client knows of the running coordinator, and the clients' own key folders."""

    url: str
    pin: str
    ca_cert: Path
    keys: dict[str, Path]
    database_url: str
    key_dir: Path

    def signer(self, name: str) -> Signer:
        """Load ``name``'s key from its own folder."""
        return load_signer(self.keys[name])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(*args: str) -> str:
    env = {**os.environ, "FLWR_TELEMETRY_ENABLED": "0"}
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def eta_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny pooled ETA model with its lane catalog (one carrier's legs; seconds)."""
    import torch  # noqa: PLC0415

    from consortium.data.loader import load_table  # noqa: PLC0415
    from consortium.forecasts.catalog import LaneCatalog, lane_sums  # noqa: PLC0415
    from consortium.models.store import save_model  # noqa: PLC0415
    from consortium.privacy.training import train_local  # noqa: PLC0415
    from consortium.synth import generate_consortium  # noqa: PLC0415

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("service-eta")
    generate_consortium(root / "synth", seed=7, scale=0.02)
    legs = load_table(root / "synth/members/rhine-road/legs.csv", contract="legs",
                      purpose="eta-training").frame  # fmt: skip
    trained = train_local(legs, kind="eta", epsilon=8.0, home=root / "home", epochs=1, seed=1)
    save_model(trained.model, root / "eta", card=trained.card)
    LaneCatalog(np.asarray(lane_sums(legs))).save(root / "eta")
    return root / "eta"


def _warehouse_options(eta_model: Path) -> list[str]:
    """``serve`` options for warehouse queries: an (untrained) pooled stock model, the members.

    The warehouse members are the synthetic consortium :func:`eta_model` made; a module opts in
    with ``SERVE_WAREHOUSES = True`` (its policy then lets one SKU series answer).
    """
    from consortium.data.loader import load_table  # noqa: PLC0415
    from consortium.models.encoding import ScalingStats  # noqa: PLC0415
    from consortium.models.stock import (  # noqa: PLC0415
        StockModel,
        StockSpec,
        build_stock_network,
        stock_numeric,
    )
    from consortium.models.store import save_model  # noqa: PLC0415

    synth = eta_model.parent / "synth"
    stock = load_table(synth / "members/rotterdam-dc/stock.csv", contract="stock",
                       purpose="stock-training").frame  # fmt: skip
    model = StockModel(spec=StockSpec(), stats=ScalingStats.from_columns(stock_numeric(stock)),
                       network=build_stock_network(StockSpec()))  # fmt: skip
    if not (eta_model.parent / "stock").exists():  # both backends of a module share it
        save_model(model, eta_model.parent / "stock", card={
            "kind": "stock", "name": "test-stock",
            "federation": {"members": 1, "rounds": 1, "round_reports": []}})  # fmt: skip
    return ["--stock-model", str(eta_model.parent / "stock"), "--members", str(synth)]


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            eta_model: Path) -> Iterator[Service]:  # fmt: skip
    """A coordinator started, populated by its operator and served over TLS on loopback."""
    warehouses = bool(getattr(request.module, "SERVE_WAREHOUSES", False))
    root = tmp_path_factory.mktemp(f"service-{request.param}")
    coordinator = root / "coordinator"
    if request.param == "sqlite":
        db = f"sqlite:///{coordinator / 'coordinator.db'}"
    else:
        from tests.postgres import get_server  # noqa: PLC0415

        db = get_server().create_database("svc")
    certs = generate_certificates(coordinator / "certs", hosts=["127.0.0.1"])
    keys = {name: root / name / "key" for name in (*MEMBERS, "cargo")}
    publics = {name: generate_key_file(path).public_key.hex() for name, path in keys.items()}
    (root / "policy.json").write_text(json.dumps({**POLICY, "min_group_size": 1}
                                                 if warehouses else POLICY))  # fmt: skip
    out = _run(str(BIN / "consortium"), "coordinator", "init", "--db", db,
               "--key-dir", str(coordinator / "keys"), "--policy", str(root / "policy.json"))
    pin = out.strip().split()[-1]
    plan = {"db": db, "key_dir": str(coordinator / "keys"), "cargo_owner": publics["cargo"],
            "members": {m: publics[m] for m in MEMBERS}, "points": MEMBERS, "credit": CREDIT,
            "treasurer_key": str(coordinator / "treasurer" / "key")}  # fmt: skip
    (root / "plan.json").write_text(json.dumps(plan))
    _run(sys.executable, str(REPO / "tests/service/admin.py"), str(root / "plan.json"))
    port = _free_port()
    server = subprocess.Popen(
        [str(BIN / "consortium"), "coordinator", "serve", "--db", db,
         "--key-dir", str(coordinator / "keys"), "--host", "127.0.0.1", "--port", str(port),
         "--tls-cert", str(certs.server_cert), "--tls-key", str(certs.server_key),
         "--eta-model", str(eta_model), *(_warehouse_options(eta_model) if warehouses else [])],
        cwd=REPO, env={**os.environ, "FLWR_TELEMETRY_ENABLED": "0"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"https://127.0.0.1:{port}"
    try:
        _wait_ready(url, certs.ca_cert, server)
        yield Service(url, pin, certs.ca_cert, keys, db, coordinator / "keys")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_ready(url: str, ca_cert: Path, server: subprocess.Popen[str]) -> None:
    """Poll ``/v1/health`` until the service answers (it loads the model at start)."""
    deadline = time.monotonic() + STARTUP_S
    context = ssl.create_default_context(cafile=str(ca_cert))
    with httpx.Client(verify=context, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                output = server.stdout.read() if server.stdout else ""
                raise AssertionError(f"coordinator serve exited: {output}")
            try:
                if client.get(f"{url}/v1/health").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
    raise AssertionError("coordinator serve did not answer in time")
