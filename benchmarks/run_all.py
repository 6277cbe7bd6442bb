"""Run every benchmark in turn (``make bench``); each prints its own markdown table.

Pass module names to run a subset: ``python -m benchmarks.run_all bench_load bench_ledger``.
The figures committed in ``benchmarks/RESULTS.md`` come from the commands written there.
"""

from __future__ import annotations

import subprocess
import sys
import time

BENCHMARKS = (
    "bench_load",
    "bench_ledger",
    "bench_models",
    "bench_dp_throughput",
    "bench_secagg",
    "bench_points",
    "bench_queries",
    "bench_federation",
    "bench_secagg_scale",
    "bench_contribution",
    "bench_deployment",
)


def main(argv: list[str] | None = None) -> int:
    names = argv if argv else list(BENCHMARKS)
    failed = []
    for name in names:
        print(f"\n## {name}\n", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", f"benchmarks.{name}"])
        print(f"\n({name}: exit {code}, {time.perf_counter() - start:.0f} s)", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
