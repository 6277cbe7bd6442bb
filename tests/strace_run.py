"""Run a command under strace, tracing the network calls of every process it starts.

Used by the egress audit (``tests/federation/test_egress.py``) and the demo test, which runs the
demo traced wherever strace works. Without ``strace`` (``apt-get install strace``) or where ptrace
is not permitted, :func:`strace_prefix` says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

SYSCALLS = "connect,bind,sendto,sendmsg"


@cache
def strace_prefix() -> tuple[list[str] | None, str]:
    """The strace command line to use, or ``None`` and why it cannot be used here."""
    strace = shutil.which("strace")
    if strace is None:
        return None, "strace is not installed (apt-get install strace)"
    for extra in (["--seccomp-bpf"], []):
        argv = [strace, "-f", *extra, "-qq", "-e", f"trace={SYSCALLS}", "-e", "signal=none"]
        probe = subprocess.run([*argv, "-o", os.devnull, "true"], capture_output=True, check=False)
        if probe.returncode == 0:
            return argv, ""
    return None, f"strace cannot trace here: {probe.stderr.decode(errors='replace').strip()}"


def traced_run(argv: list[str], trace: Path, *, cwd: Path, timeout_s: float) -> str:
    prefix, why = strace_prefix()
    if prefix is None:
        pytest.skip(why)
    cwd.mkdir(parents=True, exist_ok=True)  # an empty folder: nothing on it shadows the kit
    env = {k: v for k, v in os.environ.items()
           if k not in ("FLWR_TELEMETRY_ENABLED", "FLWR_DISABLE_UPDATE_CHECK")}  # fmt: skip
    done = subprocess.run(
        [*prefix, "-o", str(trace), *argv],
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=timeout_s,
        check=False,
    )
    output = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
    assert done.returncode == 0, output[-4000:]
    return output
