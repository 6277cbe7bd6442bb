r"""Process plumbing of the deployment runtime: ports, executables, environments, signals, logs.

Every Flower process the kit starts goes through :func:`spawn` (its own session, its log file,
the environment of :func:`flower_env`) and is ended by :func:`terminate`, which also reaches
the descendants Flower detaches (found through Linux ``/proc``).

Examples
--------
>>> address("::1", 9092)
'[::1]:9092'
>>> strip_ansi("\x1b[32mINFO\x1b[0m ready")
'INFO ready'
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from consortium.errors import DeploymentError

__all__ = [
    "address",
    "descendants",
    "executable",
    "flower_env",
    "free_port",
    "send_signal",
    "spawn",
    "strip_ansi",
    "tail",
    "terminate",
]

logger = logging.getLogger(__name__)

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_ansi(text: str) -> str:
    """Return ``text`` without terminal colour codes."""
    return _ANSI.sub("", text)


def free_port(host: str) -> int:
    """Return a TCP port that is free on ``host`` right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def address(host: str, port: int) -> str:
    """Return ``host:port``, bracketing an IPv6 host."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def executable(name: str) -> str:
    """Return the path of a Flower executable, preferring the one next to this Python.

    Raises
    ------
    DeploymentError
        If it is found neither next to ``sys.executable`` nor on ``PATH``.
    """
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise DeploymentError(name, code="start-failed", reason="executable not found (flwr 1.42)")
    return found


COLOUR_FORCING = ("FORCE_COLOR", "CLICOLOR_FORCE", "PY_COLORS")
"""Variables that make Flower's CLI colour its ``--format json`` output (Jupyter sets them)."""


def flower_env(flwr_home: Path, *, host: str, superexec_poll_s: float) -> dict[str, str]:
    """Return the environment of one Flower process: no telemetry, no installs, loopback direct.

    Parameters
    ----------
    flwr_home : Path
        The process's ``FLWR_HOME``.
    host : str
        The loopback address the deployment binds to (added to ``NO_PROXY``).
    superexec_poll_s : float
        ``FLWR_SUPEREXEC_TASK_POLL_INTERVAL``.
    """
    env = dict(os.environ)  # children need PATH, HOME, ...; the kit's settings stay above
    for forced in COLOUR_FORCING:  # Jupyter's kernel forces colour: flwr's JSON would carry ANSI
        env.pop(forced, None)
    loopback = ",".join(dict.fromkeys([host, "127.0.0.1", "::1", "localhost"]))
    env.update(
        FLWR_TELEMETRY_ENABLED="0",
        FLWR_DISABLE_UPDATE_CHECK="1",
        FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION="1",
        FLWR_SUPEREXEC_TASK_POLL_INTERVAL=str(superexec_poll_s),
        FLWR_HOME=str(flwr_home),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
        NO_PROXY=loopback,
        no_proxy=loopback,
        NO_COLOR="1",
    )
    return env


def spawn(
    argv: Sequence[str], *, log_path: Path, cwd: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session, appending its output to ``log_path``."""
    with log_path.open("ab") as log:
        return subprocess.Popen(  # noqa: S603  (fixed executables, no shell)
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )


def descendants(root: int) -> list[int]:
    """Every live descendant of ``root`` (Linux ``/proc``; detached sessions included)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def send_signal(pids: Sequence[int], sig: signal.Signals, *, group: bool = False) -> None:
    """Send ``sig`` to each pid (and to its process group if ``group``), skipping the gone."""
    for pid in pids:
        for send in (os.killpg, os.kill) if group else (os.kill,):
            try:
                send(pid, sig)
            except (ProcessLookupError, PermissionError):
                continue


def terminate(procs: Sequence[tuple[str, subprocess.Popen[bytes]]], *, grace_s: float) -> None:
    """Terminate named processes in the given order, then kill whatever is left.

    Each process's session and every descendant get ``SIGTERM``; after ``grace_s`` seconds
    in all, everything still there gets ``SIGKILL`` and is reaped.
    """
    victims: list[int] = []
    for _, proc in procs:
        pids = [proc.pid, *descendants(proc.pid)]
        victims += pids
        if proc.poll() is None:
            send_signal([proc.pid], signal.SIGTERM, group=True)
        send_signal(pids[1:], signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for name, proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in time; killing it", name)
    send_signal(victims, signal.SIGKILL, group=True)
    for _, proc in procs:
        proc.wait()


def tail(path: Path, lines: int = 25) -> str:
    """Return the last ``lines`` lines of a log, without colour codes (``(no log)`` if none)."""
    try:
        text = strip_ansi(path.read_text(errors="replace"))
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])
