"""``consortium demo`` end to end, where strace cannot trace it.

Wherever strace works, the demo runs once, traced, in the egress audit
(``tests/federation/test_egress.py::test_demo_talks_only_to_loopback``), which makes these same
checks (:mod:`tests.cli.demo_checks`) on that run; this test then skips and says so, so the demo
is never run twice by ``make test``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from consortium.cli.main import app
from tests.cli.demo_checks import check_demo_run
from tests.strace_run import strace_prefix


@pytest.mark.slow
def test_demo_runs_the_consortium_through_its_service_and_stops_it(tmp_path: Path) -> None:
    # Prepare
    if strace_prefix()[0] is not None:
        pytest.skip("the demo runs under strace in tests/federation/test_egress.py::"
                    "test_demo_talks_only_to_loopback, with these same checks")  # fmt: skip
    out = tmp_path / "demo"
    # Execute
    result = CliRunner().invoke(
        app, ["demo", "--out", str(out), "--scale", "0.05", "--rounds", "1"]
    )
    # Assert
    assert result.exit_code == 0, result.output
    check_demo_run(result.output, out)
