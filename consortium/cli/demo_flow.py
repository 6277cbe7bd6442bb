"""The consortium steps of ``consortium demo``: the coordinator service, joining, training.

Kept apart from :mod:`consortium.cli.demo` so that the heavy torch/Flower imports happen only when
these steps run. The coordinator runs as it would on its own machine: ``coordinator init`` and
``coordinator serve`` in their own processes, its key in its own folder, over HTTPS with
certificates the kit makes. Every other actor (each member, the treasurer, a cargo owner) has its
own key folder under ``<out>/keys`` and acts through the service, signing on its side. The
federation is the one-machine runner; its ServerApp records rounds and mints points on the
coordinator's database from its run config, as on the deployment runtime.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import typer

from consortium.cli.federate import progress_printer
from consortium.cli.layout import wrap_items
from consortium.client.loopback import (
    COORDINATOR_KEY,
    LoopbackCoordinator,
    ServeOptions,
    start_loopback_coordinator,
)
from consortium.client.remote import RemoteCoordinator
from consortium.deployment.certs import generate_certificates, generate_node_key
from consortium.errors import ConfigError
from consortium.federation.runner import federate
from consortium.identity.keys import generate_key_file, load_signer
from consortium.ledger.signing import Signer
from consortium.points.accounts import member_account
from consortium.policy.model import DEMO_GOVERNANCE_TIMINGS
from consortium.synth import ConsortiumSummary

#: The demo's federated runs: model -> (rounds, local epochs), chosen by validation on the members'
#: past (benchmarks/RESULTS.md, "Federated training").
DEMO_RUNS = {"eta": (12, 2), "stock": (3, 8)}

CA_FILE = "ca.pem"
MEMBER_KEY = "member.key"
TREASURER = "treasurer"
CARGO_OWNER = "cargo-owner"


@dataclass(frozen=True)
class DemoActors:
    """The running coordinator service and every other actor's own key folder.

    A folder holds the actor's private key (``member.key``, ``treasurer.key`` or
    ``cargo-owner.key``; a member also its ``supernode.key``) and the consortium's ``ca.pem``,
    the only file the coordinator sent it besides its key id.
    """

    service: LoopbackCoordinator
    folders: dict[str, Path]
    members: tuple[str, ...]

    def key_file(self, actor: str) -> Path:
        """Return the key file of ``actor`` (a member id, ``treasurer`` or ``cargo-owner``)."""
        name = MEMBER_KEY if actor in self.members else f"{actor}.key"
        return self.folders[actor] / name

    def signer(self, actor: str) -> Signer:
        """Load ``actor``'s key from its own folder."""
        return load_signer(self.key_file(actor))

    def remote(self, actor: str) -> RemoteCoordinator:
        """Return ``actor``'s client of the service (pinned key id, its copy of ``ca.pem``)."""
        return RemoteCoordinator(self.service.url, pin=self.service.pin,
                                 ca_cert=self.folders[actor] / CA_FILE)  # fmt: skip


@contextmanager
def coordinator_service(summary: ConsortiumSummary, *, out: Path) -> Iterator[LoopbackCoordinator]:
    """Start the coordinator (init, then serve over HTTPS on loopback); stop it on leaving.

    The service answers lane and warehouse queries from the federation's model folders (read at
    the first query, so they may be written later) and the warehouses of ``summary``. It is
    stopped however the block ends (an error, Ctrl-C). The caller waits for it to answer
    (:meth:`~consortium.client.loopback.LoopbackCoordinator.wait_ready`) before its first call,
    so that it starts up while other steps run.
    """
    folder = out / "coordinator"
    tls = generate_certificates(folder / "tls")
    options = ServeOptions(
        eta_model=(out / "federation" / "eta" / "model").resolve(),
        stock_model=(out / "federation" / "stock" / "model").resolve(),
        members=summary.out_dir.resolve(), tls_cert=tls.server_cert, tls_key=tls.server_key,
        ca_cert=tls.ca_cert,
    )  # fmt: skip
    service = start_loopback_coordinator(folder, policy=DEMO_GOVERNANCE_TIMINGS, options=options,
                                         wait=False)  # fmt: skip
    try:
        typer.echo(
            f"  coordinator service starting at {service.url} (TLS, the kit's consortium CA), its "
            f"key only in {service.key_dir}; everyone pins key id {service.pin[:16]}..."
        )
        yield service
    finally:
        service.stop()


def _actor_folder(out: Path, actor: str, service: LoopbackCoordinator) -> Path:
    if service.ca_cert is None:
        raise ConfigError("tls", "the demo's coordinator service runs over TLS")
    folder = out / "keys" / actor
    folder.mkdir(parents=True, mode=0o700)
    shutil.copyfile(service.ca_cert, folder / CA_FILE)
    return folder


def found(summary: ConsortiumSummary, service: LoopbackCoordinator, *, out: Path) -> DemoActors:
    """Give every actor its own key folder; the coordinator admits the founding members.

    Each company makes its member key and SuperNode key in its own folder and hands the public
    halves to the coordinator, which admits the founding members at genesis (its admin step, as
    ``consortium members admit --db``; a later member sends a signed join request through the
    service instead). The treasurer and a cargo owner make their keys in their own folders.
    Nothing here waits for the service, which starts up meanwhile.
    """
    folders: dict[str, Path] = {}
    public_keys: dict[str, bytes] = {}
    for member in summary.members:
        folder = folders[member.member_id] = _actor_folder(out, member.member_id, service)
        public_keys[member.member_id] = generate_key_file(folder / MEMBER_KEY).public_key
        generate_node_key(folder / "supernode.key")
    admitted = service.admit_founders(public_keys)
    for member_id, record in admitted.items():
        typer.echo(f"  {member_id:<20} admitted at entry {record.admitted_seq}, member key "
                   f"{record.key_id[:16]}... (made in {folders[member_id]})")  # fmt: skip
    for actor in (TREASURER, CARGO_OWNER):
        folders[actor] = _actor_folder(out, actor, service)
        generate_key_file(folders[actor] / f"{actor}.key")
    typer.echo(
        f"  the treasurer and a cargo owner make their keys too; every private key (0600) stays "
        f"in its actor's folder under {out / 'keys'}, with the consortium's ca.pem"
    )
    return DemoActors(service, folders, tuple(m.member_id for m in summary.members))


def train_together(
    summary: ConsortiumSummary,
    actors: DemoActors,
    *,
    out: Path,
    epsilon: float,
    rounds: int | None = None,
) -> None:
    """Run one federation per model (DP on every member, SecAgg+), recorded in the ledger.

    The ServerApp opens the coordinator's database and key from its run config
    (``ledger-db``, ``coordinator-key``), as on the deployment runtime.
    """
    service = actors.service
    rounds_override = rounds
    for model, (default_rounds, local_epochs) in DEMO_RUNS.items():
        rounds = rounds_override or default_rounds
        typer.secho(
            f"\n  {model}: {rounds} rounds x {local_epochs} local epochs, "
            f"ε = {epsilon:g} per member",
            bold=True,
        )
        with progress_printer(model, rounds) as show:
            federate(
                summary.out_dir / "members",
                model=model,  # type: ignore[arg-type]
                rounds=rounds,
                epsilon=epsilon,
                out=out / "federation" / model,
                local_epochs=local_epochs,
                on_event=show,
                ledger_db=service.database_url,
                coordinator_key=service.key_dir / COORDINATOR_KEY,
            )
    service.wait_ready()  # it started up while the members trained
    earned: list[str] = []
    for member in actors.members:  # each member reads its own balance from the service
        with actors.remote(member) as remote:
            earned.append(f"{member} {remote.balance(member_account(member))}")
    typer.echo("  contribution points minted:")
    width = shutil.get_terminal_size().columns
    for line in wrap_items(earned, width=width, indent="    "):
        typer.echo(line)  # wrapped between members, never inside a name


def own_models(summary: ConsortiumSummary, *, out: Path) -> None:
    """Each member makes its own model on its machine and sees what joining gained it."""
    from rich.console import Console

    from consortium.cli.value import run_value

    for model in DEMO_RUNS:
        table = run_value(
            model,
            members=summary.out_dir / "members",
            out_dir=out / "federation" / model,
            console=Console(width=160),
            details=False,
        )
        for member, row in table.iterrows():
            typer.echo(
                f"  {member:<20} {model}: own model = {row['chosen']}, gain of joining "
                f"{row['gain_percent']:+.1f} % vs its best local-only model "
                f"({row['best_local_only']}) on its later rows"
            )
