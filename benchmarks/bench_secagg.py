"""Round time with SecAgg+ vs plain FedAvg on the one-machine runner (toy model, one run each).

Run (``--members 5 20 100`` by default; ``--out`` appends a Markdown table to a file)::

    FLWR_TELEMETRY_ENABLED=0 FLWR_DISABLE_UPDATE_CHECK=1 \
        .venv/bin/python -m benchmarks.bench_secagg --out benchmarks/results_federation.md
"""

from __future__ import annotations

import os

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402

from consortium.federation.local_grid import run_local  # noqa: E402
from consortium.federation.toy import make_toy_client_app, make_toy_server_app  # noqa: E402

logger = logging.getLogger("benchmarks.bench_secagg")


def time_round(members: int, *, secure: bool) -> tuple[float, int]:
    """Seconds for one whole ServerApp run of one round, and the members aggregated."""
    nodes = {f"m{i}": {"member-id": f"m{i}"} for i in range(members)}
    config = {"secure": secure, "rounds": 1, "clipping-range": 8.0, "max-weight": 100.0}
    start = time.perf_counter()
    run = run_local(
        make_toy_server_app(), make_toy_client_app(secure=secure), nodes=nodes, run_config=config
    )
    elapsed = time.perf_counter() - start
    return elapsed, int(run.context.state.config_records["toy.outcome"]["members"])  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, nargs="+", default=[5, 20, 100])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("flwr").setLevel(logging.WARNING)  # an edge may re-level library logs
    torch.set_num_threads(1)
    time_round(3, secure=False)  # warm-up: imports and first torch call
    rows = [
        "| members | plain s/round | SecAgg+ s/round | ratio | aggregated (plain/secure) |",
        "|---:|---:|---:|---:|---|",
    ]
    for n in args.members:
        plain, n_plain = time_round(n, secure=False)
        secure, n_secure = time_round(n, secure=True)
        rows.append(
            f"| {n} | {plain:.3f} | {secure:.3f} | {secure / plain:.1f}x | {n_plain}/{n_secure} |"
        )
        logger.info(rows[-1])
    table = "\n".join(rows)
    logger.info("\n%s", table)
    if args.out:
        header = (
            f"\nMachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"torch threads 1, Python {platform.python_version()}\n\n"
        )
        with args.out.open("a", encoding="utf-8") as fh:
            fh.write(header + table + "\n")


if __name__ == "__main__":
    main()
