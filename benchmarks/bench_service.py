"""Paid-query latency through the coordinator service over HTTPS on loopback (SQLite).

The coordinator is started as it is deployed: ``consortium coordinator init`` (in this process:
it is the coordinator's side), its operator registers a cargo owner and credits it, and
``consortium coordinator serve`` runs uvicorn in a subprocess with a kit-made TLS certificate
and a small pooled ETA model. The client (:class:`consortium.client.remote.RemoteCoordinator`)
signs each ``query.v1`` message with the owner's key, sends it, and checks the receipt (the
signed head against the pinned key, its consistency with the last head seen, the entry's
inclusion): the latency is the client's, end to end, for one paid lane query (check, price,
answer from the model, settle, split, two ledger entries and a tree head, in one transaction).
Then, with the server stopped, the same steps run in this process on the same database, each
timed (where the server's time goes), with the lane answer alone before them.

Run (about a minute on 2 shared cores)::

    .venv/bin/python -m benchmarks.bench_service --queries 200 --warmup 20
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
import numpy as np

from consortium.client.cargo import lane_params
from consortium.client.remote import RemoteCoordinator
from consortium.deployment.certs import generate_certificates
from consortium.identity.keys import load_signer
from consortium.identity.registry import register_key
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.points.accounts import cargo_account
from consortium.points.store import deposit
from consortium.service.setup import init_coordinator
from consortium.service.state import key_path, open_stores

LANE = lane_params(origin="ITMIL", destination="FRPAR", mode="road",
                   departure=date(2026, 3, 9), days=7)  # fmt: skip


def _eta_model(root: Path) -> Path:
    """A small pooled ETA model with its lane catalog (one carrier's synthetic legs)."""
    from consortium.data.loader import load_table  # noqa: PLC0415
    from consortium.forecasts.catalog import LaneCatalog, lane_sums  # noqa: PLC0415
    from consortium.models.store import save_model  # noqa: PLC0415
    from consortium.privacy.training import train_local  # noqa: PLC0415
    from consortium.synth import generate_consortium  # noqa: PLC0415

    generate_consortium(root / "synth", seed=7, scale=0.02)
    legs = load_table(root / "synth/members/rhine-road/legs.csv", contract="legs",
                      purpose="eta-training").frame  # fmt: skip
    trained = train_local(legs, kind="eta", epsilon=8.0, home=root / "home", epochs=1, seed=1)
    save_model(trained.model, root / "eta", card=trained.card)
    LaneCatalog(np.asarray(lane_sums(legs))).save(root / "eta")
    return root / "eta"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(
    root: Path, credit: int, model_dir: Path
) -> tuple[str, str, Path, Signer, subprocess.Popen[str]]:
    url = f"sqlite:///{root / 'coordinator.db'}"
    genesis = init_coordinator(database_url=url, key_dir=root / "keys")
    coordinator = load_signer(key_path(root / "keys"))
    owner, treasurer = Signer.generate(), Signer.generate()
    with open_stores(url).begin() as s:
        register_key(s, public_key=owner.public_key, role=Role.CARGO_OWNER, signer=coordinator)
        register_key(s, public_key=treasurer.public_key, role=Role.TREASURER, signer=coordinator)
        deposit(s, account=cargo_account(owner.key_id), amount=credit, external_ref="INV-1",
                signer=treasurer)  # fmt: skip
    certs = generate_certificates(root / "certs", hosts=["127.0.0.1"])
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "consortium"), "coordinator", "serve", "--db", url,
         "--key-dir", str(root / "keys"), "--port", str(port), "--tls-cert",
         str(certs.server_cert), "--tls-key", str(certs.server_key),
         "--eta-model", str(model_dir)],
        env={**os.environ, "FLWR_TELEMETRY_ENABLED": "0"}, text=True,
    )  # fmt: skip
    base = f"https://127.0.0.1:{port}"
    context = ssl.create_default_context(cafile=str(certs.ca_cert))
    with httpx.Client(verify=context, timeout=2) as client:
        for _ in range(2400):
            try:
                if client.get(f"{base}/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
    return base, genesis.key_id, certs.ca_cert, owner, server


def _model_only(model_dir: Path, repeat: int) -> list[float]:
    """Seconds of the lane answer alone (the pooled model's inference), in this process.

    With the service's torch setting (:func:`~consortium.forecasts.pooled.use_inference_threads`).
    """
    from consortium.forecasts.lane import LaneRequest, answer_lane  # noqa: PLC0415
    from consortium.forecasts.pooled import (  # noqa: PLC0415
        lane_catalog,
        pooled_eta_model,
        use_inference_threads,
    )

    use_inference_threads()
    model, version = pooled_eta_model(model_dir)
    catalog, request = lane_catalog(model_dir), LaneRequest.from_params(LANE)
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        answer_lane(model=model, catalog=catalog, request=request, model_version=version,
                    min_group_size=20)  # fmt: skip
        seconds.append(time.perf_counter() - start)
    return seconds


def _stages(root: Path, owner: Signer, model_dir: Path, repeat: int) -> dict[str, list[float]]:
    """Seconds of each server-side step of a paid query, in this process, on the same database.

    The steps the route runs in its one transaction: check and price the signed message, answer
    from the model, settle (split, debit, credit, two entries), and the receipt (tree head,
    inclusion proof); plus the commit.
    """
    from consortium.forecasts.messages import new_query, sign_query  # noqa: PLC0415
    from consortium.forecasts.service import (  # noqa: PLC0415
        compute_answer,
        quote_query,
        settle_answer,
    )
    from consortium.service.receipts import receipt  # noqa: PLC0415
    from consortium.service.state import ServiceSettings, load_state  # noqa: PLC0415

    state = load_state(ServiceSettings(database_url=f"sqlite:///{root / 'coordinator.db'}",
                                       key_dir=root / "keys", eta_model_dir=model_dir))  # fmt: skip
    service = state.queries
    assert service is not None
    steps = ("check and price", "answer (model)", "settle (split, 2 entries)",
             "receipt (head, proof)", "commit")  # fmt: skip
    stages: dict[str, list[float]] = {step: [] for step in steps}
    for _ in range(repeat):
        query = new_query(kind="lane", params=LANE, issuer=owner, max_price_points=50,
                          now=state.clock.now())  # fmt: skip
        signature, marks = sign_query(query, signer=owner), [time.perf_counter()]
        with state.transaction() as session:
            quote = quote_query(session, query=query, signature=signature, service=service,
                                now=state.clock.now())  # fmt: skip
            marks.append(time.perf_counter())
            answer = compute_answer(quote, service=service)
            marks.append(time.perf_counter())
            paid = settle_answer(session, quote=quote, answer=answer, service=service)
            marks.append(time.perf_counter())
            receipt(session, state, paid.answered_seq, entry=paid.answered_entry)
            marks.append(time.perf_counter())
        marks.append(time.perf_counter())
        for key, (start, stop) in zip(stages, itertools.pairwise(marks), strict=True):
            stages[key].append(stop - start)
    return stages


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        total = args.queries + args.warmup
        model_dir = _eta_model(Path(tmp))
        base, pin, ca_cert, owner, server = _start(Path(tmp), credit=20 * total,
                                                   model_dir=model_dir)  # fmt: skip
        try:
            with RemoteCoordinator(base, pin=pin, ca_cert=ca_cert) as remote:
                seconds: list[float] = []
                for i in range(total):
                    start = time.perf_counter()
                    paid = remote.buy_forecast(owner=owner, kind="lane", params=LANE,
                                               max_price_points=50)  # fmt: skip
                    if i >= args.warmup:
                        seconds.append(time.perf_counter() - start)
                size = remote.head().size
                left = remote.cargo_balance(owner=owner)
        finally:
            server.terminate()
            server.wait(timeout=30)
        model_ms = [s * 1000 for s in _model_only(model_dir, args.queries)]
        stages = _stages(Path(tmp), owner, model_dir, args.queries // 2)
    ms = [s * 1000 for s in seconds]
    print(
        f"paid lane queries over HTTPS: {len(ms)} timed after {args.warmup} warm-up; "
        f"ledger {size} entries at the end; balance left {left}; last fee {paid.fee}"
    )
    print("| what | p50 ms | p90 ms | p99 ms | max ms | mean ms |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = [
        ("paid query over HTTPS (client, end to end)", ms),
        ("lane answer alone (model inference, in process)", model_ms),
        *((f"server step, in process: {k}", [s * 1000 for s in v]) for k, v in stages.items()),
    ]
    for label, values in rows:
        print(f"| {label} | {_percentile(values, 0.5):.1f} | {_percentile(values, 0.9):.1f} | "
              f"{_percentile(values, 0.99):.1f} | {max(values):.1f} | "
              f"{statistics.fmean(values):.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
