"""The system Chromium (Debian's `chromium`) as the browser tests and the screenshot script start it."""

from __future__ import annotations

import os

# Playwright's own browser download needs the internet; the system browser does not.
CHROMIUM = os.environ.get("ATENDE_CHROMIUM", "/usr/bin/chromium")
# Everything that would reach past loopback is off: update checks, sync, component downloads, QUIC.
# Playwright starts it on a new, empty profile (a temporary user-data-dir) every launch.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
