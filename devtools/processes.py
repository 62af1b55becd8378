"""Stopping a server process the way an operator would: SIGTERM, a wait, and SIGKILL only if it did not stop."""

from __future__ import annotations

import signal
import subprocess
from typing import Any


def stop_gracefully(process: subprocess.Popen[Any], seconds: float = 30) -> bool:
    """SIGTERM `process` and wait up to `seconds`; kill it if it is still running then. True when it stopped on
    SIGTERM in time (or had already exited), False when it had to be killed."""
    if process.poll() is not None:
        return True
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return False
    return True
