"""`consortium` commands for the synth domain: generate the synthetic consortium."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from consortium.cli.errors import run_reported

if TYPE_CHECKING:
    from consortium.synth import ConsortiumSummary


class FileFormatOption(StrEnum):
    """Table formats the generator writes."""

    csv = "csv"
    parquet = "parquet"


def synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the consortium into.")],
    seed: Annotated[int, typer.Option("--seed", help="Seed of the world and every member.")] = 7,
    scale: Annotated[
        float, typer.Option("--scale", help="Multiplies the carriers' row counts (1.0: ~78k rows).")
    ] = 1.0,
    file_format: Annotated[
        FileFormatOption, typer.Option("--format", help="Table format of the members' data.")
    ] = FileFormatOption.csv,
) -> None:
    """Generate the synthetic consortium (4 carriers, 3 warehouses) and list what was written."""
    from consortium.synth import generate_consortium

    summary = run_reported(
        lambda: generate_consortium(out, seed=seed, scale=scale, file_format=file_format.value)
    )
    typer.echo(render_summary(summary))


def render_summary(summary: ConsortiumSummary) -> str:
    """Return the table of members the command prints."""
    header = ("member", "kind", "modes", "rows", "file")
    body = [
        (m.member_id, m.kind, ",".join(m.modes), f"{m.rows:,}", m.file) for m in summary.members
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = [
        (
            f"Synthetic consortium in {summary.out_dir} (seed {summary.seed}, "
            f"scale {summary.scale:g}, {summary.start.isoformat()} to {summary.end.isoformat()})"
        ),
        "",
    ]
    for row in [header, *body]:
        cells = [
            cell.rjust(w) if i == 3 else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines += ["", f"{summary.total_rows:,} rows in {len(summary.members)} members"]
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command(name="synth")(synth)
