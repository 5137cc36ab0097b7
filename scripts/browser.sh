#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the admin browser tests (tests/browser, driven by
# Playwright with executable_path=/usr/bin/chromium; `playwright install` is never needed).
# Idempotent: does nothing when chromium is already there. Used by .ci/run.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if [ -x /usr/bin/chromium ]; then
  echo "[browser] chromium is installed"
  exit 0
fi
echo "[browser] installing chromium from Debian packages"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
