"""`python -m devtools.strict_dynamodb [port]`: a strict embedded AWS on loopback for other processes to use."""

from __future__ import annotations

import signal
import sys
import threading

from devtools.aws_local import EmbeddedAWS


def main(argv: list[str]) -> int:
    aws = EmbeddedAWS(int(argv[0]) if argv else 4566, strict=True).start()
    print(f"strict embedded AWS at {aws.endpoint} (control: {aws.endpoint}/_strict/stats); Ctrl-C stops it", flush=True)
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    aws.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
