"""Run a whole federation on one machine from a folder of member data (``consortium federate``).

``members_dir`` holds one entry per member: a folder (named by the member id, holding its
contract files and ``sources.json``, as ``consortium synth`` writes them) or a single contract
file (named ``<member id>.csv`` etc., with a ``sources.json`` beside it). Members with no file
for the model being trained are left out. Each member's node config carries the member's own
budget (``epsilon``; the run config sets none) and its state folder, which lives with the
member's data, not under ``out`` (:func:`consortium.privacy.state.member_state_dir`:
``MEMBERS/<member>/.consortium/``, ``MEMBERS/.consortium/<member>/`` for a single-file member,
or ``state_dir/<member>``): its privacy accountant persists there across rounds, runs and output
folders. Every run setting and its default comes from
:class:`~consortium.federation.instructions.RunConfig`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

from flwr.app.user_config import UserConfigValue

from consortium.data.member_files import DATA_SUFFIXES, member_data_file
from consortium.errors import ConfigError
from consortium.federation.client_app import app as client_app
from consortium.federation.instructions import RunConfig
from consortium.federation.key_binding import binding_node_configs
from consortium.federation.local_grid import LocalRun, run_local
from consortium.federation.member.node import PLAIN_ALLOWED_KEY
from consortium.federation.server_app import make_server_app
from consortium.models.families import family
from consortium.models.family import ModelKind
from consortium.privacy.state import member_state_dir
from consortium.rounds import OnEvent, RoundRecorder

__all__ = ["discover_members", "federate", "read_budgets"]

logger = logging.getLogger(__name__)

def discover_members(members_dir: Path, kind: ModelKind) -> dict[str, Path]:
    """Return member id -> data path for every member with data for ``kind``.

    Raises
    ------
    ConfigError
        ``members_dir`` is not a folder.
    """
    members_dir = Path(members_dir)
    contract = family(kind).contract
    if not members_dir.is_dir():
        raise ConfigError("members", f"{members_dir} is not a folder")
    found: dict[str, Path] = {}
    for entry in sorted(members_dir.iterdir()):
        if entry.name.startswith(".") or entry.name == "sources.json":
            continue
        if entry.is_file() and not entry.name.endswith(DATA_SUFFIXES):
            continue
        member = entry.name if entry.is_dir() else entry.name.split(".")[0]
        try:
            member_data_file(entry, contract=contract)
        except ConfigError:
            continue
        found[member] = entry
    return found


def read_budgets(path: Path) -> dict[str, float]:
    """Read per-member budgets from a JSON object ``{"member-id": epsilon, ...}``.

    Raises
    ------
    ConfigError
        The file is unreadable, not an object, or a budget is not a positive number.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError("budgets", f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError("budgets", f"{path}: expected a JSON object member -> epsilon")
    budgets: dict[str, float] = {}
    for member, value in data.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
            raise ConfigError("budgets", f"{path}: member {member!r}: epsilon must be > 0")
        budgets[str(member)] = float(value)
    return budgets


def federate(  # noqa: PLR0913
    members_dir: Path,
    *,
    model: ModelKind,
    rounds: int,
    epsilon: float,
    out: Path,
    budgets: Mapping[str, float] | None = None,
    state_dir: Path | None = None,
    local_epochs: int = RunConfig.local_epochs,
    secure: bool = RunConfig.secure,
    resume: bool = False,
    max_epsilon_per_round: float = RunConfig.max_epsilon_per_round,
    seed: int = RunConfig.seed,
    on_event: OnEvent | None = None,
    recorder: RoundRecorder | None = None,
    ledger_db: str = "",
    coordinator_key: Path | None = None,
    member_keys: Path | None = None,
    extra_run_config: Mapping[str, UserConfigValue] | None = None,
) -> LocalRun:
    """Run the ServerApp and one ClientApp node per member in this process; return the run.

    ``epsilon`` (or ``budgets[member]``) goes into each member's own node config; each member's
    state folder is its :func:`~consortium.privacy.state.member_state_dir` (``state_dir/<member>``
    when ``state_dir`` is given). The model directory is written to ``out / "model"``.

    ``ledger_db`` and ``coordinator_key`` go into the run config, from which the ServerApp
    opens the coordinator's stores itself, as on the deployment runtime (``recorder`` hands it
    one already open instead). ``member_keys`` (a folder of ``<member>.key`` files) binds each
    member's SecAgg+ keys to its member key
    (:func:`~consortium.federation.key_binding.binding_node_configs`).
    """
    members = discover_members(members_dir, model)
    if not members:
        raise ConfigError("members", f"no member in {members_dir} has data for the {model} model")
    unknown = sorted(set(budgets or {}) - set(members))
    if unknown:
        raise ConfigError("budgets", f"budget for unknown member {unknown[0]!r}")
    out = Path(out).resolve()
    nodes: dict[str, dict[str, UserConfigValue]] = {}
    for member, path in members.items():
        nodes[member] = {
            "member-id": member,
            "data-path": str(path.resolve()),
            "home": str(
                member_state_dir(
                    path.resolve(),
                    member=member,
                    state_dir=Path(state_dir).resolve() if state_dir is not None else None,
                )
            ),
            "epsilon": float((budgets or {}).get(member, epsilon)),
        }
        if not secure:  # these one-machine members agree to a plain round (tests, comparisons)
            nodes[member][PLAIN_ALLOWED_KEY] = True
    if member_keys is not None:
        for member, binding in binding_node_configs(nodes, member_keys).items():
            nodes[member] |= binding
    run = RunConfig(model=model, rounds=rounds, local_epochs=local_epochs, secure=secure,
                    out_dir=out, resume=resume, seed=seed,
                    max_epsilon_per_round=max_epsilon_per_round, ledger_db=ledger_db,
                    coordinator_key=str(Path(coordinator_key).resolve()) if coordinator_key
                    else "")  # fmt: skip
    run_config: dict[str, UserConfigValue] = {
        **run.to_config(),
        **dict(extra_run_config or {}),
    }
    logger.info("federating %d members (%s)", len(nodes), ", ".join(nodes))
    server_app = make_server_app(on_event=on_event, recorder=recorder)
    return run_local(server_app, client_app, nodes=nodes, run_config=run_config, seed=seed)
