"""A real PostgreSQL server for tests, plus fixtures that run store tests on both backends.

``postgres_server`` (session scope) finds ``initdb``/``pg_ctl`` (``/usr/lib/postgresql/*/bin``
or ``PATH``), creates a throw-away cluster in a temp dir owned by ``postgres`` (the server
refuses to run as root, so commands go through ``runuser -u postgres --``), starts it on a free
loopback port with its socket in the temp dir, and stops it at the end of the session. Where
that is impossible, tests that need it skip *visibly* with the reason.

``database_url`` is parametrised over ``sqlite`` and ``postgresql`` and gives each test an
empty database of its own.

Register in ``tests/conftest.py`` with ``pytest_plugins = ["tests.postgres"]``.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

_STARTUP_TIMEOUT_S = 60


@dataclass
class PostgresServer:
    """A running throw-away cluster."""

    bin_dir: Path
    root: Path
    port: int
    _ids: itertools.count[int]

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def create_database(self, prefix: str = "t") -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._ids)}"
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        _run_as_postgres(
            [
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.root / "data"),
                "-m",
                "fast",
                "-w",
                "stop",
            ]
        )
        shutil.rmtree(self.root, ignore_errors=True)


def _find_bin_dir() -> Path | None:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3])
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as_postgres(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=_STARTUP_TIMEOUT_S, check=False
    )


def start_server() -> PostgresServer:
    """Start a throw-away PostgreSQL cluster (used by the fixture and by benchmarks)."""
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(f"psycopg is not installed ({exc})") from exc
    bin_dir = _find_bin_dir()
    if bin_dir is None:
        raise RuntimeError(
            "no pg_ctl found (run scripts/ensure_test_servers.sh to install PostgreSQL)"
        )
    root = Path(tempfile.mkdtemp(prefix="consortium-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres", group="postgres")
    data = root / "data"
    done = _run_as_postgres(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]
    )
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {done.stderr.strip()[-500:]}")
    port = _free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
    )
    done = _run_as_postgres(
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "server.log"),
            "-o",
            options,
            "-w",
            "start",
        ]
    )
    if done.returncode != 0:
        log = (
            (root / "server.log").read_text(errors="replace")[-500:]
            if (root / "server.log").exists()
            else ""
        )
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()[-300:]} {log}")
    return PostgresServer(bin_dir, root, port, itertools.count())


_server: PostgresServer | None = None
_failure: str | None = None


def get_server() -> PostgresServer:
    """Start the one server of this process (or skip with the reason it cannot run)."""
    global _server, _failure
    if _server is None and _failure is None:
        try:
            _server = start_server()
            atexit.register(_server.stop)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            _failure = str(exc)
    if _server is None:
        pytest.skip(f"PostgreSQL unavailable: {_failure}")
    return _server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The running PostgreSQL server; skips visibly when it cannot be started."""
    global _server
    server = get_server()
    yield server
    if _server is server:
        server.stop()
        atexit.unregister(server.stop)
        _server = None


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """SQLAlchemy URL of a fresh, empty PostgreSQL database."""
    return postgres_server.create_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database on each backend: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'consortium.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()
