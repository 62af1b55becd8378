"""`make dev`: Atende on loopback — embedded AWS, the template's resources, a demo tenant, the API on $PORT."""

from __future__ import annotations

import os
import signal
import sys
import threading
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from atende.providers.credentials import OFFLINE_API_KEY
from devtools import invocation_log
from devtools.alarms import AlarmEvaluator
from devtools.apigw import ApiGatewayEmulator
from devtools.aws_local import EmbeddedAWS, Provisioned
from devtools.fake_openai import FakeOpenAI
from devtools.local_env import ExternalAWS, LocalAccount, iam_enabled, start_account
from devtools.seed import DemoKeys, InvalidLocalKey, demo_keys, seed


class _ApiRequestHandler(WSGIRequestHandler):
    disable_nagle_algorithm = True


@dataclass
class LocalStack:
    account: LocalAccount
    upstream: FakeOpenAI | None
    api: BaseWSGIServer
    keys: DemoKeys
    emulator: ApiGatewayEmulator
    alarms: AlarmEvaluator | None = None

    @property
    def aws(self) -> EmbeddedAWS | ExternalAWS:
        return self.account.aws

    @property
    def provisioned(self) -> Provisioned:
        return self.account.provisioned

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api.server_port}"

    def stop(self) -> None:
        if self.alarms:
            self.alarms.stop()
        self.api.shutdown()
        if self.upstream:
            self.upstream.stop()
        self.account.stop()


def start(port: int = 3000, *, keys: DemoKeys | None = None, aws_port: int = 0) -> LocalStack:
    """Start everything in background threads of this process and return once the API answers."""
    keys = keys or demo_keys()
    parameters = {"Stage": "local"}
    # ATENDE_AUTH_CACHE_TTL_SECONDS overrides the template parameter AuthCacheTtlSeconds (how long a revoked
    # key keeps working); the functions' AUTH_CACHE_TTL_SECONDS comes from the template, like on AWS.
    if ttl := os.environ.get("ATENDE_AUTH_CACHE_TTL_SECONDS"):
        parameters["AuthCacheTtlSeconds"] = str(int(ttl))
    # Without OPENAI_API_KEY, the offline upstream answers every tenant: credentials that name no base_url, and
    # tenants without any credential (a tenant created while the stack runs can chat at once).
    upstream = None if os.environ.get("OPENAI_API_KEY") else FakeOpenAI().start()
    offline = {"OFFLINE_UPSTREAM_URL": upstream.base_url} if upstream else {}
    # Each function runs in its own worker processes with its role's credentials (ATENDE_LOCAL_IAM=0: admin).
    account = start_account(parameters, root_key=keys.root, iam=iam_enabled(), aws_port=aws_port, function_env=offline)
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "atende-local")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Atende")

    if upstream is None:
        seed(keys, upstream_base_url=os.environ.get("OPENAI_BASE_URL"), upstream_api_key=os.environ["OPENAI_API_KEY"])
    else:
        seed(keys, upstream_base_url=upstream.base_url, upstream_api_key=OFFLINE_API_KEY)

    emulator = ApiGatewayEmulator(account.containers, stage="local")
    app = emulator if account.containers.log is None else invocation_log.serving(emulator, account.containers.log)
    api = make_server("127.0.0.1", port, app, threaded=True, request_handler=_ApiRequestHandler)
    threading.Thread(target=api.serve_forever, name="atende-api", daemon=True).start()
    # CloudWatch alarms are evaluated here (moto stores them but never fires them); ATENDE_ALARM_INTERVAL_SECONDS.
    interval = float(os.environ.get("ATENDE_ALARM_INTERVAL_SECONDS", "10"))
    alarms = AlarmEvaluator(account.containers, stage="local", parameters=parameters, interval=interval).start()
    return LocalStack(account, upstream, api, keys, emulator, alarms)


def main() -> int:
    try:  # before anything starts: a key that can never work is refused, not printed
        keys = demo_keys()
    except InvalidLocalKey as error:
        print(f"make dev: {error}", file=sys.stderr, flush=True)
        return 2
    port = int(os.environ.get("PORT", "3000"))
    stack = start(port, keys=keys)
    mode = (
        "OpenAI (OPENAI_API_KEY is set)" if stack.upstream is None else f"offline upstream at {stack.upstream.base_url}"
    )
    admin = stack.aws.credentials  # the functions have their own roles' keys; these may do anything
    if stack.account.external:
        aws_mode = "external, ATENDE_AWS_ENDPOINT_URL"
    else:
        aws_mode = "embedded moto, strict DynamoDB" if stack.aws.strict else "embedded moto"
    print(
        f"""
Atende is running at {stack.url}
  OpenAI-compatible base URL: {stack.url}/v1
  API docs:                   {stack.url}/docs
  console:                    {stack.url}/console  (sign in with the demo admin key, or the root key)
  model provider:             {mode}
  AWS endpoint:               {stack.aws.endpoint} ({aws_mode})
  AWS admin keys:             {admin["AWS_ACCESS_KEY_ID"]} / {admin["AWS_SECRET_ACCESS_KEY"]}

  operator root key: {stack.keys.root}
  demo admin key:    {stack.keys.admin}
  demo chat key:     {stack.keys.chat}

Try: curl -H "Authorization: Bearer {stack.keys.admin}" {stack.url}/v1/bots
Ctrl-C stops it.""",
        flush=True,
    )
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    print("stopping Atende…", flush=True)
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
