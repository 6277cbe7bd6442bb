"""Egress audit: the kit connects to nothing but loopback in tests and the demo.

Each test runs a real command under ``strace -f -e trace=connect,bind,sendto,sendmsg`` (every
process it starts included: SuperLink, SuperNodes, SuperExecs, ServerApp and ClientApp
processes, ``flwr`` CLI calls) and checks every IPv4/IPv6 address in those calls: all must be
loopback (``127.0.0.0/8``, ``::1``; AF_UNIX and AF_NETLINK are local and allowed), nothing may
bind to a wildcard address, and the cloud metadata address ``169.254.169.254`` never appears.

The commands run with ``FLWR_TELEMETRY_ENABLED`` and ``FLWR_DISABLE_UPDATE_CHECK`` removed from
their environment: the deployment must switch telemetry and update checks off by itself.
Without ``strace`` (``apt-get install strace``) or where ptrace is not permitted, the tests skip
and say why.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from pathlib import Path

import pytest

from tests.cli.demo_checks import check_demo_run
from tests.deployment.deploy_fixtures import TOY_APP, make_consortium
from tests.strace_run import traced_run

_ADDRESS = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6?, "([^"]+)"')
_CALL = re.compile(r"\b(connect|bind|sendto|sendmsg)\(")
_UP_DRIVER = (
    "import typer; from consortium.cli.federation import register; "
    "app = typer.Typer(); register(app); app(prog_name='consortium')"
)


def _is_local(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def audit(trace: str) -> tuple[list[str], int]:
    """Return the traced calls that reach a non-loopback address, and how many inet calls ran."""
    offending, inet_calls = [], 0
    for line in trace.splitlines():
        if not _CALL.search(line) or "AF_INET" not in line:
            continue
        addresses = [a or b for a, b in _ADDRESS.findall(line)]
        inet_calls += bool(addresses)
        if any(not _is_local(a) for a in addresses):
            offending.append(line.strip())
    return offending, inet_calls


def test_audit_flags_non_loopback_calls() -> None:
    # Prepare: lines as strace prints them
    v4 = "{{sa_family=AF_INET, sin_port=htons({}), sin_addr=inet_addr(\"{}\")}}, 16"
    v6 = ("{{sa_family=AF_INET6, sin6_port=htons({}), sin6_flowinfo=htonl(0), "
          "inet_pton(AF_INET6, \"{}\", &sin6_addr), sin6_scope_id=0}}, 28")  # fmt: skip
    trace = "\n".join([
        f"7 connect(5, {v4.format(443, '127.0.0.1')}) = 0",
        f"7 bind(3, {v6.format(0, '::1')}) = 0",
        '8 connect(4, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1',
        f"9 connect(6, {v4.format(80, '169.254.169.254')} <unfinished ...>",
        f"9 bind(6, {v4.format(8000, '0.0.0.0')}) = 0",
        f"9 sendmsg(6, {{msg_name={v6.format(53, '2001:4860:4860::8888')}}}, 0) = 40",
    ])  # fmt: skip
    # Execute
    offending, inet_calls = audit(trace)
    # Assert
    assert inet_calls == 5
    assert [line.split()[0] + " " + line.split()[1][:4] for line in offending] == [
        "9 conn", "9 bind", "9 send",
    ]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_federation_up_talks_only_to_loopback(tmp_path: Path) -> None:
    # Prepare: two members of a tiny synthetic consortium (a third adds one more process of
    # each kind, talking the same way), the toy app (one plain round: the SecAgg+ stages travel
    # the same SuperLink and SuperNode connections, each message in one more ClientApp process,
    # and tests/deployment/test_supervisor.py runs them deployed)
    members = make_consortium(tmp_path / "data")
    trace = tmp_path / "strace.txt"
    argv = [sys.executable, "-c", _UP_DRIVER, "federation", "up", "--members", str(members),
            "--nodes", "2", "--rounds", "1", "--plain", "--app", str(TOY_APP),
            "--out", str(tmp_path / "up")]  # fmt: skip
    # Execute
    output = traced_run(argv, trace, cwd=tmp_path / "cwd", timeout_s=540)
    # Assert: the run completed, the audit saw its traffic, all of it on loopback
    assert "finished:completed" in output, output[-4000:]
    text = trace.read_text(errors="replace")
    offending, inet_calls = audit(text)
    assert offending == []
    assert inet_calls > 20
    talkers = {line.split()[0] for line in text.splitlines() if 'inet_addr("127.0.0.1")' in line}
    assert len(talkers) >= 8  # SuperLink, SuperNodes, SuperExecs, apps, flwr CLI calls
    assert "169.254.169.254" not in text


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_demo_talks_only_to_loopback(tmp_path: Path) -> None:
    """The demo, traced: it runs the one-machine runner (``federation.runner.federate``, what
    ``consortium federate`` runs) for both models, the coordinator service and every client, so
    this also audits ``consortium federate``. The demo's own checks apply to this same run."""
    # Prepare
    consortium = Path(sys.executable).parent / "consortium"
    if not consortium.exists():
        pytest.skip("the `consortium` entry point is not installed in this environment")
    trace, out = tmp_path / "strace.txt", tmp_path / "demo"
    # Execute: one round per model, as the demo test runs it (what it connects to does not
    # depend on that)
    output = traced_run([str(consortium), "demo", "--out", str(out), "--scale", "0.05",
                         "--rounds", "1"], trace, cwd=tmp_path / "cwd", timeout_s=540)  # fmt: skip
    # Assert: only loopback; and the demo did everything it must (tests/cli/demo_checks.py)
    text = trace.read_text(errors="replace")
    offending, _ = audit(text)
    assert offending == []
    assert "169.254.169.254" not in text
    check_demo_run(output, out)

