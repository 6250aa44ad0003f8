#!/usr/bin/env bash
# Installs Debian's chromium for the real-browser widget tests (tests/test_browser_widget.py) when
# it is missing. Never fails the build: without a browser those tests skip and say why.
set -u
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  echo "install-chromium: $(command -v chromium || echo /usr/bin/chromium) is already installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "install-chromium: not root and no sudo; the browser tests will skip"
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium; then
  echo "install-chromium: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
else
  echo "install-chromium: apt-get could not install chromium; the browser tests will skip"
fi
exit 0
