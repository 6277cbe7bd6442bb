#!/usr/bin/env bash
# Refresh docs/screenshots/: one PNG per dashboard page, taken by the headless-Chromium tests
# (tests/dashboards/test_browser.py and test_url_mode.py) against a small consortium: the
# coordinator's own view (<page>.png) and URL mode, a member's dashboard against the coordinator
# service on loopback (url-mode-<page>.png). The same run fails on an exception, an empty chart
# or a cut label, so a refreshed screenshot is a checked one.
# Needs Chromium (apt-get install chromium); run from anywhere: `make screenshots`.
set -euo pipefail
cd "$(dirname "$0")/.."
export FLWR_TELEMETRY_ENABLED=0 MPLBACKEND=Agg
export CONSORTIUM_SCREENSHOTS_DIR="$PWD/docs/screenshots"
command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
  || command -v google-chrome >/dev/null \
  || { echo "error: no Chromium found (apt-get install chromium)"; exit 1; }
.venv/bin/python -m pytest -q -p no:cacheprovider --timeout=600 -m slow \
  tests/dashboards/test_browser.py tests/dashboards/test_url_mode.py
ls -1 "$CONSORTIUM_SCREENSHOTS_DIR"
