"""End to end: the real ``streamlit run`` server, rendered by a real headless Chromium.

Streamlit renders client-side: the page is an empty shell until its JavaScript has opened the
WebSocket and the server has run the page script. ``--dump-dom --virtual-time-budget`` does not
wait for that here: virtual time jumps over the WebSocket wait, so the DOM is dumped while the
script is still running (``data-test-script-state="running"``). Instead the test drives Chromium
over the DevTools protocol (``--remote-debugging-port``) and reads ``document.body.innerText``
until the app's own text is there, in real time, with a deadline.

The server runs with its working directory and ``HOME`` in a temporary folder, so no real
``.streamlit/secrets.toml`` or config is read; its settings come from the command line after
``--``. Both processes run in their own process groups and are killed with them (no orphans).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import ClientConnection, connect  # a dependency of streamlit

from consortium.config import REPO_ROOT
from tests.queries.world import World

STARTUP_S = 45
RENDER_S = 45
EXPECTED = ("Logistics Consortium", "Ledger entries", "Points held by members", "Pooled forecasts")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(proc: subprocess.Popen[str]) -> None:
    """Terminate the process group of ``proc`` (then kill it) and wait until it is gone."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
    proc.wait(timeout=5)


@pytest.fixture
def chromium() -> str:
    """The Chromium executable; the test skips visibly (with how to install it) without one."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(
        "no Chromium found (install it with `apt-get install chromium`, see "
        "scripts/ensure_test_servers.sh); the browser test cannot run"
    )


def _streamlit_command() -> list[str]:
    script = Path(sys.executable).with_name("streamlit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "streamlit"]


@pytest.fixture
def server(world: World, tmp_path: Path) -> Iterator[str]:
    """``streamlit run dashboards/app.py`` on a free loopback port; yields its URL."""
    port = _free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home)}
    command = [
        *_streamlit_command(), "run", str(REPO_ROOT / "dashboards" / "app.py"),
        "--server.headless", "true", "--server.address", "127.0.0.1",
        "--server.port", str(port), "--browser.gatherUsageStats", "false",
        "--", "--db", world.url, "--models", str(world.models.root),
    ]  # fmt: skip
    log = (tmp_path / "streamlit.log").open("w")
    proc = subprocess.Popen(
        command, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited ({proc.returncode}):\n{_tail(tmp_path)}")
            try:
                with urllib.request.urlopen(f"{url}_stcore/health", timeout=2) as reply:
                    if reply.read().strip() == b"ok":
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit not healthy after {STARTUP_S} s:\n{_tail(tmp_path)}")
            time.sleep(0.2)
        yield url
    finally:
        _stop(proc)
        log.close()


def _tail(folder: Path) -> str:
    return (folder / "streamlit.log").read_text(errors="replace")[-2000:]


def _evaluate(ws: ClientConnection, request_id: int, expression: str) -> str:
    ws.send(json.dumps({
        "id": request_id, "method": "Runtime.evaluate",
        "params": {"expression": expression, "returnByValue": True},
    }))  # fmt: skip
    while True:
        message = json.loads(ws.recv())
        if message.get("id") == request_id:
            return str(message.get("result", {}).get("result", {}).get("value", ""))


def _rendered_text(chromium: str, url: str, profile: Path) -> str:
    """Load ``url`` in headless Chromium; return the page text once the app has rendered."""
    proc = subprocess.Popen(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", f"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        endpoint = None
        for line in proc.stderr:
            found = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if found:
                endpoint = f"http://127.0.0.1:{found.group(1)}"
                break
        assert endpoint, f"Chromium did not start (exit {proc.poll()})"
        with urllib.request.urlopen(f"{endpoint}/json/list", timeout=10) as reply:
            target = next(t for t in json.load(reply) if t["type"] == "page")
        text = ""
        with connect(target["webSocketDebuggerUrl"], max_size=None) as ws:
            deadline = time.monotonic() + RENDER_S
            request_id = 0
            while time.monotonic() < deadline:
                request_id += 1
                text = _evaluate(ws, request_id, "document.body ? document.body.innerText : ''")
                if all(expected in text for expected in EXPECTED):
                    break
                time.sleep(0.25)
        return text
    finally:
        _stop(proc)


@pytest.mark.slow
def test_dashboard_renders_in_a_real_browser(chromium: str, server: str, tmp_path: Path) -> None:
    # Execute
    text = _rendered_text(chromium, server, tmp_path / "chromium-profile")
    # Assert: the router's navigation and the Overview page's own figures were rendered
    missing = [expected for expected in EXPECTED if expected not in text]
    assert not missing, f"not rendered: {missing}; page text: {text[:500]!r}"
    for page in ("Overview", "Paid queries", "Governance", "Ledger", "Points"):
        assert page in text
    assert re.search(r"Active members\s+4", text)
