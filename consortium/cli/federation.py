"""`consortium federation ...`: Flower's deployment runtime (SuperLink + one SuperNode per member).

Thin over :mod:`consortium.deployment` (the supervisor and the certificate authority):

- ``up`` starts a SuperLink and a SuperNode per member on loopback (TLS with kit-made
  certificates, every member's SuperNode key registered under its member id), runs the kit's
  app and stops, or stays up with ``--keep-running``; ``--db``/``--coordinator-key`` make the
  ServerApp record rounds and mint points in the coordinator's database, ``--member-keys``
  binds each member's SecAgg+ keys to its member key;
- ``certs`` makes the consortium CA and the SuperLink certificate (the coordinator);
- ``node-key`` makes a member's SuperNode key pair (each member, on its own machine);
- ``app`` writes the kit's Flower App manifest for ``flwr run`` on a real SuperLink.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from consortium.cli.errors import reported_errors

federation_app = typer.Typer(
    help=(
        "Run the federation on Flower's deployment runtime: a SuperLink for the coordinator and "
        "a SuperNode per member, over TLS, with only registered SuperNode keys admitted."
    ),
    no_args_is_help=True,
)


@federation_app.command("up")
def up(  # noqa: PLR0913
    members: Annotated[
        Path,
        typer.Option(
            "--members",
            help="Members folder (one entry per member, as `consortium synth` writes it) or "
            "a synthetic consortium's root.",
        ),
    ],
    model: Annotated[str, typer.Option(help="Model to train: eta or stock.")] = "eta",
    rounds: Annotated[int, typer.Option(min=1, help="Federated rounds.")] = 3,
    nodes: Annotated[
        int | None, typer.Option("--nodes", min=1, help="Use only the first N members (by id).")
    ] = None,
    local_epochs: Annotated[int, typer.Option(min=1, help="Local epochs per round.")] = 1,
    epsilon: Annotated[
        float,
        typer.Option(help="Each member's privacy budget ε, written into its own node config."),
    ] = 8.0,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="Keep each member's state (ε accountant, own models) in STATE/<member> instead "
            "of with its data (MEMBERS/<member>/.consortium).",
        ),
    ] = None,
    secure: Annotated[
        bool, typer.Option("--secure/--plain", help="SecAgg+ (default) or plain FedAvg.")
    ] = True,
    out: Annotated[
        Path, typer.Option(help="Folder for certificates, keys, logs and results.")
    ] = Path("federation_deployment"),
    app_dir: Annotated[
        Path | None,
        typer.Option("--app", help="A Flower App folder to run instead of the kit's app."),
    ] = None,
    keep_running: Annotated[
        bool,
        typer.Option(help="Leave the SuperLink and SuperNodes up after the run (Ctrl+C stops)."),
    ] = False,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the run.")] = 3600.0,
    member_keys: Annotated[
        Path | None,
        typer.Option(
            "--member-keys",
            help="Folder of the members' ledger keys (<member>.key): each member signs its "
            "SecAgg+ keys with its own and refuses keys not signed by a listed member.",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Coordinator database URL (no password: PGPASSWORD): the ServerApp records "
            "each round, mints points, applies the board's ε cap, refuses removed members.",
        ),
    ] = None,
    coordinator_key: Annotated[
        Path | None,
        typer.Option("--coordinator-key", help="The coordinator's private key (with --db)."),
    ] = None,
) -> None:
    """Start a SuperLink and one SuperNode per member on loopback, run the app, report."""
    from consortium.deployment import (
        CONNECTION,
        LocalDeployment,
        member_nodes,
        write_kit_app,
    )

    with reported_errors():
        out = out.resolve()
        results = out / "results"
        specs = member_nodes(
            members, model=model, epsilon=epsilon, state_dir=state, limit=nodes,
            member_keys=member_keys,
        )  # fmt: skip
        app = app_dir.resolve() if app_dir else write_kit_app(out / "app")
        run_config: dict[str, str | int | float | bool] = {
            "model": model,
            "rounds": rounds,
            "local-epochs": local_epochs,
            "secure": secure,
            "out-dir": str(results),
        }
        if db is not None or coordinator_key is not None:
            from consortium.federation.instructions import RunConfig

            recording = RunConfig(ledger_db=db or "", coordinator_key=str(
                coordinator_key.resolve()) if coordinator_key else "")  # fmt: skip
            run_config |= {"ledger-db": recording.ledger_db,
                           "coordinator-key": recording.coordinator_key}  # fmt: skip
        typer.echo(f"starting a SuperLink and {len(specs)} SuperNodes on loopback: "
                   f"{', '.join(s.member for s in specs)}")  # fmt: skip
        with LocalDeployment(out / "deployment", members=specs) as dep:
            typer.echo(f"  SuperLink {dep.superlink_address} (TLS, CA {dep.certs.ca_cert}); "
                       f"{len(specs)} SuperNode keys registered and online")  # fmt: skip
            run_id = dep.run(app, run_config=run_config)
            typer.echo(f"  run {run_id}: {model}, {rounds} round(s); waiting ...")
            result = dep.wait(run_id, timeout_s=timeout)
            (out / f"run-{run_id}.log").write_text(result.log)
            typer.echo(f"run {run_id} {result.status} in {result.elapsed_s:.0f} s")
            typer.echo(f"  results: {results}")
            typer.echo(f"  logs:    {dep.log_dir} (run log: {out / f'run-{run_id}.log'})")
            if keep_running:
                typer.echo(
                    "still running. Submit another run with\n"
                    f"  FLWR_HOME={dep.flwr_home} flwr run {app} {CONNECTION}\n"
                    "press Ctrl+C to stop the SuperLink and every SuperNode."
                )
                try:
                    while True:
                        time.sleep(3600)
                except KeyboardInterrupt:
                    typer.echo("stopping ...")
        if not result.ok:
            typer.secho(f"error: run {run_id} ended {result.status}: {result.details}",
                        err=True, fg=typer.colors.RED)  # fmt: skip
            raise typer.Exit(code=1)
        typer.echo("stopped: no process of the deployment is left running.")


@federation_app.command("certs")
def certs(
    out: Annotated[Path, typer.Option(help="Folder to write the CA and SuperLink files to.")],
    host: Annotated[
        list[str] | None,
        typer.Option(
            "--host",
            help="An address or DNS name members use to reach the SuperLink (repeatable; "
            "default: loopback only).",
        ),
    ] = None,
    days: Annotated[int, typer.Option(min=1, help="Validity in days.")] = 365,
) -> None:
    """Make the consortium CA and the SuperLink's TLS certificate (coordinator)."""
    from consortium.deployment import DEFAULT_HOSTS, generate_certificates

    with reported_errors():
        paths = generate_certificates(out, hosts=tuple(host or DEFAULT_HOSTS), valid_days=days)
    typer.echo(f"CA certificate:     {paths.ca_cert}   (give this file to every member)")
    typer.echo(f"CA key:             {paths.ca_key}   (keep; never share)")
    typer.echo(f"SuperLink cert/key: {paths.server_cert}, {paths.server_key}  "
               f"(valid for {', '.join(paths.hosts)})")  # fmt: skip
    typer.echo("flower-superlink " + " ".join(paths.superlink_args()) + " --enable-supernode-auth")


@federation_app.command("app")
def app_cmd(
    out: Annotated[Path, typer.Option(help="Folder to write the app's pyproject.toml to.")],
) -> None:
    """Write the kit's Flower App (a manifest only) for `flwr run` on a real SuperLink."""
    from consortium.deployment import write_kit_app

    with reported_errors():
        path = write_kit_app(out)
    typer.echo(f"Flower App: {path / 'pyproject.toml'} (no code: every machine runs its own kit)")
    typer.echo(f"run it with: flwr run {path} <connection> --run-config 'model=\"eta\" rounds=3'")


@federation_app.command("node-key")
def node_key(
    out: Annotated[
        Path, typer.Option(help="Private key file to create (the .pub goes next to it).")
    ],
) -> None:
    """Make this member's SuperNode key pair; send only the .pub file to the coordinator."""
    from consortium.deployment import generate_node_key

    with reported_errors():
        keys = generate_node_key(out)
    typer.echo(f"private key: {keys.private_key}   (0600; stays on this machine)")
    typer.echo(f"public key:  {keys.public_key}   (send to the coordinator, who runs "
               "`flwr supernode register <file> <connection>`)")  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``consortium federation ...`` to the root app."""
    app.add_typer(federation_app, name="federation")
