"""Terminal text: help is whole paragraphs, round lines never cut a member's name."""

from __future__ import annotations

import re

import click
import pytest
import typer
from typer.testing import CliRunner

from consortium.cli.federate import progress_printer
from consortium.cli.main import app
from consortium.rounds import FederationEvent, RoundReport

MEMBERS = ("meridian-line", "rhine-road", "silk-corridor-rail", "aurora-air",
           "duisburg-dc", "rotterdam-dc", "warsaw-dc")  # fmt: skip


def _commands(command: click.Command, path: str = "consortium") -> list[tuple[str, click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found += _commands(sub, f"{path} {name}")
    return found


def test_no_command_help_is_hard_wrapped_mid_sentence() -> None:
    # Execute
    commands = _commands(typer.main.get_command(app))
    # Assert: a line break inside a paragraph is only ever before a "- " bullet
    for path, command in commands:
        for paragraph in (command.help or "").split("\n\n"):
            for line in paragraph.split("\n")[1:]:
                assert line.startswith("- "), f"{path}: hard wrap before {line!r}"
    assert len(commands) > 30


def test_a_wide_terminal_shows_a_help_paragraph_on_one_line() -> None:
    result = CliRunner().invoke(app, ["federate", "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    assert "only masked updates leave it and the coordinator sees their sum" in result.output


@pytest.mark.parametrize("columns", [40, 60, 100])
def test_round_lines_wrap_between_members_never_inside_a_name(
    columns: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Prepare
    monkeypatch.setenv("COLUMNS", str(columns))
    report = RoundReport(
        model="eta", server_round=3, status="degraded", members_total=7, members_aggregated=6,
        epsilon_spent=dict.fromkeys(MEMBERS[:-1], 0.4123), sat_out=(MEMBERS[-1],), loss=0.1234,
        seconds=2.5,
    )  # fmt: skip
    # Execute
    with progress_printer("eta", rounds=12) as show:
        show(FederationEvent(stage="round", server_round=3, rounds=12, report=report))
    err = capsys.readouterr().err
    # Assert
    lines = [line for line in err.splitlines() if re.search(r"0\.41|sat out", line)]
    listed = ",".join(lines)
    for member in MEMBERS[:-1]:
        assert f"{member} 0.41" in listed
    assert f"sat out: {MEMBERS[-1]}" in listed
    assert all(len(line.rstrip()) <= columns for line in lines)
