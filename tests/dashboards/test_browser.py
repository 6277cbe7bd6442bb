"""End to end: the real ``streamlit run`` server, rendered by a real headless Chromium.

Streamlit renders client-side: the page is an empty shell until its JavaScript has opened the
WebSocket and the server has run the page script. ``--dump-dom --virtual-time-budget`` does not
wait for that here: virtual time jumps over the WebSocket wait, so the DOM is dumped while the
script is still running (``data-test-script-state="running"``). Instead the test drives Chromium
over the DevTools protocol (``--remote-debugging-port``) and reads ``document.body.innerText``
until the app's own text is there, in real time, with a deadline.

The pages are checked on the coordinator's own view (``-- --db URL``) here, and in URL mode
(a member's or cargo owner's dashboard against the real coordinator service on loopback,
``-- --coordinator URL --pin KEYID --ca FILE``; screenshots ``url-mode-*.png``) in
:mod:`tests.dashboards.test_url_mode`, whose service it shares. Every page is opened in one
server and tab and fails the test on an exception, a page still running, a page that does not
render its text, a chart that draws nothing or only a strip, or a label it can see is cut (text
ending in "…", or an ellipsis-styled element whose text overflows it). With
``CONSORTIUM_SCREENSHOTS_DIR`` set, each page is also saved as a PNG there
(``scripts/screenshots.sh`` refreshes ``docs/screenshots/``).

The server runs with its working directory and ``HOME`` in a temporary folder, so no real
``.streamlit/secrets.toml`` or config is read; its settings come from the command line after
``--``. Both processes run in their own process groups and are killed with them (no orphans).
"""

from __future__ import annotations

import base64
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
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect  # a dependency of streamlit

from consortium.config import REPO_ROOT
from tests.queries.world import World

STARTUP_S = 45
RENDER_S = 45
VIEWPORT = (1400, 1000)
MAX_SHOT_HEIGHT = 6000
SCREENSHOTS_ENV = "CONSORTIUM_SCREENSHOTS_DIR"
"""Set to a folder (``scripts/screenshots.sh`` sets ``docs/screenshots``) to keep a PNG per page."""

PAGES = (
    ("", "overview", ("Logistics Consortium", "Ledger entries", "Points held by members")),
    ("forecasts", "forecasts", ("Pooled forecasts", "Lane forecast preview", "Model cards")),
    ("paid_queries", "paid_queries", ("Paid queries", "Lane catalogue", "History")),
    ("governance", "governance", ("Governance", "What it changes", "Policy in force")),
    ("ledger", "ledger", ("Ledger", "Verified:", "Recent entries")),
    ("points", "points", ("Points", "Points over time", "Contributions")),
)
"""URL path, screenshot name, and text each page must show once rendered."""


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


@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
def server(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``streamlit run dashboards/app.py`` on the coordinator's database, for the page checks."""
    yield from streamlit_server(tmp_path_factory, "--db", world.url,
                                "--models", str(world.models.root))  # fmt: skip


def streamlit_server(tmp_path_factory: pytest.TempPathFactory, *options: str) -> Iterator[str]:
    """``streamlit run dashboards/app.py -- OPTIONS`` on a free loopback port until closed."""
    tmp_path = tmp_path_factory.mktemp("streamlit-server")
    port = _free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home)}
    command = [
        *_streamlit_command(), "run", str(REPO_ROOT / "dashboards" / "app.py"),
        "--server.headless", "true", "--server.address", "127.0.0.1",
        "--server.port", str(port), "--browser.gatherUsageStats", "false",
        "--", *options,
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


AUDIT_JS = r"""
(() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const main = document.querySelector('[data-testid="stMain"]');
  const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].map(c => {
    const drawn = c.querySelector('canvas, svg');
    const box = drawn ? drawn.getBoundingClientRect() : {width: 0, height: 0};
    return {width: box.width, height: box.height};
  });
  const cut = [];
  for (const el of (main ? main.querySelectorAll('*') : [])) {
    if (el.closest('[data-testid="stDataFrame"], [data-testid="stVegaLiteChart"]')) continue;
    const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('');
    if (own.trim().endsWith('\u2026')) cut.push(own.trim());
    const style = getComputedStyle(el);
    if (style.textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth + 1) {
      cut.push((el.innerText || '').trim());
    }
  }
  return JSON.stringify({
    state: app ? app.getAttribute('data-test-script-state') : null,
    text: document.body ? document.body.innerText : '',
    exceptions: [...document.querySelectorAll('[data-testid="stException"]')]
      .map(e => e.innerText.slice(0, 400)),
    charts, cut,
    height: main ? main.scrollHeight : document.documentElement.scrollHeight,
  });
})()
"""
"""What the checks read from a rendered page: script state, text, exceptions, charts, cut text."""


class Browser:
    """One headless Chromium tab, driven over the DevTools protocol."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws, self.request_id = ws, 0

    def call(self, method: str, **params: object) -> dict[str, Any]:
        self.request_id += 1
        self.ws.send(json.dumps({"id": self.request_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.request_id:
                assert "error" not in message, message["error"]
                return dict(message.get("result", {}))

    def audit(self) -> dict[str, Any]:
        result = self.call("Runtime.evaluate", expression=AUDIT_JS, returnByValue=True)
        return dict(json.loads(result.get("result", {}).get("value") or "{}"))

    def open(self, url: str, *, expected: tuple[str, ...]) -> dict[str, Any]:
        """Load ``url``; return the audit once the script ran, the text is there and charts drew."""
        self.call("Emulation.setDeviceMetricsOverride", width=VIEWPORT[0], height=VIEWPORT[1],
                  deviceScaleFactor=1, mobile=False)  # fmt: skip
        self.call("Page.navigate", url=url)
        deadline, seen, before = time.monotonic() + RENDER_S, {}, {}
        while time.monotonic() < deadline:
            seen = self.audit()
            ready = (
                seen.get("state") == "notRunning"
                and all(e in seen.get("text", "") for e in expected)
                and all(c["height"] > 0 for c in seen.get("charts", []))
            )
            if ready and seen == before:  # settled: the same page twice, half a second apart
                return seen
            before = seen if ready else {}
            time.sleep(0.5)
        return seen

    def screenshot(self, path: Path, *, height: int) -> None:
        """Save the whole page (the app scrolls inside its main block: grow the viewport)."""
        tall = min(max(height + 120, VIEWPORT[1]), MAX_SHOT_HEIGHT)
        self.call("Emulation.setDeviceMetricsOverride", width=VIEWPORT[0], height=tall,
                  deviceScaleFactor=1, mobile=False)  # fmt: skip
        time.sleep(1.0)  # re-layout at the new height
        deadline = time.monotonic() + RENDER_S
        while self.audit().get("state") != "notRunning" and time.monotonic() < deadline:
            time.sleep(0.5)  # a rerun under way (a loaded machine): photograph its end
        shot = self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))


@pytest.fixture(scope="module")
def browser(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """A headless Chromium on a blank tab (one for every page check)."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
         f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", "about:blank"],
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
        with connect(target["webSocketDebuggerUrl"], max_size=None) as ws:
            yield Browser(ws)
    finally:
        _stop(proc)


def _problems(page: str, seen: dict[str, Any], expected: tuple[str, ...]) -> list[str]:
    found = [f"{page}: not rendered: {e!r}" for e in expected if e not in seen.get("text", "")]
    if seen.get("state") != "notRunning":
        found.append(f"{page}: still running after {RENDER_S} s (state {seen.get('state')!r})")
    found += [f"{page}: exception: {e}" for e in seen.get("exceptions", [])]
    found += [f"{page}: cut label: {c!r}" for c in seen.get("cut", [])]
    found += [
        f"{page}: chart {n} is {c['width']:.0f}x{c['height']:.0f} px (empty or a strip)"
        for n, c in enumerate(seen.get("charts", []))
        if c["height"] < 60 or c["width"] < 100
    ]
    return found


def _shots_folder() -> Path | None:
    shots = os.environ.get(SCREENSHOTS_ENV)
    folder = Path(shots) if shots else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_pages(
    browser: Browser, server: str, pages: tuple[tuple[str, str, tuple[str, ...]], ...],
    *, members: int,
) -> list[str]:
    """Open every page in the one tab; return what is wrong (and photograph each, if asked)."""
    folder, problems = _shots_folder(), []
    for path, name, expected in pages:
        seen = browser.open(server + path, expected=expected)
        problems += _problems(name, seen, expected)
        if path == "" and not re.search(rf"Active members\s+{members}", seen.get("text", "")):
            problems.append(f"{name}: no 'Active members {members}' in {seen.get('text', '')!r}")
        if folder is not None:
            browser.screenshot(folder / f"{name}.png", height=int(seen.get("height", 0)))
        if path == "":
            for page in ("Overview", "Paid queries", "Governance", "Ledger", "Points"):
                if page not in seen.get("text", ""):  # the router's navigation
                    problems.append(f"{name}: no {page!r} in the navigation")
    return problems


@pytest.mark.slow
def test_every_page_renders_whole_in_a_real_browser(browser: Browser, server: str) -> None:
    # Execute: every page in the one server and tab, checked and (optionally) photographed
    problems = check_pages(browser, server, PAGES, members=4)
    # Assert
    assert not problems, "\n".join(problems)
