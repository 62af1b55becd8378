"""Runs the fake OpenAI upstream on its own: `python -m devtools.fake_openai --port 8089`."""

import argparse
import contextlib
import threading

from devtools.fake_openai import FakeOpenAI


def main() -> None:
    parser = argparse.ArgumentParser(description="Atende's offline OpenAI upstream")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--api-key", default=None, help="answer 401 to any other Bearer key")
    args = parser.parse_args()
    with FakeOpenAI(args.host, args.port, api_key=args.api_key) as fake:
        print(f"fake OpenAI upstream on {fake.base_url} (control endpoints under {fake.url}/_fake/)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
