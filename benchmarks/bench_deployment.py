"""Seconds per round on Flower's deployment runtime (SuperLink + N SuperNodes as processes).

For each N it starts a real local deployment (TLS, SuperNode auth, every key registered),
then runs the toy federation (``tests/deployment/deploy_app``, ``nn.Linear(4, 1)``) for
``--rounds`` rounds with SecAgg+ and again with plain FedAvg, and reads each round's time
from the ServerApp log (``Run finished 1 round(s) in X s``, one line per round). The model is
tiny on purpose: what is measured is the runtime itself (message polling, one
``flwr-clientapp`` process per message, TLS), which is what a member's deployment adds on top
of its own training time. ``--kit`` also runs the kit's real app (ETA model, one round, three
members of a synthetic consortium) end to end and reports its whole run time and the mean
time of its SecAgg+ aggregations (statistics, each training round, calibration).

Run (``--out`` appends the Markdown table to a file)::

    .venv/bin/python -m benchmarks.bench_deployment --nodes 3 5 7 --rounds 3
    .venv/bin/python -m benchmarks.bench_deployment --nodes 3 --rounds 1 --kit --kit-scale 0.05
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import statistics
import tempfile
import time
from pathlib import Path

from consortium.deployment import (
    LocalDeployment,
    MemberNode,
    member_nodes,
    write_kit_app,
)

logger = logging.getLogger("benchmarks.bench_deployment")

TOY_APP = Path(__file__).resolve().parents[1] / "tests" / "deployment" / "deploy_app"
_ROUND = re.compile(r"Run finished 1 round\(s\) in ([0-9.]+)s")


def round_times(log: str) -> list[float]:
    """Per-round seconds as the legacy workflow logs them."""
    return [float(s) for s in _ROUND.findall(log)]


def bench_toy(nodes: int, rounds: int, work: Path) -> list[str]:
    """Markdown rows (SecAgg+ and plain) for ``nodes`` SuperNodes."""
    members = [MemberNode(f"m{i}", {"member-id": f"m{i}"}) for i in range(nodes)]
    start = time.perf_counter()
    rows = []
    with LocalDeployment(work / f"n{nodes}", members=members) as dep:
        up_s = time.perf_counter() - start
        for secure in (True, False):
            out = work / f"n{nodes}" / "results"
            config = {"rounds": rounds, "secure": secure, "out-dir": str(out)}
            run_id = dep.run(TOY_APP, run_config=config)
            result = dep.wait(run_id, timeout_s=3600)
            times = round_times(result.log)
            outcome = json.loads((out / f"outcome-{run_id}.json").read_text())
            if not result.ok or len(times) != rounds or outcome.get("members") != nodes:
                raise RuntimeError(f"run {run_id}: {result.status}, {outcome}, rounds {times}")
            rows.append(
                f"| {nodes} | {'SecAgg+' if secure else 'plain'} | {up_s:.1f} "
                f"| {statistics.mean(times):.1f} | {min(times):.1f} | {max(times):.1f} "
                f"| {result.elapsed_s:.1f} |"
            )
            logger.info(rows[-1])
    return rows


def bench_kit(scale: float, work: Path) -> str:
    """One Markdown row: the kit's ETA app, one round, three members, whole run."""
    from consortium.synth import generate_consortium

    generate_consortium(work / "data", seed=7, scale=scale)
    specs = member_nodes(
        work / "data", model="eta", epsilon=8.0, state_dir=work / "state", limit=3
    )
    app = write_kit_app(work / "app")
    start = time.perf_counter()
    with LocalDeployment(work / "kit", members=specs) as dep:
        up_s = time.perf_counter() - start
        run_id = dep.run(app, run_config={"rounds": 1, "out-dir": str(work / "out")})
        result = dep.wait(run_id, timeout_s=7200)
    if not result.ok:
        raise RuntimeError(f"kit run {run_id}: {result.status} {result.details}")
    times = round_times(result.log)
    per_round = f"{statistics.mean(times):.1f} (x{len(times)})" if times else "n/a"
    return (f"| kit eta (scale {scale}) | 3 | {up_s:.1f} | {per_round} "
            f"| {result.elapsed_s:.1f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, nargs="+", default=[3, 5, 7])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kit", action="store_true", help="also run the kit's real ETA app")
    parser.add_argument("--kit-scale", type=float, default=0.05)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    table = [
        "| SuperNodes | aggregation | start s | s/round mean | min | max | whole run s |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory(prefix="bench-deployment-") as tmp:
        for n in args.nodes:
            table += bench_toy(n, args.rounds, Path(tmp))
        if args.kit:
            table += [
                "",
                "| app | SuperNodes | start s | s per SecAgg+ aggregation | whole run s |",
                "|---|---:|---:|---:|---:|",
                bench_kit(args.kit_scale, Path(tmp)),
            ]
    text = "\n".join(table)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    header = (
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average at the end {load:.1f}; "
        f"toy app, {args.rounds} rounds per run\n\n"
    )
    logger.info("\n%s%s", header, text)
    if args.out:
        with args.out.open("a", encoding="utf-8") as fh:
            fh.write("\n" + header + text + "\n")


if __name__ == "__main__":
    main()
