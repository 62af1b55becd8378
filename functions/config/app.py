"""Config function: tenants (operator), bots, API keys, provider credentials, audit, the API docs and the console."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from atende.access.keys import Caller, Scope
from atende.access.standing import require_standing
from atende.admin import audit, bots, credentials, keys, limits, tenants
from atende.console.assets import INDEX, console_asset
from atende.models.bots import Bot, BotCreate, BotPatch, BotReplace
from atende.models.credentials import CredentialInfo, CredentialPut, ProviderName
from atende.models.keys import KeyCreate, KeyCreated, KeyInfo
from atende.models.limits import LimitsSpec, LimitsView, OperatorLimitsSpec, UsageReport
from atende.models.tenants import SuspendRequest, Tenant, TenantCreate, TenantPatch
from atende.platform.errors import NotFound
from atende.platform.observability import logger
from atende.web.docs import openapi_document, swagger_html
from atende.web.http import caller, header, json_response, make_resolver
from atende.web.statuses import documented

app = make_resolver()

TenantId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
BotId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


def operator() -> Caller:
    who = caller(app)
    who.require(Scope.OPERATOR)
    return who


def admin() -> Caller:
    who = caller(app)
    who.require(Scope.ADMIN)
    return who


def admin_writer() -> Caller:
    """An admin about to change something: re-checked past the auth cache (a key revoked a moment ago, a tenant
    deleted), so no write, and no new key, comes from a key that no longer stands."""
    who = admin()
    require_standing(who)
    return who


def _bot_response(bot: Bot, status: int = 200) -> Response[Bot]:
    return json_response(bot, status, {"ETag": f'"{bot.version}"'})


# --- API documentation (no key needed) -------------------------------------------------------------
@app.get("/openapi.json", include_in_schema=False)
def get_openapi() -> Response[dict]:
    return json_response(openapi_document())


@app.get("/docs", include_in_schema=False)
def get_docs() -> Response[str]:
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=swagger_html("openapi.json"))


# --- the web console (static files; no key needed to load them, every API call it makes sends one) ------
def _console_file(name: str) -> Response[str]:
    asset = console_asset(name)
    if asset is None:
        raise NotFound(f"The console has no file '{name}'.", param="asset")
    if header(app, "If-None-Match") == asset.etag:
        return Response(status_code=304, body="", headers=asset.headers())
    return Response(status_code=200, content_type=asset.content_type, body=asset.body, headers=asset.headers())


@app.get("/console", include_in_schema=False)
def get_console() -> Response[str]:
    return _console_file(INDEX)


@app.get("/console/<asset>", include_in_schema=False)
def get_console_asset(asset: str) -> Response[str]:
    return _console_file(asset)


# --- operator: tenants -----------------------------------------------------------------------------
@app.post("/v1/admin/tenants", tags=["operator"], responses=documented(201, 409, body=True))
def create_tenant(body: Annotated[TenantCreate, Body()]) -> Response[Tenant]:
    return json_response(tenants.create_tenant(operator(), body), 201)


@app.get("/v1/admin/tenants", tags=["operator"], responses=documented(200))
def list_tenants() -> Response[dict]:
    return json_response({"object": "list", "data": [t.model_dump() for t in tenants.list_tenants(caller(app))]})


@app.get("/v1/admin/tenants/<tenant>", tags=["operator"], responses=documented(200, 400, 404))
def get_tenant(tenant: TenantId) -> Response[Tenant]:
    return json_response(tenants.get_tenant(caller(app), tenant))


@app.patch("/v1/admin/tenants/<tenant>", tags=["operator"], responses=documented(200, 404, body=True))
def patch_tenant(tenant: TenantId, body: Annotated[TenantPatch, Body()]) -> Response[Tenant]:
    return json_response(tenants.update_tenant(operator(), tenant, body))


@app.delete("/v1/admin/tenants/<tenant>", tags=["operator"], responses=documented(200, 400, 404))
def delete_tenant(tenant: TenantId) -> Response[dict]:
    return json_response(tenants.delete_tenant(operator(), tenant))


@app.post("/v1/admin/tenants/<tenant>/suspend", tags=["operator"], responses=documented(200, 404, body=True))
def suspend_tenant(tenant: TenantId, body: Annotated[SuspendRequest | None, Body()] = None) -> Response[Tenant]:
    return json_response(tenants.set_status(operator(), tenant, body or SuspendRequest()))


@app.post("/v1/admin/tenants/<tenant>/resume", tags=["operator"], responses=documented(200, 404, body=True))
def resume_tenant(tenant: TenantId) -> Response[Tenant]:
    return json_response(tenants.set_status(operator(), tenant, None))


@app.post("/v1/admin/tenants/<tenant>/keys", tags=["operator"], responses=documented(201, 404, body=True))
def issue_tenant_key(tenant: TenantId, body: Annotated[KeyCreate | None, Body()] = None) -> Response[KeyCreated]:
    request = body or KeyCreate(label="first admin key", scopes=["admin", "chat", "moderate"])
    return json_response(tenants.issue_admin_key(operator(), tenant, request), 201)


@app.get("/v1/admin/tenants/<tenant>/limits", tags=["operator"], responses=documented(200, 400, 404))
def get_tenant_limits(tenant: TenantId) -> Response[LimitsView]:
    return json_response(limits.get_limits(operator(), tenant))


@app.put("/v1/admin/tenants/<tenant>/limits", tags=["operator"], responses=documented(200, 404, body=True))
def put_tenant_limits(tenant: TenantId, body: Annotated[OperatorLimitsSpec, Body()]) -> Response[LimitsView]:
    return json_response(limits.put_limits(operator(), tenant, body, operator=True))


# --- tenant admin: bots ----------------------------------------------------------------------------
@app.get("/v1/bots", tags=["bots"], responses=documented(200))
def list_bots() -> Response[dict]:
    who = admin()
    return json_response({"object": "list", "data": [b.model_dump(mode="json") for b in bots.list_bots(who.tenant_id)]})


@app.post("/v1/bots", tags=["bots"], responses=documented(201, 409, body=True))
def create_bot(body: Annotated[BotCreate, Body()]) -> Response[Bot]:
    return _bot_response(bots.create_bot(admin_writer(), body), 201)


@app.get("/v1/bots/<bot>", tags=["bots"], responses=documented(200, 400, 404))
def get_bot(bot: BotId) -> Response[Bot]:
    return _bot_response(bots.get_bot(admin().tenant_id, bot))


@app.put("/v1/bots/<bot>", tags=["bots"], responses=documented(200, 404, 409, 412, 428, body=True))
def replace_bot(bot: BotId, body: Annotated[BotReplace, Body()]) -> Response[Bot]:
    return _bot_response(bots.replace_bot(admin_writer(), bot, body, header(app, "If-Match")))


@app.patch("/v1/bots/<bot>", tags=["bots"], responses=documented(200, 404, 409, 412, 428, body=True))
def patch_bot(bot: BotId, body: Annotated[BotPatch, Body()]) -> Response[Bot]:
    return _bot_response(bots.patch_bot(admin_writer(), bot, body, header(app, "If-Match")))


@app.delete("/v1/bots/<bot>", tags=["bots"], responses=documented(200, 400, 404))
def delete_bot(bot: BotId) -> Response[dict]:
    bots.delete_bot(admin_writer(), bot)
    return json_response({"id": bot, "deleted": True})


# --- tenant admin: API keys ------------------------------------------------------------------------
@app.get("/v1/keys", tags=["keys"], responses=documented(200))
def list_keys() -> Response[dict]:
    who = admin()
    return json_response({"object": "list", "data": [k.model_dump() for k in keys.list_keys(who.tenant_id)]})


@app.post("/v1/keys", tags=["keys"], responses=documented(201, body=True))
def create_key(body: Annotated[KeyCreate, Body()]) -> Response[KeyCreated]:
    who = admin_writer()
    return json_response(keys.issue_key(who, who.tenant_id, body), 201)


@app.delete("/v1/keys/<key_id>", tags=["keys"], responses=documented(200, 400, 404))
def revoke_key(key_id: Annotated[str, Path(pattern=r"^key_[a-f0-9]{12}$")]) -> Response[KeyInfo]:
    who = admin_writer()
    return json_response(keys.revoke_key(who, who.tenant_id, key_id))


# --- tenant admin: provider credentials (write-only) -----------------------------------------------
@app.get("/v1/credentials", tags=["credentials"], responses=documented(200))
def list_credentials() -> Response[dict]:
    who = admin()
    return json_response(
        {"object": "list", "data": [c.model_dump() for c in credentials.list_credentials(who.tenant_id)]}
    )


@app.get("/v1/credentials/<provider>", tags=["credentials"], responses=documented(200, 400, 404))
def get_credential(provider: Annotated[ProviderName, Path()]) -> Response[CredentialInfo]:
    return json_response(credentials.describe_credential(admin().tenant_id, provider))


@app.put("/v1/credentials/<provider>", tags=["credentials"], responses=documented(200, 404, body=True))
def put_credential(
    provider: Annotated[ProviderName, Path()], body: Annotated[CredentialPut, Body()]
) -> Response[CredentialInfo]:
    return json_response(credentials.store_credential(admin_writer(), provider, body))


@app.delete("/v1/credentials/<provider>", tags=["credentials"], responses=documented(200, 400, 404))
def delete_credential(provider: Annotated[ProviderName, Path()]) -> Response[dict]:
    credentials.remove_credential(admin_writer(), provider)
    return json_response({"provider": provider, "deleted": True})


# --- tenant admin: limits and usage ---------------------------------------------------------------
@app.get("/v1/limits", tags=["limits"], responses=documented(200))
def get_limits() -> Response[LimitsView]:
    who = admin()
    return json_response(limits.get_limits(who, who.tenant_id))


@app.put("/v1/limits", tags=["limits"], responses=documented(200, body=True))
def put_limits(body: Annotated[LimitsSpec, Body()]) -> Response[LimitsView]:
    who = admin_writer()
    return json_response(limits.put_limits(who, who.tenant_id, body, operator=False))


@app.get("/v1/usage", tags=["limits"], responses=documented(200, 400))
def get_usage(
    period: Annotated[str | None, Query(max_length=10, description="YYYY-MM or YYYY-MM-DD (UTC)")] = None,
) -> Response[UsageReport]:
    return json_response(limits.get_usage(admin().tenant_id, period))


# --- tenant admin: audit ---------------------------------------------------------------------------
@app.get("/v1/audit", tags=["audit"], responses=documented(200, 400))
def list_audit(
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[str | None, Query(max_length=40)] = None,
) -> Response[dict]:
    who = admin()
    return json_response({"object": "list", "data": audit.list_audit(who.tenant_id, limit=limit, before=before)})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True, log_event=False)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
