"""Does every member gain from joining? Federated DP vs local-only DP vs pooled non-private.

On the synthetic consortium (``generate_consortium(seed=7, scale=...)``), for the ETA model (4
carriers) and the stock-risk model (3 warehouses), every member is scored **on its own test
rows** (the last 25 % of its period, ``targets.time_split``) by:

(a) ``federated DP``: the kit's ``federate`` (SecAgg+, DP-SGD on every member, ε = 8 per
    member), rounds and local epochs chosen by validation on the past (below);
(b) ``local DP``: ``privacy.training.train_local`` on the member's own rows, ε = 8, the kit's
    default hyper-parameters;
(c) ``pooled net (no DP)``: the same network trained without DP on the union of every member's
    training rows (calibrated on the union of their validation rows), and
    ``pooled LightGBM``: ``baselines.LightGBMBaseline`` / ``LightGBMStockBaseline`` fitted on
    the union of every member's training and validation rows. ``local LightGBM`` (each member
    alone, no DP) is in the table for reference;
(d) ``own model``: the member's own model after the federation
    (``baselines.member_value``): the best on its validation period of the federated model as
    it is, fine-tuned on its rows, a LightGBM stacked on it, its local DP model (b) and its
    local LightGBM. "own vs best local" compares it with the better of (b) and local LightGBM.

Choosing rounds and local epochs without touching the test period: the federation scores the
global model on each member's *test* rows, so the candidates are run on the members' **past**
only -- each member's training + validation rows (the first 75 % of its period), written to a
second members folder. Inside that past, the kit's own time split holds out the last quarter
(the member's validation period plus the end of its training period), and the federation's
per-member scores on it choose the setting (ETA: geometric mean of the members' MAE; stock:
mean stock-out Brier). The chosen setting is then run once on the full data; its model card
gives the test figures reported.

The pooled network is trained with ``fit_eta`` / ``fit_stock`` on the members' own training
parts rather than ``train_local`` on the pooled frame, because ``train_local`` would re-split the
pooled rows by time and at scale 1.0 that puts 48 of the members' test legs into the pooled
training period.

Run (4 to 9 minutes on 2 shared cores at scale 1.0, depending on the other load)::

    FLWR_TELEMETRY_ENABLED=0 FLWR_DISABLE_UPDATE_CHECK=1 \
        .venv/bin/python -m benchmarks.bench_federation --scale 1.0 --out benchmarks/federation.png
"""

from __future__ import annotations

import os

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Mapping, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from consortium.baselines import LightGBMBaseline, LightGBMStockBaseline  # noqa: E402
from consortium.baselines.member_value import member_value  # noqa: E402
from consortium.data import load_table  # noqa: E402
from consortium.data.targets import Split, time_split  # noqa: E402
from consortium.evaluation import evaluate_eta, evaluate_stock  # noqa: E402
from consortium.federation.runner import federate  # noqa: E402
from consortium.models.encoding import EncoderConfig  # noqa: E402
from consortium.models.eta import EtaSpec, fit_eta  # noqa: E402
from consortium.models.families import family  # noqa: E402
from consortium.models.family import ModelSettings  # noqa: E402
from consortium.models.stock import StockSpec, fit_stock  # noqa: E402
from consortium.models.store import load_stored_model  # noqa: E402
from consortium.privacy.training import train_local  # noqa: E402
from consortium.synth import generate_consortium  # noqa: E402

logger = logging.getLogger("benchmarks.bench_federation")

EPSILON = 8.0
LEVEL, TOLERANCE, HORIZON = 0.8, 15, 7
CONTRACT = {"eta": "legs", "stock": "stock"}
PURPOSE = {"eta": "eta-training", "stock": "stock-training"}
# (rounds, local epochs, max-weight) tried on the past; the local model trains the family's
# train_defaults epochs
# (24 / 20). max-weight caps each member's FedAvg weight (its training rows): 1e6 (the server's
# default) weighs members by their rows; 1000 or 300 keep the largest carrier (36 000 legs) from
# drowning the updates of the small ones (300: about equal weights).
Setting = tuple[int, int, float]
CANDIDATES: tuple[Setting, ...] = (
    (3, 8, 1e6),
    (6, 4, 1e6),
    (12, 2, 1000.0),
    (12, 2, 300.0),
    (24, 1, 300.0),
)
METHODS = (
    "federated DP",
    "local DP",
    "pooled net (no DP)",
    "pooled LightGBM",
    "local LightGBM",
    "own model",
)


# --- data ---------------------------------------------------------------------------------------


def member_files(members_dir: Path, kind: str) -> dict[str, Path]:
    """Member id -> its file for ``kind``."""
    return {p.parent.name: p for p in sorted(members_dir.glob(f"*/{CONTRACT[kind]}.csv"))}


def load_member(path: Path, kind: str) -> pd.DataFrame:
    """The member's contract-checked rows (row order = file order)."""
    return load_table(path, contract=CONTRACT[kind], purpose=PURPOSE[kind]).frame


def write_past(members_dir: Path, past_dir: Path, kind: str) -> dict[str, int]:
    """Copy every member's training + validation rows (its past) into ``past_dir``, verbatim."""
    rows: dict[str, int] = {}
    for member, path in member_files(members_dir, kind).items():
        frame = load_member(path, kind)
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        if len(raw) != len(frame) or not frame.index.equals(pd.RangeIndex(len(frame))):
            raise RuntimeError(f"{path}: loaded rows do not line up with the file's rows")
        split = time_split(frame, time_column=family(kind).time_column)
        keep = sorted([*split.train.index, *split.valid.index])
        target = past_dir / member
        target.mkdir(parents=True, exist_ok=True)
        raw.iloc[keep].to_csv(target / path.name, index=False)
        for extra in ("sources.json", "member.json"):
            if (path.parent / extra).exists():
                shutil.copy(path.parent / extra, target / extra)
        rows[member] = len(keep)
    return rows


# --- the three ways -----------------------------------------------------------------------------


def run_federation(
    members_dir: Path, kind: str, *, setting: Setting, seed: int, keep: Path | None = None
) -> dict[str, Any]:
    """Run the kit's federation; return its model card, the wall time and (``keep``) its model."""
    rounds, local_epochs, max_weight = setting
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        federate(
            members_dir,
            model=kind,  # type: ignore[arg-type]
            rounds=rounds,
            local_epochs=local_epochs,
            epsilon=EPSILON,
            out=Path(tmp),
            state_dir=Path(tmp) / "state",  # each setting is tried as a fresh consortium
            seed=seed,
            extra_run_config={"max-weight": float(max_weight)},
        )
        seconds = time.perf_counter() - started
        card = json.loads((Path(tmp) / "model" / "model_card.json").read_text(encoding="utf-8"))
        if keep is not None:
            shutil.copytree(Path(tmp) / "model", keep)
    return {"card": card, "seconds": seconds}


def validation_score(kind: str, per_member: Mapping[str, Mapping[str, float]]) -> float:
    """Lower is better: ETA geometric-mean MAE, stock mean stock-out Brier (members equal)."""
    if kind == "eta":
        return math.exp(sum(math.log(m["mae"]) for m in per_member.values()) / len(per_member))
    return sum(m["stockout_brier"] for m in per_member.values()) / len(per_member)


def pick_setting(
    past_dir: Path, kind: str, *, candidates: Sequence[Setting], seed: int
) -> tuple[Setting, list[dict[str, Any]]]:
    """Run every candidate on the past; return the best one and every candidate's score."""
    tried: list[dict[str, Any]] = []
    if len(candidates) == 1:  # a setting given on the command line: nothing to choose
        return candidates[0], tried
    for setting in candidates:
        result = run_federation(past_dir, kind, setting=setting, seed=seed)
        per_member = result["card"]["metrics_per_member"]
        score = validation_score(kind, per_member)
        tried.append(
            {
                "setting": list(setting),
                "score": score,
                "seconds": result["seconds"],
                "per_member": per_member,
            }
        )
        logger.info("%s past: %s -> %.4f (%.0f s)", kind, _label(setting), score, result["seconds"])
    best = min(tried, key=lambda t: t["score"])
    return tuple(best["setting"]), tried  # type: ignore[return-value]


def _label(setting: Sequence[float]) -> str:
    rounds, epochs, max_weight = setting
    return f"{int(rounds)}x{int(epochs)}" + ("" if max_weight >= 1e6 else f" cap {max_weight:g}")


def score(kind: str, predictors: Mapping[str, Any], test: pd.DataFrame) -> pd.DataFrame:
    """Test metrics of each predictor on one member's test rows."""
    if kind == "eta":
        return evaluate_eta(predictors, test, tolerance_minutes=TOLERANCE)
    return evaluate_stock(predictors, test, horizon_days=HORIZON)


def pooled_models(kind: str, splits: Mapping[str, Split], *, seed: int) -> dict[str, Any]:
    """The pooled network (no DP) and the pooled LightGBM, on the members' own past parts."""
    train = pd.concat([s.train for s in splits.values()], ignore_index=True)
    valid = pd.concat([s.valid for s in splits.values()], ignore_index=True)
    past = pd.concat([train, valid], ignore_index=True)
    config = family(kind).train_defaults
    cpu = torch.device("cpu")
    if kind == "eta":
        spec = EtaSpec(encoder=EncoderConfig(), interval_level=LEVEL, tolerance_minutes=TOLERANCE)
        net, _ = fit_eta(train, valid=valid, spec=spec, config=config, device=cpu)
        gbm: Any = LightGBMBaseline(level=LEVEL, tolerance_minutes=TOLERANCE, seed=seed).fit(past)
    else:
        stock_spec = StockSpec(encoder=EncoderConfig(buckets=256), horizon_days=HORIZON)
        net, _ = fit_stock(train, valid=valid, spec=stock_spec, config=config, device=cpu)
        gbm = LightGBMStockBaseline(horizon_days=HORIZON, seed=seed).fit(past)
    return {"pooled net (no DP)": net, "pooled LightGBM": gbm}


def bench_kind(
    root: Path, kind: str, *, seed: int, candidates: Sequence[Setting] = CANDIDATES
) -> dict[str, Any]:
    """Everything for one model kind: choice on the past, then every method on the test rows."""
    members_dir = root / "members"
    past_dir = root / f"past-{kind}"
    past_rows = write_past(members_dir, past_dir, kind)
    chosen, tried = pick_setting(past_dir, kind, candidates=candidates, seed=seed)
    final = run_federation(members_dir, kind, setting=chosen, seed=seed, keep=root / f"fed-{kind}")
    card = final["card"]
    federated = load_stored_model(root / f"fed-{kind}")
    settings = ModelSettings(
        interval_level=LEVEL, tolerance_minutes=TOLERANCE, horizon_days=HORIZON
    )
    frames = {m: load_member(p, kind) for m, p in member_files(members_dir, kind).items()}
    splits = {m: time_split(f, time_column=family(kind).time_column) for m, f in frames.items()}
    pooled = pooled_models(kind, splits, seed=seed)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for member, frame in frames.items():
        split = splits[member]
        with tempfile.TemporaryDirectory() as home:
            local = train_local(frame, kind=kind, epsilon=EPSILON, home=Path(home), seed=seed)  # type: ignore[arg-type]
        past = pd.concat([split.train, split.valid])
        local_gbm: Any = (
            LightGBMBaseline(level=LEVEL, tolerance_minutes=TOLERANCE, seed=seed).fit(past)
            if kind == "eta"
            else LightGBMStockBaseline(horizon_days=HORIZON, seed=seed).fit(past)
        )
        table = score(kind, {**pooled, "local LightGBM": local_gbm}, split.test)
        rows = {name: {k: float(v) for k, v in row.items()} for name, row in table.iterrows()}
        value = member_value(
            frame,
            fam=family(kind),
            settings=settings,
            pooled=federated,
            member=member,
            local_dp=local.model,
            seed=seed,
        )
        rows["own model"] = {k: float(v) for k, v in value.scores.loc["own"].items()}
        rows["own model"]["chosen"] = value.own.chosen.name  # type: ignore[assignment]
        rows["local DP"] = {k: float(v) for k, v in local.card["metrics_test"].items()}
        rows["local DP"]["epsilon_spent"] = float(local.card["privacy"]["epsilon_spent"])
        rows["federated DP"] = {k: float(v) for k, v in card["metrics_per_member"][member].items()}
        rows["federated DP"]["epsilon_spent"] = float(card["privacy"]["epsilon_spent"][member])
        results[member] = {"train_rows": {"n": float(len(split.train))}, **rows}
        logger.info("%s %s done", kind, member)
    return {
        "past_rows": past_rows,
        "tried": tried,
        "chosen": list(chosen),
        "federation_seconds": final["seconds"],
        "round_reports": card["federation"]["round_reports"],
        "results": results,
    }


# --- output -------------------------------------------------------------------------------------


def markdown(kind: str, bench: Mapping[str, Any]) -> str:
    """The per-member table of one kind."""
    results = bench["results"]
    if kind == "eta":
        head = "| member | train legs | " + " | ".join(f"{m} MAE / cov" for m in METHODS)
        head += " | fed vs local DP MAE | own model chosen | own vs best local MAE |"
        lines = [head, "|---|---:|" + "---:|" * (len(METHODS) + 1) + "---|---:|"]
        for member, rows in results.items():
            cells = [f"{rows[m]['mae']:.1f} / {rows[m]['coverage']:.3f}" for m in METHODS]
            gain = rows["federated DP"]["mae"] / rows["local DP"]["mae"] - 1.0
            best = min(rows["local DP"]["mae"], rows["local LightGBM"]["mae"])
            lines.append(
                f"| {member} | {int(rows['train_rows']['n'])} | "
                + " | ".join(cells)
                + f" | {gain:+.1%} | {rows['own model']['chosen']} "
                + f"| {rows['own model']['mae'] / best - 1.0:+.1%} |"
            )
    else:
        head = "| member | train rows | " + " | ".join(f"{m} Brier" for m in METHODS)
        head += " | fed − local DP | own model chosen | own vs best local Brier |"
        lines = [head, "|---|---:|" + "---:|" * (len(METHODS) + 1) + "---|---:|"]
        for member, rows in results.items():
            cells = [f"{rows[m]['stockout_brier']:.4f}" for m in METHODS]
            gain = rows["federated DP"]["stockout_brier"] - rows["local DP"]["stockout_brier"]
            best = min(rows["local DP"]["stockout_brier"], rows["local LightGBM"]["stockout_brier"])
            lines.append(
                f"| {member} | {int(rows['train_rows']['n'])} | "
                + " | ".join(cells)
                + f" | {gain:+.4f} | {rows['own model']['chosen']} "
                + f"| {rows['own model']['stockout_brier'] / best - 1.0:+.1%} |"
            )
    tried = ", ".join(f"{_label(t['setting'])}: {t['score']:.4g}" for t in bench["tried"])
    tried = tried or "one setting given, nothing chosen here"
    note = (
        f"\nChosen on the past (rounds x local epochs [weight cap]: validation score): {tried} "
        f"-> **{_label(bench['chosen'])}**; final federation "
        f"{bench['federation_seconds']:.0f} s; ε spent (federated): "
        + ", ".join(f"{m} {r['federated DP']['epsilon_spent']:.2f}" for m, r in results.items())
    )
    return "\n".join(lines) + "\n" + note


def chart(benches: Mapping[str, Mapping[str, Any]], out: Path) -> None:
    """Grouped bars per member: ETA MAE relative to local DP, ETA coverage, stock Brier."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    panels = [
        (
            "eta",
            "ETA MAE / local-DP MAE (lower is better)",
            lambda r, m: r[m]["mae"] / r["local DP"]["mae"],
        ),
        ("eta", "ETA interval coverage (nominal 0.8)", lambda r, m: r[m]["coverage"]),
        ("stock", "Stock-out Brier, 7 days (lower is better)", lambda r, m: r[m]["stockout_brier"]),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#d62728"]
    for ax, (kind, title, value) in zip(axes, panels, strict=True):
        results = benches[kind]["results"]
        members = list(results)
        x = np.arange(len(members))
        width = 0.8 / len(METHODS)
        for i, method in enumerate(METHODS):
            ax.bar(
                x + (i - (len(METHODS) - 1) / 2) * width,
                [value(results[m], method) for m in members],
                width,
                label=method,
                color=colors[i],
            )
        ax.set_xticks(x, members, rotation=15, fontsize=8)
        ax.set_title(title, fontsize=10)
        if "coverage" in title:
            ax.axhline(LEVEL, color="black", lw=0.8, ls="--")
            ax.set_ylim(0.5, 1.0)
        if "MAE" in title:
            ax.axhline(1.0, color="black", lw=0.8, ls="--")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(METHODS), fontsize=8)
    fig.suptitle("Per member, on its own test rows (ε = 8 where DP)", fontsize=11)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(out, dpi=80)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--kinds", nargs="+", default=["eta", "stock"])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/federation.png"))
    parser.add_argument("--json", type=Path, default=None, help="Also write the raw results.")
    parser.add_argument(
        "--settings",
        nargs="+",
        default=None,
        help="Candidates ROUNDSxEPOCHS[xMAXWEIGHT] (default: 3x8 6x4 12x2x1000 12x2x300 24x1x300).",
    )
    parser.add_argument(
        "--from-json", type=Path, default=None, help="Only re-render a --json file's results."
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", module="opacus")  # an edge may quiet library warnings
    logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)
    logging.getLogger("flwr").setLevel(logging.WARNING)
    logging.getLogger("consortium").setLevel(logging.WARNING)
    torch.set_num_threads(args.threads)
    candidates = CANDIDATES
    if args.settings:
        parsed = [[float(v) for v in s.split("x")] for s in args.settings]
        candidates = tuple((int(p[0]), int(p[1]), p[2] if len(p) > 2 else 1e6) for p in parsed)
    if args.from_json:
        benches = json.loads(args.from_json.read_text(encoding="utf-8"))
        for kind, bench in benches.items():
            logger.info("\n### %s\n\n%s", kind, markdown(kind, bench))
        chart(benches, args.out)
        return
    started = time.perf_counter()
    benches: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate_consortium(root, seed=7, scale=args.scale)
        for kind in args.kinds:
            benches[kind] = bench_kind(root, kind, seed=args.seed, candidates=candidates)
    total = time.perf_counter() - started
    header = (
        f"scale {args.scale}, seed {args.seed}, ε = {EPSILON} per member, torch threads "
        f"{args.threads}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"total {total:.0f} s"
    )
    logger.info("\n%s", header)
    for kind, bench in benches.items():
        logger.info("\n### %s\n\n%s", kind, markdown(kind, bench))
    if args.json:
        args.json.write_text(json.dumps(benches, indent=1, default=float), encoding="utf-8")
    if set(benches) == {"eta", "stock"}:
        chart(benches, args.out)
        logger.info("chart written to %s", args.out)


if __name__ == "__main__":
    main()
