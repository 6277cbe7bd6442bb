#!/usr/bin/env bash
# Install the real servers some tests need from Debian packages when they are missing.
# Best effort: where this fails, those tests skip visibly with the reason (see tests/servers.py).
set -u
need=()
command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
command -v strace >/dev/null 2>&1 || need+=(strace)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
  || command -v google-chrome >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: cannot install ${need[*]} (not root or no apt-get); the tests that need it will skip."
  exit 0
fi
echo "installing test servers from Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
  || echo "note: apt-get install ${need[*]} failed; the tests that need it will skip."
# Debian's package starts a cluster on port 5432; the tests start their own, so stop it.
command -v service >/dev/null 2>&1 && service postgresql stop >/dev/null 2>&1 || true
exit 0
