"""Start-up: the command line loads a command's heavy libraries only when that command runs."""

from __future__ import annotations

import subprocess
import sys

from consortium.config import REPO_ROOT

HEAVY = ("torch", "pandas", "frictionless", "jsonschema", "sqlalchemy", "flwr", "opacus",
         "lightgbm", "pyarrow", "fastapi", "uvicorn", "streamlit")  # fmt: skip


def _loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO_ROOT, check=True,
        timeout=120,
    )  # fmt: skip
    return done.stdout.split()


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert _loaded_after("import consortium.cli.main") == []


def test_help_lists_every_command_without_loading_them() -> None:
    # Execute
    loaded = _loaded_after(
        "from typer.testing import CliRunner\n"
        "from consortium.cli.main import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "assert 'federate' in result.output and 'ledger' in result.output, result.output"
    )
    # Assert
    assert loaded == []
