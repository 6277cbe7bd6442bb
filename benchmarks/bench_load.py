"""Benchmark the contract-checked loader on a large synthetic legs table.

Run ``.venv/bin/python -m benchmarks.bench_load [--rows N] [--frictionless-rows M]``.
It generates ``N`` leg rows with numpy (vectorised; mixed UTC offsets, one extra column, two
personal columns), writes them as CSV and Parquet to a temporary folder, times
:func:`consortium.data.load_table` on each (``time.perf_counter``) and reports the peak resident
set size of the process (``resource.getrusage``), then prints a markdown table.  With
``--frictionless-rows M`` it also times frictionless's own row-by-row ``validate()`` on the first
``M`` rows, the reference the fast path is checked against.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from consortium.data import write_declaration

_MODES = np.array(["sea", "road", "rail", "air"])
_PLACES = np.array(
    ["NLRTM", "DEHAM", "BEANR", "FRA", "JFK", "CNSHA", "SGSIN", "PLGDN", "LHR", "USLAX"]
)
_CARRIERS = np.array([f"C{i:02d}" for i in range(20)])
_CARGO = np.array(["container", "bulk", "pallets", "reefer", "liquid"])
_OFFSETS_MIN = np.array([0, 60, 120, -300, 480])
_OFFSET_TEXT = np.array(["Z", "+01:00", "+02:00", "-05:00", "+08:00"])


def _iso(utc_s: np.ndarray, offset_idx: np.ndarray) -> np.ndarray:
    """Format UTC seconds as ISO 8601 local times with the chosen offsets."""
    local = (utc_s + _OFFSETS_MIN[offset_idx] * 60).astype("datetime64[s]")
    text = np.datetime_as_string(local, unit="s")
    return np.char.add(text.astype("U19"), _OFFSET_TEXT[offset_idx])


def synth_legs(n_rows: int, *, seed: int = 0) -> pd.DataFrame:
    """Return ``n_rows`` valid leg rows as strings-and-numbers, the way a member exports them."""
    rng = np.random.default_rng(seed)
    base = np.datetime64("2024-01-01T00:00:00", "s").astype(np.int64)
    dep = base + rng.integers(0, 365 * 86400, n_rows)
    duration = rng.integers(3600, 20 * 86400, n_rows)
    delay_dep = rng.integers(-1800, 6 * 3600, n_rows)
    delay_arr = delay_dep + rng.integers(-3600, 12 * 3600, n_rows)
    off = rng.integers(0, len(_OFFSETS_MIN), n_rows)
    ids = np.char.add("L", np.char.zfill(np.arange(n_rows).astype(str), 8))
    return pd.DataFrame(
        {
            "leg_id": ids,
            "mode": _MODES[rng.integers(0, 4, n_rows)],
            "carrier": _CARRIERS[rng.integers(0, len(_CARRIERS), n_rows)],
            "origin": _PLACES[rng.integers(0, len(_PLACES), n_rows)],
            "destination": _PLACES[rng.integers(0, len(_PLACES), n_rows)],
            "scheduled_departure": _iso(dep, off),
            "scheduled_arrival": _iso(dep + duration, off),
            "actual_departure": _iso(dep + delay_dep, off),
            "actual_arrival": _iso(dep + duration + np.maximum(delay_arr, 1 - duration), off),
            "distance_km": np.round(rng.uniform(5, 15000, n_rows), 1),
            "cargo_type": _CARGO[rng.integers(0, len(_CARGO), n_rows)],
            "wind_speed": np.round(rng.gamma(2.0, 3.0, n_rows), 2),
            "precipitation": np.round(rng.exponential(1.0, n_rows), 2),
            "visibility": np.round(rng.uniform(0.1, 30, n_rows), 2),
            "temperature": np.round(rng.normal(12, 9, n_rows), 1),
            "congestion_index": np.round(rng.uniform(0, 1, n_rows), 3),
            "driver_name": np.char.add("driver ", (np.arange(n_rows) % 997).astype(str)),
            "contact_email": "ops@example.org",
            "internal_ref": rng.integers(0, 10**9, n_rows),
        }
    )


def _peak_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load_in_fresh_process(path: Path) -> tuple[float, int, float]:
    """Time one load in a new interpreter so its peak RSS is its own: seconds, rows, MiB."""
    # ru_maxrss survives execve on Linux (it would report the parent's peak); VmHWM does not.
    code = (
        "import json, re, sys, time\n"
        "from consortium.data import load_table\n"
        "start = time.perf_counter()\n"
        f"t = load_table({str(path)!r}, contract='legs', purpose='eta-training')\n"
        "elapsed = time.perf_counter() - start\n"
        "status = open('/proc/self/status').read()\n"
        "rss = int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1)) / 1024\n"
        "sys.stdout.write(json.dumps([elapsed, t.n_rows, rss]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, n_rows, rss = json.loads(done.stdout)
    return float(seconds), int(n_rows), float(rss)


def _time_frictionless(csv_path: Path, n_rows: int, out_dir: Path) -> float:
    """Seconds frictionless's own ``validate()`` takes on the first ``n_rows`` rows."""
    from frictionless import Resource, Schema, validate

    from consortium.schemas import load_contract

    head = out_dir / "head.csv"
    pd.read_csv(csv_path, nrows=n_rows, dtype=str).to_csv(head, index=False)
    schema = Schema.from_descriptor(load_contract("legs").schema.to_descriptor())
    schema.fields_match = "subset"  # match columns by name, as the loader does
    resource_ = Resource(path=head.name, basepath=str(out_dir), schema=schema)
    start = time.perf_counter()
    report = validate(resource_)
    elapsed = time.perf_counter() - start
    if not report.valid:
        raise RuntimeError(f"frictionless rejected generated rows: {report.flatten(['type'])[:3]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    """Generate, write, load and report; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--frictionless-rows", type=int, default=0)
    args = parser.parse_args(argv)

    lines = [
        f"rows: {args.rows:,}",
        "",
        "| step | seconds | rows/s | peak RSS MiB (process) |",
        "|---|---:|---:|---:|",
    ]

    def record(step: str, seconds: float, rows: int) -> None:
        lines.append(f"| {step} | {seconds:.2f} | {rows / seconds:,.0f} | {_peak_rss_mib():,.0f} |")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        start = time.perf_counter()
        frame = synth_legs(args.rows)
        record("generate (numpy)", time.perf_counter() - start, args.rows)
        csv_path, parquet_path = out / "legs.csv", out / "legs.parquet"
        frame.to_csv(csv_path, index=False)
        frame.to_parquet(parquet_path, index=False)
        del frame
        for path in (csv_path, parquet_path):
            write_declaration(
                out, member_id="bench", path=path.name, contract="legs", purposes=["eta-training"]
            )
        sizes = {p.suffix: p.stat().st_size / 2**20 for p in (csv_path, parquet_path)}
        for path in (csv_path, parquet_path):
            seconds, n_loaded, rss = _load_in_fresh_process(path)
            lines.append(
                f"| load_table {path.suffix[1:]} ({sizes[path.suffix]:.0f} MiB file) | "
                f"{seconds:.2f} | {n_loaded / seconds:,.0f} | {rss:,.0f} |"
            )
        if args.frictionless_rows:
            seconds = _time_frictionless(csv_path, args.frictionless_rows, out)
            record("frictionless validate() csv", seconds, args.frictionless_rows)
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.write(json.dumps({"python": sys.version.split()[0]}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
