"""Contribution rules: what leave-one-out under SecAgg+ costs per round, and how faithful it is.

The kit mints contribution points per round under one of two rules (``points.rules``):
``examples`` (examples trained, capped) or ``leave-one-out`` (the round's pot split by each
member's first-order leave-one-out value, computed under SecAgg+: ``points.valuation``,
``federation.scoring``). On the synthetic consortium (``generate_consortium(seed=7, scale=...)``)
this benchmark measures:

1. **Cost per round.** The ETA federation (4 carriers) and the stock federation (3 warehouses),
   SecAgg+ on, same data, seed and rounds, run once unscored (``examples``) and once scored
   (``score-contributions``); a one-round federation runs first as the warm-up, the ETA pair
   runs unscored first and the stock pair scored first. Per round: the training round's wall
   time (``RoundReport.seconds``, which holds the members' gradient release when scored), the
   scoring step (``scoring_seconds``), and the protobuf bytes of every instruction and reply
   (counted by a ``LocalGrid`` subclass). Privacy: the ε of the gradient releases alone
   (``epsilon_spent`` of ``rounds`` Gaussian releases at sample rate 1, δ = 1e-5), and the
   noise multiplier the members' DP-SGD planned in each run (their accountants), since in the
   composed accountant training pays for the releases by planning more noise.
2. **Fidelity against exact leave-one-out** (benchmark-only oracle). The callback of every round
   reads each member's own plaintext update from its node context (never sent anywhere); with
   the checkpoint of the round before (θ), the SecAgg+ weights ``q_i`` the aggregate used
   (``scoring.effective_weights``) and the members' validation rows (the split their ClientApp
   uses), it computes the consortium's validation loss ``L`` (the mean over every member's
   validation rows, what the kit's gradient is the gradient of) at
   ``θ_all = θ + Σ q_i u_i / Σ q_i`` and at ``θ_-i`` (the same average without ``i``), and the
   exact gain ``L(θ_-i) - L(θ_all)``. It is compared with the kit's ``RoundReport.gains`` (DP
   gradient, σ = 20) and with the same first-order formula evaluated offline on the same
   updates with (a) the members' clipped validation gradient sums plus 20 fresh draws of
   independent σ = 20 noise per member; (b) the clipped gradients without noise (σ → 0);
   (c) the exact gradient of ``L`` at θ (no clipping, no noise: the Taylor approximation alone).
   A kit run with ``score-noise-multiplier`` 1e-3 is
   attempted for one round too (it doubles as the warm-up): at ε = 8 the members decline such a
   release (its ε alone exceeds the round's cap), so the round is not scored; that is why the
   low-noise comparison is done offline, on the same trajectory.
3. **A low-quality member.** A fifth carrier, ``noisy-carrier``, holds a copy of
   meridian-line's legs with the delay target destroyed: the offsets
   ``actual_arrival - scheduled_arrival`` are shuffled among its rows (the file stays valid under
   the ``legs`` contract, checked with ``data.load_table``). From that federation's round reports
   it computes every member's points over all rounds under ``examples`` and under
   ``leave-one-out`` (``contribution_awards``, the policy's default rate and cap), and what the
   leave-one-out rule would have awarded with the exact gains or the noise-free first-order ones.

Run (about 2.5 minutes on 2 shared cores; ``--quick`` about 1 minute)::

    FLWR_TELEMETRY_ENABLED=0 FLWR_DISABLE_UPDATE_CHECK=1 \
        .venv/bin/python -m benchmarks.bench_contribution --scale 1.0 --rounds 10 \
        --out benchmarks/contribution.png
"""

from __future__ import annotations

import os

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
import zlib  # noqa: E402
from collections.abc import Mapping, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from flwr.app import Message  # noqa: E402
from flwr.app.user_config import UserConfigValue  # noqa: E402
from flwr.common.serde import message_to_proto  # noqa: E402

from consortium.data import load_table  # noqa: E402
from consortium.federation.checkpoints import Checkpoints  # noqa: E402
from consortium.federation.client_app import app as client_app  # noqa: E402
from consortium.federation.coordinator.scoring import effective_weights  # noqa: E402
from consortium.federation.instructions import RunConfig, ScoreSettings  # noqa: E402
from consortium.federation.local_grid import LocalGrid, serve  # noqa: E402
from consortium.federation.member.node import MemberNode, clear_row_cache  # noqa: E402
from consortium.federation.member.training import LAST_ROUND_KEY, LAST_UPDATE_KEY  # noqa: E402
from consortium.federation.runner import discover_members  # noqa: E402
from consortium.federation.secagg import SecAggSettings  # noqa: E402
from consortium.federation.server_app import make_server_app  # noqa: E402
from consortium.models.families import family  # noqa: E402
from consortium.points.rules import contribution_awards, member_account  # noqa: E402
from consortium.points.valuation import first_order_loo, quality_scores  # noqa: E402
from consortium.policy.model import ConsortiumPolicy  # noqa: E402
from consortium.privacy import budget as privacy_budget  # noqa: E402
from consortium.privacy.budget import epsilon_spent  # noqa: E402
from consortium.privacy.gradient_release import clipped_gradient_sum  # noqa: E402
from consortium.privacy.ledger import PrivacyLedger  # noqa: E402
from consortium.rounds import FederationEvent, RoundReport  # noqa: E402
from consortium.synth import generate_consortium  # noqa: E402

logger = logging.getLogger("benchmarks.bench_contribution")

EPSILON = 8.0
DELTA = 1e-5
NOISY, SOURCE = "noisy-carrier", "meridian-line"
SERVER = RunConfig()  # the server's defaults: clipping range 0.5, max_weight 1000
SECAGG = SecAggSettings(clipping_range=SERVER.update_clipping_range, max_weight=SERVER.max_weight)
SCORE = ScoreSettings()  # σ = 20, clip 1
POLICY = ConsortiumPolicy()  # 1 point per example, cap 5000 per member and round
MiB = 1024 * 1024

KIT = "kit (σ 20, as reported)"
INDEPENDENT = "σ 20, independent draw per member"
CLEAN = "σ → 0 (clipped, no noise)"
TAYLOR = "exact gradient (Taylor only)"
ESTIMATES = (KIT, INDEPENDENT, CLEAN, TAYLOR)
DRAWS = 20


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- a low-quality member ----------------------------------------------------------------------


def _offset(text: str) -> pd.Timedelta:
    """UTC offset of an ISO 8601 timestamp string (``+01:00``, ``-05:00`` or ``Z``)."""
    if text.endswith("Z"):
        return pd.Timedelta(0)
    sign = -1 if text[-6] == "-" else 1
    return sign * pd.Timedelta(hours=int(text[-5:-3]), minutes=int(text[-2:]))


def add_noisy_member(members_dir: Path, *, seed: int) -> dict[str, Any]:
    """Copy ``SOURCE``'s folder to ``NOISY`` with the arrival delays shuffled among its rows.

    Each labelled leg gets another leg's delay (``actual_arrival - scheduled_arrival``); a leg
    whose new arrival would not be after its actual departure keeps its own delay (the contract
    requires it). Timestamps keep the offset of their scheduled arrival.
    """
    src, dst = members_dir / SOURCE, members_dir / NOISY
    dst.mkdir()
    raw = pd.read_csv(src / "legs.csv", dtype=str, keep_default_na=False)
    labelled = (raw["actual_arrival"] != "").to_numpy()
    sched = pd.to_datetime(raw["scheduled_arrival"], utc=True, format="ISO8601")
    actual = pd.to_datetime(raw["actual_arrival"].replace("", None), utc=True, format="ISO8601")
    departed = pd.to_datetime(raw["actual_departure"].replace("", None), utc=True, format="ISO8601")
    delay = (actual - sched).to_numpy()
    rows = np.flatnonzero(labelled)
    shuffled = delay.copy()
    shuffled[rows] = delay[rows][np.random.default_rng(seed).permutation(len(rows))]
    arrival = sched + pd.to_timedelta(shuffled)
    invalid = labelled & (departed.notna() & (arrival <= departed)).to_numpy()
    shuffled[invalid] = delay[invalid]
    arrival = sched + pd.to_timedelta(shuffled)
    offsets = raw["scheduled_arrival"].map(_offset)
    local = (arrival.dt.tz_convert(None) + offsets).dt.strftime("%Y-%m-%dT%H:%M:%S")
    suffix = raw["scheduled_arrival"].str[-6:].where(~raw["scheduled_arrival"].str.endswith("Z"))
    raw.loc[labelled, "actual_arrival"] = (local + suffix.fillna("+00:00"))[labelled]
    raw.to_csv(dst / "legs.csv", index=False)
    for name in ("sources.json", "member.json"):
        data = json.loads((src / name).read_text(encoding="utf-8"))
        data["member_id"] = NOISY
        if "display_name" in data:
            data["display_name"] = f"Noisy Carrier (copy of {SOURCE}, delays shuffled)"
        (dst / name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    loaded = load_table(dst / "legs.csv", contract="legs", purpose="eta-training").frame
    if len(loaded) != len(raw):
        raise RuntimeError(f"{NOISY}: {len(loaded)} of {len(raw)} rows load")
    minutes = delay[rows] / np.timedelta64(1, "m")
    new_minutes = shuffled[rows] / np.timedelta64(1, "m")
    return {
        "rows": len(raw),
        "kept_own_delay": int(invalid.sum()),
        "delay_correlation": float(np.corrcoef(minutes, new_minutes)[0, 1]),
    }


# --- federations ---------------------------------------------------------------------------------


class CountingGrid(LocalGrid):
    """The one-machine grid, counting the protobuf bytes of every instruction and reply."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bytes_down = 0
        self.bytes_up = 0

    def _deliver(self, msg: Message) -> Message | None:
        self.bytes_down += message_to_proto(msg).ByteSize()
        reply = super()._deliver(msg)
        if reply is not None:
            self.bytes_up += message_to_proto(reply).ByteSize()
        return reply


@dataclass
class Run:
    """One federation: its reports, the members' own updates per round, bytes and accountants."""

    label: str
    kind: str
    scored: bool
    out: Path
    members_dir: Path
    members: list[str]
    reports: list[RoundReport] = field(default_factory=list)
    updates: dict[int, dict[str, list[np.ndarray]]] = field(default_factory=dict)
    round_bytes: list[tuple[int, int]] = field(default_factory=list)
    training_sigma: dict[str, float] = field(default_factory=dict)
    releases: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def run_federation(  # noqa: PLR0913
    label: str,
    members_dir: Path,
    kind: str,
    out: Path,
    *,
    rounds: int,
    seed: int,
    scored: bool,
    sigma: float = SCORE.noise_multiplier,
    capture: bool = False,
) -> Run:
    """Run the real ServerApp and ClientApps; keep what the benchmark needs after each round."""
    members = discover_members(members_dir, kind)  # type: ignore[arg-type]
    nodes: dict[str, dict[str, UserConfigValue]] = {
        m: {
            "member-id": m,
            "data-path": str(p.resolve()),
            "home": str(out / "member-state" / m),
            "epsilon": EPSILON,
        }
        for m, p in members.items()
    }
    run_config: dict[str, UserConfigValue] = {
        "model": kind,
        "rounds": rounds,
        "out-dir": str(out),
        "seed": seed,
        "score-contributions": scored,
        "score-noise-multiplier": sigma,
    }
    grid = CountingGrid(client_app, nodes=nodes, run_config=run_config, seed=seed)
    run = Run(label, kind, scored, out, members_dir, list(members))
    mark = [0, 0]

    def on_event(event: FederationEvent) -> None:
        if event.stage == "round" and event.report is not None:
            report = event.report
            run.reports.append(report)
            run.round_bytes.append((grid.bytes_down - mark[0], grid.bytes_up - mark[1]))
            if capture:  # benchmark-only oracle access to each member's own update
                kept: dict[str, list[np.ndarray]] = {}
                for member, n in report.examples.items():
                    state = grid.context_of(member).state
                    marker = state.config_records.get(LAST_ROUND_KEY)
                    if n > 0 and marker is not None and marker["round"] == report.server_round:
                        record = state.array_records[LAST_UPDATE_KEY]
                        kept[member] = [
                            np.asarray(a, np.float64) for a in record.to_numpy_ndarrays()
                        ]
                run.updates[report.server_round] = kept
        mark[:] = [grid.bytes_down, grid.bytes_up]

    # Every run starts cold: the members' noise planning caches RDP curves per (rate, σ)
    # in-process (``budget._step_curve``), so a run repeating another's schedule would plan almost
    # for free, and the ClientApp caches its loaded splits; a deployed member runs each message
    # in a fresh ``flwr-clientapp`` process.
    privacy_budget._step_curve.cache_clear()
    clear_row_cache()
    started = time.perf_counter()
    serve(make_server_app(on_event=on_event), grid, run_config=run_config)
    run.seconds = time.perf_counter() - started
    for member in members:
        history = PrivacyLedger.load(out / "member-state" / member, kind).history
        training = [(s, k) for s, q, k in history if q < 1.0 and k]
        steps = sum(k for _, k in training)
        run.training_sigma[member] = sum(s * k for s, k in training) / steps if steps else 0.0
        run.releases[member] = sum(k for _, q, k in history if q >= 1.0)
    logger.info("%s: %d rounds in %.0f s", label, len(run.reports), run.seconds)
    return run


# --- the exact leave-one-out oracle --------------------------------------------------------------


class Oracle:
    """Pooled validation loss and its gradients, on every member's validation rows."""

    def __init__(self, run: Run) -> None:
        kind = run.kind
        fam = family(kind)
        stats = fam.stats_from_dict(Checkpoints(run.out / "checkpoints").load(0).meta["stats"])
        self.model = fam.build(stats, RunConfig().settings)
        self.keys = list(self.model.network.state_dict())
        self.data: dict[str, Any] = {}
        self.criterion: Any = None
        for member, path in discover_members(run.members_dir, kind).items():  # type: ignore[arg-type]
            me = MemberNode(member, path, run.out / "unused", EPSILON, None)
            split = me.rows(fam, purpose=fam.training_purpose)
            self.data[member], self.criterion = self.model.labelled(split.valid)
        self.per_row = copy.copy(self.criterion)
        self.per_row.reduction = "none"
        self._clipped: dict[str, list[np.ndarray]] = {}

    def load(self, arrays: Sequence[np.ndarray]) -> torch.nn.Module:
        state = {
            k: torch.from_numpy(np.asarray(a, dtype=np.float32).copy())
            for k, a in zip(self.keys, arrays, strict=True)
        }
        self.model.network.load_state_dict(state)
        return self.model.network

    def loss(self, arrays: Sequence[np.ndarray], weights: Mapping[str, float]) -> float:
        """``Σ q_i L_i / Σ q_i``, ``L_i`` the mean loss over member ``i``'s validation rows."""
        net = self.load(arrays).eval()
        total = 0.0
        with torch.no_grad():
            for member, q in weights.items():
                *inputs, target = self.data[member].tensors
                rows = self.per_row(net(*inputs), target).double()
                total += q * float(rows.mean())
        return total / sum(weights.values())

    def exact_gradient(
        self, arrays: Sequence[np.ndarray], weights: Mapping[str, float]
    ) -> list[np.ndarray]:
        net = self.load(arrays).train()
        net.zero_grad()
        for member, q in weights.items():
            *inputs, target = self.data[member].tensors
            (self.per_row(net(*inputs), target).mean() * q / sum(weights.values())).backward()
        params = [net.get_parameter(k) for k in self.keys]
        return [p.grad.detach().double().numpy().copy() for p in params]  # type: ignore[union-attr]

    def clipped_sums(self, arrays: Sequence[np.ndarray]) -> dict[str, list[np.ndarray]]:
        """Each member's sum of per-row clipped gradients (the kit's release before noise)."""
        net = self.load(arrays)
        return {
            m: [t.numpy() for t in clipped_gradient_sum(net, d, self.criterion, clip=SCORE.clip)]
            for m, d in self.data.items()
        }


def _dot(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
    return float(sum(np.vdot(x, y) for x, y in zip(a, b, strict=True)))


def _first_order(
    g: Sequence[np.ndarray],
    updates: Mapping[str, Sequence[np.ndarray]],
    delta: Sequence[np.ndarray],
    weights: Mapping[str, float],
) -> dict[str, float]:
    projections = {m: _dot(g, u) for m, u in updates.items()}
    return first_order_loo(projections, weights, _dot(g, delta))


def _released_gradient(
    sums: Mapping[str, Sequence[np.ndarray]],
    rows: Mapping[str, int],
    noise: Mapping[str, Sequence[np.ndarray]] | None,
) -> list[np.ndarray]:
    """``Σ_i (s_i + n_i) / Σ_i rows_i``: the gradient the kit recovers from the secure sum."""
    total = sum(rows.values())
    out = [np.zeros_like(a) for a in next(iter(sums.values()))]
    for m in rows:
        for k, s in enumerate(sums[m]):
            n = noise[m][k] if noise is not None else 0.0
            out[k] += (s + n) / total
    return out


def _noise(shapes: Sequence[tuple[int, ...]], generator: torch.Generator) -> list[np.ndarray]:
    std = SCORE.noise_multiplier * SCORE.clip
    return [
        torch.normal(0.0, std, size=s, generator=generator, dtype=torch.float64).numpy()
        for s in shapes
    ]


def fidelity(run: Run, *, seed: int, draws: int = DRAWS) -> list[dict[str, Any]]:
    """One row per (round, member): exact gain and the first-order estimates.

    The noisy estimates are recomputed for ``draws`` fresh noise draws each (columns
    ``<name>#<k>``): once with one draw shared by every member, as the kit's seeded release
    does, once with an independent draw per member.
    """
    oracle = Oracle(run)
    checkpoints = Checkpoints(run.out / "checkpoints")
    rng = seeded(zlib.crc32(f"{seed}:{run.label}".encode()))
    rows: list[dict[str, Any]] = []
    for report in run.reports:
        if report.scoring != "ok" or report.server_round not in run.updates:
            continue
        rnd = report.server_round
        updates = run.updates[rnd]
        examples = {m: n for m, n in report.examples.items() if n > 0}
        weights = effective_weights(examples, SECAGG)
        if set(updates) != set(weights):
            raise RuntimeError(
                f"round {rnd}: updates of {sorted(updates)}, weights {sorted(weights)}"
            )
        old = [np.asarray(a, np.float64) for a in checkpoints.load(rnd - 1).arrays]
        total = sum(weights.values())
        delta = [sum(weights[m] * updates[m][k] for m in weights) / total for k in range(len(old))]
        theta = [o + d for o, d in zip(old, delta, strict=True)]
        stored = checkpoints.load(rnd).arrays
        gap = max(float(np.abs(t - s).max()) for t, s in zip(theta, stored, strict=True))
        n_rows = {m: len(oracle.data[m]) for m in weights}
        objective = {m: float(n) for m, n in n_rows.items()}  # every validation row counts once
        base = oracle.loss(theta, objective)
        exact: dict[str, float] = {}
        for i in weights:
            rest = {m: q for m, q in weights.items() if m != i}
            without = [
                o + sum(rest[m] * updates[m][k] for m in rest) / sum(rest.values())
                for k, o in enumerate(old)
            ]
            exact[i] = oracle.loss(without, objective) - base
        sums = oracle.clipped_sums(old)
        shapes = [a.shape for a in old]
        clean = _released_gradient(sums, n_rows, None)
        estimates = {
            KIT: dict(report.gains),
            CLEAN: _first_order(clean, updates, delta, weights),
            TAYLOR: _first_order(oracle.exact_gradient(old, objective), updates, delta, weights),
        }  # fmt: skip
        for k in range(draws):
            noise = {m: _noise(shapes, rng) for m in weights}
            g = _released_gradient(sums, n_rows, noise)
            estimates[f"{INDEPENDENT}#{k}"] = _first_order(g, updates, delta, weights)
        for member in sorted(weights):
            rows.append(
                {
                    "run": run.label,
                    "round": rnd,
                    "member": member,
                    "exact": exact[member],
                    "checkpoint_gap": gap,
                    **{name: est[member] for name, est in estimates.items()},
                }
            )
    return rows


def agreement(pairs: pd.DataFrame, column: str) -> dict[str, float]:
    """Pearson, Spearman and sign agreement of ``column`` against the exact gains."""
    from scipy.stats import pearsonr, spearmanr

    x, y = pairs["exact"].to_numpy(), pairs[column].to_numpy()
    return {
        "pairs": float(len(x)),
        "pearson": float(pearsonr(x, y)[0]),
        "spearman": float(spearmanr(x, y)[0]),
        "sign": float(np.mean(np.sign(x) == np.sign(y))),
    }


# --- points ------------------------------------------------------------------------------------


OFFLINE_RULES = {"exact oracle": "exact", "first order, σ → 0": CLEAN}
"""Leave-one-out awards from offline gains (column of the fidelity table) instead of the kit's."""


def points(reports: Sequence[RoundReport], gains: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Points per member over all rounds under ``examples``, ``leave-one-out`` and offline gains."""
    rules = ("examples", "leave-one-out", *OFFLINE_RULES)
    totals: dict[str, dict[str, int]] = {rule: {} for rule in rules}
    rate, cap = POLICY.points_per_example, POLICY.contribution_cap_per_round
    for report in reports:
        scores = {member_account(m): n for m, n in report.examples.items()}
        accepted = [a for a, n in scores.items() if n > 0]
        rows = gains[gains["round"] == report.server_round]
        quality: dict[str, dict[str, int] | None] = {
            "examples": None,
            "leave-one-out": dict(report.quality) if report.scoring == "ok" else None,
        }
        for rule, column in OFFLINE_RULES.items():
            found = dict(zip(rows["member"], rows[column], strict=True))
            quality[rule] = quality_scores(found) if found else None
        for rule in rules:
            q = quality[rule]
            if rule != "examples" and q is None:
                continue  # an unscored round mints nothing under leave-one-out
            awards = contribution_awards(
                rule="examples" if rule == "examples" else "leave-one-out",
                scores=scores,
                accepted=accepted,
                points_per_example=rate,
                cap=cap,
                quality=None if q is None else {member_account(m): v for m, v in q.items()},
            )
            for account, amount in awards.items():
                member = account.removeprefix("member:")
                totals[rule][member] = totals[rule].get(member, 0) + amount
    return totals


# --- output ------------------------------------------------------------------------------------


def cost_table(pairs: Sequence[tuple[Run, Run]], params: Mapping[str, int]) -> str:
    lines = [
        (
            "| model | members | rule | round s mean | median | scoring s mean | round + scoring "
            "s mean | ratio loo / examples | MiB per round down / up |"
        ),
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for plain, scored in pairs:
        base = statistics.mean(r.seconds + r.scoring_seconds for r in plain.reports)
        for run in (plain, scored):
            secs = [r.seconds for r in run.reports]
            scoring = [r.scoring_seconds for r in run.reports]
            total = statistics.mean(s + c for s, c in zip(secs, scoring, strict=True))
            down = statistics.mean(b[0] for b in run.round_bytes) / MiB
            up = statistics.mean(b[1] for b in run.round_bytes) / MiB
            lines.append(
                f"| {run.kind} | {len(run.members)} | "
                f"{'leave-one-out' if run.scored else 'examples'} | {statistics.mean(secs):.2f} | "
                f"{statistics.median(secs):.2f} | {statistics.mean(scoring):.3f} | {total:.2f} | "
                f"{total / base:.2f}x | {down:.2f} / {up:.2f} |"
            )
    notes = ", ".join(f"{k} {v:,} parameters" for k, v in params.items())
    return "\n".join(lines) + f"\n\nModel sizes: {notes}."


def privacy_table(pairs: Sequence[tuple[Run, Run]], rounds: int) -> str:
    eps = epsilon_spent([(SCORE.noise_multiplier, 1.0, rounds)], delta=DELTA)
    one = epsilon_spent([(SCORE.noise_multiplier, 1.0, 1)], delta=DELTA)
    lines = [
        (
            "| model | releases per member | ε of the releases alone (δ 1e-5) | one release | "
            "training σ, examples run | training σ, loo run | final ε spent (max), examples / loo |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for plain, scored in pairs:
        sig_p = statistics.mean(plain.training_sigma.values())
        sig_s = statistics.mean(scored.training_sigma.values())
        fin_p = max(plain.reports[-1].epsilon_spent.values())
        fin_s = max(scored.reports[-1].epsilon_spent.values())
        releases = "/".join(sorted({str(v) for v in scored.releases.values()}))
        lines.append(
            f"| {plain.kind} | {releases} | {eps:.3f} | {one:.3f} | {sig_p:.3f} | {sig_s:.3f} "
            f"({sig_s / sig_p - 1:+.1%}) | {fin_p:.3f} / {fin_s:.3f} |"
        )
    return "\n".join(lines)


def _columns(table: pd.DataFrame, name: str) -> list[str]:
    drawn = [c for c in table.columns if c.startswith(f"{name}#")]
    return drawn or [name]


def fidelity_table(table: pd.DataFrame) -> str:
    lines = [
        "| run | first-order estimate | pairs | Pearson | Spearman | sign agreement |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, rows in table.groupby("run", sort=False):
        for name in ESTIMATES:
            found = [agreement(rows, c) for c in _columns(table, name)]
            cells = []
            for key, fmt in (("pearson", "{:.2f}"), ("spearman", "{:.2f}"), ("sign", "{:.0%}")):
                values = [f[key] for f in found]
                cell = fmt.format(np.mean(values))
                if len(values) > 1:
                    cell += f" ({fmt.format(min(values))} to {fmt.format(max(values))})"
                cells.append(cell)
            what = name if len(found) == 1 else f"{name}, mean of {len(found)} draws (range)"
            lines.append(f"| {label} | {what} | {len(rows)} | " + " | ".join(cells) + " |")
    lines.append("")
    for label, rows in table.groupby("run", sort=False):
        clean = rows[CLEAN]
        scale = float(np.sqrt(np.mean(clean**2)))
        noise = {
            name: np.mean(
                [np.sqrt(np.mean((rows[c] - clean) ** 2)) / scale for c in _columns(table, name)]
            )
            for name in (KIT, INDEPENDENT)
        }
        lines.append(
            f"- {label}: noise in the first-order gains (RMS of their difference to the σ → 0 "
            f"gains, over the RMS of those): {noise[KIT]:.1f} as reported, "
            f"{noise[INDEPENDENT]:.1f} for the offline draws (mean)."
        )
    lines.append(
        f"- Check: θ + Σ q u / Σ q differs from the stored checkpoint by at most "
        f"{table['checkpoint_gap'].max():.1e} per coordinate."
    )
    return "\n".join(lines)


def shares_table(totals: Mapping[str, Mapping[str, int]], members: Sequence[str]) -> str:
    sums = {rule: sum(v.values()) or 1 for rule, v in totals.items()}
    lines = [
        "| member | " + " | ".join(f"{rule} points | share" for rule in totals) + " |",
        "|---|" + "---:|---:|" * len(totals),
    ]
    for m in members:
        cells = [
            f"{totals[rule].get(m, 0):,} | {totals[rule].get(m, 0) / sums[rule]:.1%}"
            for rule in totals
        ]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def chart(table: pd.DataFrame, totals: Mapping[str, Mapping[str, int]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    styles = {
        KIT: ("#d62728", "o"),
        CLEAN: ("#1f77b4", "^"),
        TAYLOR: ("#2ca02c", "x"),
    }
    for column, (color, marker) in styles.items():
        left.scatter(table["exact"], table[column], s=16, c=color, marker=marker, label=column,
                     alpha=0.7)  # fmt: skip
    values = np.concatenate([table["exact"].to_numpy(), table[list(styles)].to_numpy().ravel()])
    lim = float(np.abs(values).max()) * 1.1
    linthresh = float(np.quantile(np.abs(table["exact"]), 0.2)) or 1e-4
    left.plot([-lim, lim], [-lim, lim], color="black", lw=0.8, ls="--")
    left.axhline(0, color="grey", lw=0.5)
    left.axvline(0, color="grey", lw=0.5)
    left.set_xscale("symlog", linthresh=linthresh)
    left.set_yscale("symlog", linthresh=linthresh)
    left.set_xlabel("exact leave-one-out gain (validation loss)")
    left.set_ylabel("first-order gain")
    left.set_title("Every (round, member) of the three scored runs", fontsize=10)
    left.legend(fontsize=8)
    members = list(dict.fromkeys([*totals["examples"], *totals["leave-one-out"]]))
    members = sorted(members, key=lambda m: (m == NOISY, m))
    x = np.arange(len(members))
    colors = ("#7f7f7f", "#d62728", "#2ca02c", "#1f77b4")
    width = 0.8 / len(totals)
    for i, (rule, color) in enumerate(zip(totals, colors, strict=True)):
        total = sum(totals[rule].values()) or 1
        offset = (i - (len(totals) - 1) / 2) * width
        right.bar(x + offset, [totals[rule].get(m, 0) / total for m in members], width,
                  label=rule, color=color)  # fmt: skip
    right.set_xticks(x, members, rotation=15, fontsize=8)
    right.set_ylabel("share of the points minted over all rounds")
    right.set_title(f"ETA with {NOISY} (a copy of {SOURCE}, delays shuffled)", fontsize=10)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)


def low_noise_check(members_dir: Path, root: Path, *, seed: int) -> str:
    """One kit round at ``score-noise-multiplier`` 1e-3: what the members do with it."""
    consortium_log = logging.getLogger("consortium")
    level = consortium_log.level
    consortium_log.setLevel(logging.ERROR)  # the members' "no ε left" warnings, one each
    try:
        run = run_federation(
            "eta σ 1e-3", members_dir, "eta", root / "low-noise", rounds=1, seed=seed,
            scored=True, sigma=1e-3,
        )  # fmt: skip
    finally:
        consortium_log.setLevel(level)
    report = run.reports[0]
    one = epsilon_spent([(1e-3, 1.0, 1)], delta=DELTA)
    return (
        f"A kit round at score-noise-multiplier 1e-3 (ε = {EPSILON}, 1 round): scoring status "
        f"`{report.scoring}`, {sum(run.releases.values())} of {len(run.members)} members released "
        f"(one such release alone costs ε = {one:.3g} at δ = 1e-5, above the round's cap)."
    )


def main() -> None:  # noqa: PLR0915
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=None, help="Default 1.0 (quick: 0.25).")
    parser.add_argument("--rounds", type=int, default=None, help="Default 10 (quick: 3).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="Small scale, few rounds.")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/contribution.png"))
    parser.add_argument("--json", type=Path, default=None, help="Also write the raw results.")
    args = parser.parse_args()
    scale = args.scale if args.scale is not None else (0.25 if args.quick else 1.0)
    rounds = args.rounds if args.rounds is not None else (3 if args.quick else 10)
    warnings.filterwarnings("ignore", module="opacus")
    warnings.filterwarnings("ignore", message="Full backward hook is firing")
    logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)
    logging.getLogger("flwr").setLevel(logging.WARNING)
    logging.getLogger("consortium").setLevel(logging.WARNING)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate_consortium(root / "real", seed=7, scale=scale)
        generate_consortium(root / "noisy", seed=7, scale=scale)
        real, noisy = root / "real" / "members", root / "noisy" / "members"
        corrupted = add_noisy_member(noisy, seed=args.seed)
        common = {"rounds": rounds, "seed": args.seed}
        low_noise = low_noise_check(real, root, seed=args.seed)  # doubles as the warm-up
        pairs: list[tuple[Run, Run]] = []
        for kind, scored_first in (("eta", False), ("stock", True)):
            runs: dict[bool, Run] = {}
            for scored in (scored_first, not scored_first):
                rule = "leave-one-out" if scored else "examples"
                runs[scored] = run_federation(
                    f"{kind} {rule}", real, kind, root / f"{kind}-{rule}",
                    scored=scored, capture=scored, **common,
                )  # fmt: skip
            pairs.append((runs[False], runs[True]))
        with_noisy = run_federation(f"eta + {NOISY}", noisy, "eta", root / "eta-noisy",
                                    scored=True, capture=True, **common)  # fmt: skip
        params = {
            run.kind: int(sum(a.size for a in Checkpoints(run.out / "checkpoints").load(0).arrays))
            for run, _ in pairs
        }
        fid_started = time.perf_counter()
        rows = []
        for run in (pairs[0][1], pairs[1][1], with_noisy):
            rows += fidelity(run, seed=args.seed)
        fid_seconds = time.perf_counter() - fid_started
    table = pd.DataFrame(rows)
    noisy_rows = table[table["run"] == with_noisy.label]
    totals = points(with_noisy.reports, noisy_rows)
    members = sorted(with_noisy.members, key=lambda m: (m == NOISY, m))
    total = time.perf_counter() - started
    header = (
        f"scale {scale}, {rounds} rounds, seed {args.seed}, ε = {EPSILON} per member, SecAgg+ "
        f"(clipping range {SERVER.update_clipping_range}, max_weight {SERVER.max_weight:g}), "
        f"score σ {SCORE.noise_multiplier:g} / clip {SCORE.clip:g}, torch threads {args.threads}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, total {total:.0f} s "
        f"(oracle {fid_seconds:.0f} s)"
    )
    logger.info("\n%s", header)
    logger.info("\n### Cost per round\n\n%s", cost_table(pairs, params))
    logger.info("\n### Privacy\n\n%s", privacy_table(pairs, rounds))
    logger.info("\n### Fidelity against exact leave-one-out\n\n%s", fidelity_table(table))
    logger.info("\n%s", low_noise)
    cum = noisy_rows.groupby("member")[["exact", KIT]].sum()
    logger.info(
        "\n### Points with %s (%d rows copied from %s, delays shuffled: correlation with the "
        "true delays %.3f, %d legs kept their own delay)\n\n%s\n\nSum of gains over the rounds "
        "(exact / kit): %s",
        NOISY,
        corrupted["rows"],
        SOURCE,
        corrupted["delay_correlation"],
        corrupted["kept_own_delay"],
        shares_table(totals, members),
        ", ".join(f"{m} {cum.loc[m, 'exact']:+.4f} / {cum.loc[m].iloc[1]:+.4f}" for m in members),
    )
    if args.json:
        raw = {
            "header": header,
            "pairs": table.to_dict(orient="records"),
            "points": totals,
            "reports": {
                run.label: [r.__dict__ for r in run.reports]
                for run in (*[r for p in pairs for r in p], with_noisy)
            },
        }
        args.json.write_text(json.dumps(raw, indent=1, default=str), encoding="utf-8")
    chart(table, totals, args.out)
    logger.info("\nchart written to %s", args.out)
    logger.info(
        "command: FLWR_TELEMETRY_ENABLED=0 FLWR_DISABLE_UPDATE_CHECK=1 .venv/bin/python -m "
        "benchmarks.bench_contribution --scale %s --rounds %d --seed %d --out %s",
        scale,
        rounds,
        args.seed,
        args.out,
    )


if __name__ == "__main__":
    main()
