"""DP-SGD throughput against the same model without DP, and peak memory on 1M legs.

``throughput``: the ETA network, the same encoded legs and the same (expected) batch size are
trained for a few epochs without DP and with DP-SGD (ε = 8, Opacus ghost clipping, Poisson
sampling); the training loop alone is timed (samples seen / seconds), so planning the noise and
encoding the frame are not part of either figure.

``memory``: a child process generates a 1M-row legs frame, then encodes it and trains the DP
ETA model for one epoch; its peak resident set size (``ru_maxrss``) is reported.

Run::

    .venv/bin/python -m benchmarks.bench_dp_throughput throughput --rows 200000 --threads 2
    .venv/bin/python -m benchmarks.bench_dp_throughput memory --rows 1000000 --threads 2
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from consortium.models.eta import EtaModel, EtaSpec, build_eta_network, eta_scaling_stats
from consortium.models.losses import EtaLoss
from consortium.models.training import TensorBatches, TrainConfig, fit_module
from consortium.privacy.budget import PrivacyBudget
from consortium.privacy.engine import DPEngine
from consortium.privacy.ledger import PrivacyLedger


def generate_legs(n: int, *, seed: int = 0) -> pd.DataFrame:
    """Return ``n`` labelled legs (vectorised; lanes, carriers, weather, heavy-tailed delays)."""
    rng = np.random.default_rng(seed)
    modes = np.array(["road", "rail", "sea", "air"])
    mode = rng.choice(4, n, p=[0.8, 0.06, 0.1, 0.04])
    places = np.array([f"P{i:03d}" for i in range(300)])
    origin = rng.integers(0, 300, n)
    destination = (origin + rng.integers(1, 300, n)) % 300
    carrier = rng.integers(0, 40, n)
    dep = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(
        np.sort(rng.uniform(0, 730 * 24 * 60, n)).round(), unit="min"
    )
    distance = rng.uniform(50, 4000, n)
    hours = distance / np.array([60.0, 50.0, 30.0, 600.0])[mode] + 1.0
    arr = dep + pd.to_timedelta((hours * 60).round(), unit="min")
    delay = (
        np.array([10.0, 20.0, 120.0, 15.0])[mode]
        + (carrier - 20) * 1.5
        + ((origin * 7 + destination * 3) % 11 - 5) * 6.0
        + rng.standard_t(3, n) * 20.0
    )
    return pd.DataFrame(
        {
            "leg_id": np.char.add("L", np.arange(n).astype(str)),
            "mode": modes[mode],
            "carrier": np.char.add("C", carrier.astype(str)),
            "origin": places[origin],
            "destination": places[destination],
            "scheduled_departure": dep,
            "scheduled_arrival": arr,
            "actual_arrival": arr + pd.to_timedelta(delay.round(), unit="min"),
            "distance_km": distance,
            "cargo_type": np.where(rng.random(n) < 0.5, "general", "reefer"),
            "wind_speed": rng.gamma(2.0, 4.0, n),
            "precipitation": rng.exponential(1.0, n),
            "visibility": rng.uniform(1, 10, n),
            "temperature": rng.normal(12, 8, n),
            "congestion_index": rng.random(n),
        }
    )


def _encoded(legs: pd.DataFrame, spec: EtaSpec) -> TensorBatches:
    stats, target = eta_scaling_stats(legs, spec=spec)
    model = EtaModel(spec=spec, stats=stats, target_stats=target, network=build_eta_network(spec))
    cat, num = model.encode(legs)
    return TensorBatches(cat, num, torch.from_numpy(model.standardise_target(legs)))


def _train(
    data: TensorBatches, *, spec: EtaSpec, epochs: int, private: bool, home: Path
) -> dict[str, float]:
    torch.manual_seed(0)
    engine = None
    if private:
        engine = DPEngine(
            ledger=PrivacyLedger.load(home, "eta"),
            budget=PrivacyBudget(8.0, 1.0 / (10 * len(data))),
            seed=0,
        )
    result = fit_module(
        build_eta_network(spec),
        data,
        criterion=EtaLoss(interval_level=0.8),
        config=TrainConfig(epochs=epochs, batch_size=1024),
        device=torch.device("cpu"),
        privatizer=engine,
    )
    return {
        "samples_per_s": result.samples / result.seconds,
        "seconds": result.seconds,
        "steps": result.steps,
        "epsilon": result.epsilon or float("inf"),
    }


def throughput(rows: int, epochs: int) -> dict[str, object]:
    spec = EtaSpec()
    data = _encoded(generate_legs(rows), spec)
    with tempfile.TemporaryDirectory() as home:
        plain = _train(data, spec=spec, epochs=epochs, private=False, home=Path(home))
        dp = _train(data, spec=spec, epochs=epochs, private=True, home=Path(home))
    return {
        "rows": rows,
        "epochs": epochs,
        "threads": torch.get_num_threads(),
        "no_dp": plain,
        "dp_eps8": dp,
        "slowdown_dp_over_no_dp": plain["samples_per_s"] / dp["samples_per_s"],
    }


def memory_child(rows: int) -> None:
    started = time.perf_counter()
    legs = generate_legs(rows)
    spec = EtaSpec()
    data = _encoded(legs, spec)
    del legs
    with tempfile.TemporaryDirectory() as home:
        result = _train(data, spec=spec, epochs=1, private=True, home=Path(home))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(
        json.dumps(
            {
                "rows": rows,
                "peak_rss_mb": peak_mb,  # noqa: T201
                "seconds_total": time.perf_counter() - started,
                **result,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["throughput", "memory", "memory-child"])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", module="opacus")
    torch.set_num_threads(args.threads)
    if args.mode == "throughput":
        print(json.dumps(throughput(args.rows, args.epochs), indent=2))  # noqa: T201
    elif args.mode == "memory-child":
        memory_child(args.rows)
    else:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_dp_throughput",
                "memory-child",
                "--rows",
                str(args.rows),
                "--threads",
                str(args.threads),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        print(out.stdout.strip().splitlines()[-1])  # noqa: T201


if __name__ == "__main__":
    main()
