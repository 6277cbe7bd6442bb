"""SecAgg+ vs plain FedAvg as the consortium grows: round time and peak memory on one machine.

Every configuration runs in a fresh interpreter (so peak memory is its own): after a warm-up round
(imports, first torch call) it times whole ServerApp runs of one round (the median of up to 5
when a round takes well under a second) on the one-machine
runner (``LocalGrid``: every message goes through protobuf, every member runs its real ClientApp
with ``secaggplus_mod`` on the secure path) and reads the rise of the process's peak RSS
(``resource.getrusage``); then it runs the same round again under ``tracemalloc`` for the peak of
Python and NumPy allocations. Plain and SecAgg+ of one size run back to back, so their ratio
comes from the same conditions.

Two models:

``toy``
    ``federation.toy``: ``nn.Linear(4, 1)`` (5 parameters), each member a few SGD steps; the
    round time is the protocol's own cost (key agreement, Shamir shares, masking, unmasking).
``eta``
    The ETA network's layout (172 616 parameters, ``build_eta_network``); each member returns
    a small seeded update of that layout (no training, so that the aggregation is what is
    timed); the coordinator runs ``secagg.run_fedavg_round`` with the server's default
    clipping range (0.5) and ``max_weight`` 1000, as a federated round does.

Run (about 5 minutes on 2 cores)::

    FLWR_TELEMETRY_ENABLED=0 FLWR_DISABLE_UPDATE_CHECK=1 \
        .venv/bin/python -m benchmarks.bench_secagg_scale --members 5 20 100 200 \
        --eta-members 5 20 100 --out benchmarks/secagg_scale.png
"""

from __future__ import annotations

import os

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
import zlib  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from flwr.app import ConfigRecord, Context  # noqa: E402
from flwr.client import Client, NumPyClient  # noqa: E402
from flwr.client.mod import secaggplus_mod  # noqa: E402
from flwr.clientapp import ClientApp  # noqa: E402
from flwr.common import NDArrays, Scalar  # noqa: E402
from flwr.serverapp import Grid, ServerApp  # noqa: E402

from consortium.federation.local_grid import LocalGrid, run_local  # noqa: E402
from consortium.federation.records import specs_of, state_dict_to_ndarrays  # noqa: E402
from consortium.federation.secagg import (  # noqa: E402
    SecAggSettings,
    make_update_guard_mod,
    run_fedavg_round,
)
from consortium.federation.toy import make_toy_client_app, make_toy_server_app  # noqa: E402
from consortium.models.eta import EtaSpec, build_eta_network  # noqa: E402

logger = logging.getLogger("benchmarks.bench_secagg_scale")

ETA_CLIP = 0.5
ETA_MAX_WEIGHT = 1000.0


# --- the ETA-size round --------------------------------------------------------------------------


def _eta_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return build_eta_network(EtaSpec()).state_dict()


class _EtaSizeClient(NumPyClient):
    """Returns a small seeded update of the ETA layout, as a member's DP round would."""

    def __init__(self, context: Context) -> None:
        self._member = str(context.node_config["member-id"])

    def fit(
        self, parameters: NDArrays, config: dict[str, Scalar]
    ) -> tuple[NDArrays, int, dict[str, Scalar]]:
        rng = np.random.default_rng(zlib.crc32(self._member.encode()))
        update = [(rng.standard_normal(p.shape) * 0.01).astype(np.float32) for p in parameters]
        return update, int(rng.integers(100, 1000)), {}


def _eta_client_app(*, secure: bool) -> ClientApp:
    mods = [secaggplus_mod] if secure else []
    mods.append(make_update_guard_mod())

    def client_fn(context: Context) -> Client:
        return _EtaSizeClient(context).to_client()

    return ClientApp(client_fn=client_fn, mods=mods)


def _eta_server_app() -> ServerApp:
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        state = _eta_state()
        secure = bool(context.run_config["secure"])
        outcome = run_fedavg_round(
            grid,
            context,
            global_arrays=state_dict_to_ndarrays(state),
            expected=specs_of(state),
            secagg=SecAggSettings(clipping_range=ETA_CLIP, max_weight=ETA_MAX_WEIGHT)
            if secure
            else None,
            node_labels=grid.node_labels() if isinstance(grid, LocalGrid) else None,
        )
        context.state["bench.outcome"] = ConfigRecord({"members": outcome.num_members})

    return app


# --- one configuration (run in its own interpreter) ---------------------------------------------


def _round(model: str, members: int, *, secure: bool) -> Callable[[], int]:
    nodes = {f"m{i}": {"member-id": f"m{i}"} for i in range(members)}
    if model == "toy":
        config = {"secure": secure, "rounds": 1, "clipping-range": 8.0, "max-weight": 100.0}

        def toy() -> int:
            run = run_local(
                make_toy_server_app(),
                make_toy_client_app(secure=secure),
                nodes=nodes,
                run_config=config,
            )
            return int(run.context.state.config_records["toy.outcome"]["members"])  # type: ignore[arg-type]

        return toy

    def eta() -> int:
        run = run_local(
            _eta_server_app(),
            _eta_client_app(secure=secure),
            nodes=nodes,
            run_config={"secure": secure},
        )
        return int(run.context.state.config_records["bench.outcome"]["members"])  # type: ignore[arg-type]

    return eta


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def measure_one(model: str, members: int, *, secure: bool) -> dict[str, Any]:
    """Time one round and measure its memory, in this process."""
    _round("toy", 3, secure=secure)()  # warm-up: lazy imports, first torch call, crypto backend
    if model == "eta":
        _round("eta", 3, secure=secure)()
    run = _round(model, members, secure=secure)
    base_rss = _peak_rss_mib()
    started = time.perf_counter()
    aggregated = run()
    times = [time.perf_counter() - started]
    rss_rise = _peak_rss_mib() - base_rss
    while sum(times) < 2.0 and len(times) < 5:  # short rounds: the median of up to 5
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    seconds = float(np.median(times))
    tracemalloc.start()
    run()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "model": model,
        "members": members,
        "secure": secure,
        "seconds": seconds,
        "repeats": len(times),
        "aggregated": aggregated,
        "peak_rss_rise_mib": rss_rise,
        "traced_peak_mib": traced_peak / 2**20,
    }


def measure(model: str, members: int, *, secure: bool) -> dict[str, Any]:
    """Run :func:`measure_one` in a fresh interpreter and return its result."""
    cmd = [sys.executable, "-m", "benchmarks.bench_secagg_scale", "--one", model, str(members)]
    cmd.append("secure" if secure else "plain")
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- report -------------------------------------------------------------------------------------


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        (
            "| model | members | plain s/round | SecAgg+ s/round | time ratio | plain peak RSS "
            "rise MiB | SecAgg+ peak RSS rise MiB | plain traced peak MiB "
            "| SecAgg+ traced peak MiB |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    pairs: dict[tuple[str, int], dict[bool, dict[str, Any]]] = {}
    for r in rows:
        pairs.setdefault((r["model"], r["members"]), {})[r["secure"]] = r
    for (model, members), pair in pairs.items():
        plain, secure = pair[False], pair[True]
        lines.append(
            f"| {model} | {members} | {plain['seconds']:.3f} | {secure['seconds']:.3f} | "
            f"{secure['seconds'] / plain['seconds']:.1f}x | {plain['peak_rss_rise_mib']:.1f} | "
            f"{secure['peak_rss_rise_mib']:.1f} | {plain['traced_peak_mib']:.1f} | "
            f"{secure['traced_peak_mib']:.1f} |"
        )
    return "\n".join(lines)


def chart(rows: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    styles = {
        ("toy", False): "o--",
        ("toy", True): "o-",
        ("eta", False): "s--",
        ("eta", True): "s-",
    }
    for (model, secure), style in styles.items():
        pts = sorted(
            (r["members"], r["seconds"], r["traced_peak_mib"])
            for r in rows
            if r["model"] == model and r["secure"] is secure
        )
        if not pts:
            continue
        size = "toy (5 params)" if model == "toy" else "ETA size (172k params)"
        label = f"{'SecAgg+' if secure else 'plain'}, {size}"
        axes[0].plot([p[0] for p in pts], [p[1] for p in pts], style, label=label)
        axes[1].plot([p[0] for p in pts], [p[2] for p in pts], style, label=label)
    for ax, title, unit in (
        (axes[0], "One round on the one-machine runner", "seconds per round"),
        (axes[1], "Peak traced memory (tracemalloc)", "MiB"),
    ):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("members")
        ax.set_ylabel(unit)
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", lw=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, nargs="*", default=[5, 20, 100, 200])
    parser.add_argument("--eta-members", type=int, nargs="*", default=[5, 20, 100])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/secagg_scale.png"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--one", nargs=3, metavar=("MODEL", "MEMBERS", "MODE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    logging.getLogger("flwr").setLevel(logging.WARNING)  # an edge may re-level library logs
    torch.set_num_threads(1)
    if args.one:
        model, members, mode = args.one
        result = measure_one(model, int(members), secure=mode == "secure")
        sys.stdout.write(json.dumps(result) + "\n")
        return
    logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)
    logging.getLogger("flwr").setLevel(logging.WARNING)
    rows: list[dict[str, Any]] = []
    for model, sizes in (("toy", args.members), ("eta", args.eta_members)):
        for n in sizes:
            for secure in (False, True):
                rows.append(measure(model, n, secure=secure))
                logger.info("%s", rows[-1])
    header = (
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch threads 1, Python {platform.python_version()}, one fresh interpreter per row"
    )
    logger.info("\n%s\n\n%s", header, table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    chart(rows, args.out)
    logger.info("chart written to %s", args.out)


if __name__ == "__main__":
    main()
