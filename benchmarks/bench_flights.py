"""nycflights13, one carrier = one member: train on January-October, report on November-December.

Per member (carrier), on its own later legs: its timetable (delay 0), a LightGBM on its own
past rows, its local DP model (``train_local``, ε = 8) and the pooled federated model (every
carrier, ε = 8 each, SecAgg+, ``consortium.federation.runner.federate``) and, with the ``own``
part, the member's own model (``consortium.baselines.own_model``: the best on the latest 15 % of
its January-October rows of the pooled model as it is, fine-tuned on its rows, a LightGBM stacked
on it, its local DP model when the ``local`` part runs too, and its local LightGBM), with MAE,
on-time AUC and 80 % interval coverage; then the same over every later leg. Prints a markdown
table, writes ``benchmarks/flights.png`` and ``benchmarks/flights.json``.

No setting is tuned here: every model runs on the kit's defaults, and whatever the kit chooses by
validation (early stopping, calibration) it chooses on the member's own January-October rows
(the kit's time split of the past). The later months are only scored.

    .venv/bin/python -m benchmarks.bench_flights                 # full run (16 carriers, 10 rounds)
    .venv/bin/python -m benchmarks.bench_flights --rounds 3      # shorter federation
    .venv/bin/python -m benchmarks.bench_flights --rounds 3 --parts federated,own
    .venv/bin/python -m benchmarks.bench_flights --drop-columns origin_recent_delay_minutes

``--drop-columns`` removes optional contract columns from every member's legs (past and later)
before anything trains or scores: e.g. the forecast made days ahead, when the origin's recent
delay is not known yet.
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
from collections.abc import Mapping  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.flights.data import CACHE, members_dir  # noqa: E402
from consortium.baselines import LightGBMBaseline, ScheduleBaseline  # noqa: E402
from consortium.baselines.own_model import choose_own_model, own_model_candidates  # noqa: E402
from consortium.data import load_table  # noqa: E402
from consortium.errors import ConsortiumError  # noqa: E402
from consortium.evaluation import evaluate_eta  # noqa: E402
from consortium.federation.runner import federate  # noqa: E402
from consortium.models.boosting import holdout_rows  # noqa: E402
from consortium.models.families import family  # noqa: E402
from consortium.models.family import ModelSettings  # noqa: E402
from consortium.models.store import load_model, save_model  # noqa: E402
from consortium.privacy.training import train_local  # noqa: E402
from consortium.schemas import load_contract  # noqa: E402

logger = logging.getLogger("benchmarks.bench_flights")

EPSILON, LEVEL, TOLERANCE = 8.0, 0.8, 15
CUT = pd.Timestamp("2013-11-01", tz="UTC")
MIN_LATER = 50
METHODS = ("timetable", "local LightGBM", "local DP", "pooled (federated DP)", "own model")
NO_DP = "local no-DP"
HERE = Path(__file__).parent


def droppable(columns: str) -> tuple[str, ...]:
    """Parse ``--drop-columns a,b``: optional fields of the legs contract (else ``SystemExit``)."""
    names = tuple(filter(None, (c.strip() for c in columns.split(","))))
    contract = load_contract("legs")
    for name in names:
        if name not in contract.field_names:
            raise SystemExit(f"--drop-columns: {name!r} is not a field of the legs contract")
        if name in contract.required:
            raise SystemExit(f"--drop-columns: {name!r} is required by the legs contract")
    return names


def split_members(
    members: Path, past_dir: Path, only: set[str] | None = None, drop: tuple[str, ...] = ()
) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """Load every member (or those in ``only``); write its past (before :data:`CUT`) verbatim.

    The columns in ``drop`` are removed from the past and the later legs alike.
    """
    out: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    for path in sorted(members.glob("*/legs.csv")):
        if only and path.parent.name not in only:
            continue
        frame = load_table(path, contract="legs", purpose="eta-training").frame
        frame = frame.drop(columns=[c for c in drop if c in frame.columns])
        past = frame["scheduled_departure"] < CUT
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        raw = raw.drop(columns=[c for c in drop if c in raw.columns])
        target = past_dir / path.parent.name
        target.mkdir(parents=True, exist_ok=True)
        raw[past.to_numpy()].to_csv(target / "legs.csv", index=False, lineterminator="\n")
        for extra in ("sources.json", "member.json"):
            shutil.copy(path.parent / extra, target / extra)
        out[path.parent.name] = (frame[past], frame[~past])
    return out


def score(predictors: Mapping[str, Any], later: pd.DataFrame) -> dict[str, dict[str, float]]:
    """MAE, on-time AUC and coverage of each predictor on ``later``."""
    table = evaluate_eta(predictors, later, tolerance_minutes=TOLERANCE)
    return {
        name: {k: float(table.loc[name, k]) for k in ("mae", "on_time_auc", "coverage", "n")}
        for name in predictors
    }


def server_config(candidate: str) -> dict[str, Any]:
    """``fedavgm:1:0.7`` -> the run config's ``server-*`` keys (``""``: the kit's default).

    A ``@w<N>`` suffix also sets ``max-weight`` (the cap on one member's SecAgg+ weight), e.g.
    ``fedavgm:1:0.7@w64000``; ``@w<N>`` alone keeps the kit's optimiser.
    """
    spec, _, weight = candidate.partition("@w")
    out: dict[str, Any] = {"max-weight": float(weight)} if weight else {}
    if not spec:
        return out
    kind, rate, *rest = spec.split(":")
    out |= {"server-optimizer": kind, "server-learning-rate": float(rate)}
    if rest:
        out["server-momentum"] = float(rest[0])
    return out


def local_models(
    past: pd.DataFrame,
    home: Path,
    *,
    seed: int,
    local: bool,
    dp_epochs: int | None,
    no_dp: bool = False,
) -> dict[str, Any]:
    """The member's local-only candidates trained on its past (``None`` when it cannot train).

    ``no_dp`` adds its local model trained with ``epsilon = inf`` (the non-private path), to
    check it is never worse than ε = 8 on the same rows.
    """
    models: dict[str, Any] = {
        "timetable": ScheduleBaseline(level=LEVEL, tolerance_minutes=TOLERANCE).fit(past),
    }
    if no_dp:
        try:
            plain = train_local(past, kind="eta", epsilon=math.inf, home=home / "no-dp", seed=seed,
                                epochs=dp_epochs)  # fmt: skip
            models["local no-DP"] = plain.model
        except (ConsortiumError, ValueError) as exc:
            logger.warning("local no-DP: %s", exc)
    if not local:
        return models
    try:
        gbm = LightGBMBaseline(level=LEVEL, tolerance_minutes=TOLERANCE, seed=seed, num_threads=2)
        models["local LightGBM"] = gbm.fit(past)
    except (ConsortiumError, ValueError) as exc:
        logger.warning("local LightGBM: %s", exc)
    try:
        trained = train_local(
            past, kind="eta", epsilon=EPSILON, home=home, seed=seed, epochs=dp_epochs
        )
        models["local DP"] = trained.model
        save_model(trained.model, home / "local-dp", card=trained.card)  # for a later own part
    except (ConsortiumError, ValueError) as exc:
        logger.warning("local DP: %s", exc)
    return models


def own_model(past: pd.DataFrame, pooled: Any, local_dp: Any, *, seed: int) -> tuple[Any, str]:
    """The member's own model, chosen on the latest 15 % of its past; and the winner's name."""
    fit, valid = holdout_rows(past["scheduled_departure"], valid_fraction=0.15)
    eta = family("eta")
    settings = ModelSettings(interval_level=LEVEL, tolerance_minutes=TOLERANCE)
    candidates = own_model_candidates(
        eta, pooled=pooled, settings=settings, local_dp=local_dp, seed=seed
    )
    own = choose_own_model(eta, train=past.iloc[fit], valid=past.iloc[valid],
                           candidates=candidates, settings=settings)  # fmt: skip
    return own.model, own.chosen.name


def run(
    *,
    rounds: int,
    local_epochs: int,
    seed: int,
    parts: set[str],
    only: set[str] | None = None,
    dp_epochs: int | None = None,
    server: str = "",
    pooled_dir: Path | None = None,
    drop: tuple[str, ...] = (),
    keep_pooled: Path | None = None,
) -> dict[str, Any]:
    """Train the ``parts`` (``local``, ``federated``); return scores on the later legs.

    A federated model is also copied to ``keep_pooled`` (when given), to be scored again with
    ``--pooled`` (e.g. by a later ``own`` part) without a second federation.

    ``drop``: legs columns removed from every member before anything trains or scores.
    """
    work = CACHE / ("bench-" + "-".join(sorted(parts)))
    if work.exists():
        shutil.rmtree(work)
    members = split_members(members_dir(), work / "past", only, drop)
    results: dict[str, Any] = {"members": {}, "seconds": {}}
    started = time.perf_counter()
    local: dict[str, dict[str, Any]] = {}
    for member, (past, later) in members.items():
        logger.info("%s: %d past legs, %d later legs", member, len(past), len(later))
        local[member] = local_models(past, work / "state" / member, seed=seed,
                                     local="local" in parts, dp_epochs=dp_epochs,
                                     no_dp="nodp" in parts)  # fmt: skip
    results["seconds"]["local"] = time.perf_counter() - started
    pooled = None
    if "federated" in parts and pooled_dir is not None:  # a model federated on the same past
        pooled = load_model(pooled_dir)
    elif "federated" in parts:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            federate(work / "past", model="eta", rounds=rounds, local_epochs=local_epochs,
                     epsilon=EPSILON, out=Path(tmp), state_dir=Path(tmp) / "state",
                     seed=seed, extra_run_config=server_config(server))  # fmt: skip
            pooled = load_model(Path(tmp) / "model")
            if keep_pooled is not None:  # to score again later with --pooled
                shutil.copytree(Path(tmp) / "model", keep_pooled, dirs_exist_ok=True)
        results["seconds"]["federated"] = time.perf_counter() - started
    everyone_later = pd.concat([later for _, later in members.values()], ignore_index=True)
    everyone_past = pd.concat([past for past, _ in members.values()], ignore_index=True)
    for member, (_, later) in members.items():
        if later.empty:
            continue
        predictors = dict(local[member])
        saved_dp = CACHE / "bench-local" / "state" / member / "local-dp"  # a --parts local run's
        local_dp = local[member].get("local DP") or (
            load_model(saved_dp) if saved_dp.exists() else None
        )
        chosen = None
        if pooled is not None:
            predictors["pooled (federated DP)"] = pooled
            if "own" in parts:
                try:
                    predictors["own model"], chosen = own_model(
                        members[member][0], pooled, local_dp, seed=seed
                    )
                except (ConsortiumError, ValueError) as exc:
                    logger.warning("%s own model: %s", member, exc)
        results["members"][member] = score(predictors, later)
        if chosen is not None:
            results["members"][member]["own model"]["chosen"] = chosen  # type: ignore[assignment]
    overall: dict[str, Any] = {}
    if "local" in parts:
        overall["timetable"] = ScheduleBaseline(level=LEVEL, tolerance_minutes=TOLERANCE)
        overall["timetable"].fit(everyone_past)
        overall["pooled LightGBM"] = LightGBMBaseline(
            level=LEVEL, tolerance_minutes=TOLERANCE, seed=seed, num_threads=2
        ).fit(everyone_past)
    if pooled is not None:
        overall["pooled (federated DP)"] = pooled
    results["overall"] = score(overall, everyone_later) if overall else {}
    setup = {"epsilon": EPSILON, "secure": True, "seed": seed, "cut": CUT.isoformat()}
    if "federated" in parts:
        setup |= {"rounds": rounds, "local_epochs": local_epochs, "server": server or "default"}
        if pooled_dir is not None:
            setup |= {"pooled_from": str(pooled_dir)}
    if "local" in parts or "nodp" in parts:
        setup |= {"local_dp_epochs": dp_epochs or "kit default"}
    if drop:
        setup |= {"dropped_columns": list(drop)}
    results["setup"] = setup
    return results


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Join results of runs with different ``--parts`` (the later ones add their methods)."""
    out: dict[str, Any] = {"members": {}, "overall": {}, "seconds": {}, "setup": {}}
    for part in parts:
        for member, scores in part["members"].items():
            out["members"].setdefault(member, {}).update(scores)
        for key in ("overall", "seconds", "setup"):
            out[key].update(part[key])
    return out


def _cell(scores: Mapping[str, Mapping[str, float]], method: str, key: str = "mae") -> str:
    value = scores.get(method, {}).get(key, float("nan"))
    return "–" if np.isnan(value) else f"{value:.1f}" if key == "mae" else f"{value:.3f}"


def markdown(results: Mapping[str, Any]) -> str:
    """The per-member table, then the overall row and the goals' verdicts."""
    no_dp = any(NO_DP in scores for scores in results["members"].values())
    methods = (*METHODS, NO_DP) if no_dp else METHODS
    head = ("member", "later legs", *[f"{m} MAE" for m in methods], "pooled AUC", "pooled cov.")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    beats_tt = beats_gbm = eligible = own_tt = own_gbm = owned = plain_ok = plain_n = 0
    for member, scores in results["members"].items():
        n = int(next(iter(scores.values()))["n"])
        pooled = "pooled (federated DP)"
        cells = [member, str(n), *[_cell(scores, m) for m in methods]]
        cells += [_cell(scores, pooled, "on_time_auc"), _cell(scores, pooled, "coverage")]
        lines.append("| " + " | ".join(cells) + " |")
        if n >= MIN_LATER and NO_DP in scores and "local DP" in scores:
            plain_n += 1
            plain_ok += scores[NO_DP]["mae"] <= scores["local DP"]["mae"]
        if n >= MIN_LATER and pooled in scores:
            eligible += 1
            beats_tt += scores[pooled]["mae"] < scores["timetable"]["mae"]
            gbm = scores.get("local LightGBM", {}).get("mae", np.inf)
            beats_gbm += scores[pooled]["mae"] < gbm
            if "own model" in scores:
                owned += 1
                own_tt += scores["own model"]["mae"] < scores["timetable"]["mae"]
                own_gbm += scores["own model"]["mae"] <= gbm
    overall = results["overall"]
    lines.append("")
    lines.append("| all later legs | MAE | on-time AUC | 80 % coverage |")
    lines.append("|---|---|---|---|")
    for name, s in overall.items():
        lines.append(f"| {name} | {s['mae']:.1f} | {s['on_time_auc']:.3f} | {s['coverage']:.3f} |")
    if eligible:
        lines.append("")
        lines.append(
            f"Members with at least {MIN_LATER} later legs: the pooled model beats the timetable "
            f"for {beats_tt} of {eligible} and the member's own LightGBM for {beats_gbm} of "
            f"{eligible}."
        )
    if owned:
        lines.append(
            f"Their own models beat the timetable for {own_tt} of {owned} and are at least as "
            f"good as their own LightGBM for {own_gbm} of {owned}."
        )
    if plain_n:
        lines.append(
            f"The local model at ε = inf is at least as good as at ε = 8 for {plain_ok} of "
            f"{plain_n} members with at least {MIN_LATER} later legs."
        )
    return "\n".join(lines)


def chart(results: Mapping[str, Any], out: Path) -> None:
    """Grouped bars: each member's later-period MAE per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    members = list(results["members"])
    fig, ax = plt.subplots(figsize=(12, 4.5))
    width = 0.8 / len(METHODS)
    for i, method in enumerate(METHODS):
        values = [results["members"][m].get(method, {}).get("mae", np.nan) for m in members]
        ax.bar(np.arange(len(members)) + i * width, values, width, label=method)
    ax.set_xticks(np.arange(len(members)) + 0.4 - width / 2)
    ax.set_xticklabels([m.removeprefix("nyc13-").upper() for m in members])
    ax.set_xlabel("member (carrier)")
    ax.set_ylabel("MAE of arrival delay, Nov-Dec 2013 (minutes)")
    ax.set_title("nycflights13: trained on Jan-Oct, scored on Nov-Dec (ε = 8 per member)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)


def main() -> None:
    """Parse the options, run, print the table, write the chart and the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--local-epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--local-dp-epochs", type=int, default=None, help="default: the kit's")
    parser.add_argument(
        "--parts",
        default="local,federated",
        help="local (LightGBM + local DP), nodp (local model at epsilon = inf), federated, own "
        "(each member's own model; with federated); run parts as processes on separate cores "
        "and join their JSON files with --merge",
    )
    parser.add_argument("--merge", type=Path, nargs="*", default=(), help="results to join")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--only", default="", help="comma-separated member ids (smoke runs)")
    parser.add_argument("--server", default="", help="KIND:RATE[:MOMENTUM] (default: the kit's)")
    parser.add_argument(
        "--pooled",
        type=Path,
        default=None,
        help="score this model directory instead of federating (one federated on the same past, "
        "e.g. the one flights.server_choice chose)",
    )
    parser.add_argument(
        "--drop-columns",
        default="",
        help="comma-separated optional legs columns removed from every member (past and later) "
        "before anything trains or scores, e.g. origin_recent_delay_minutes (forecast days ahead)",
    )
    args = parser.parse_args()
    drop = droppable(args.drop_columns)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.merge:
        results = merge([json.loads(p.read_text(encoding="utf-8")) for p in args.merge])
    else:
        results = run(rounds=args.rounds, local_epochs=args.local_epochs, seed=args.seed,
                      parts=set(args.parts.split(",")), dp_epochs=args.local_dp_epochs,
                      server=args.server, pooled_dir=args.pooled, drop=drop,
                      keep_pooled=args.out / "pooled-model",
                      only=set(filter(None, args.only.split(","))))  # fmt: skip
    table = markdown(results)
    print(table)  # noqa: T201
    print(f"seconds: {results['seconds']}")  # noqa: T201
    if args.merge or "," in args.parts:
        chart(results, args.out / "flights.png")
    name = "flights.json" if args.merge or "," in args.parts else f"flights-{args.parts}.json"
    (args.out / name).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
