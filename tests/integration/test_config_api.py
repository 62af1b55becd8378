"""Config service through the API Gateway emulator: tenants, bots, keys, credentials, audit, isolation."""

from __future__ import annotations

import threading

from tests.support import ApiClient, TenantHandle


def _bot(bot_id: str = "shop", **extra: object) -> dict:
    return {"id": bot_id, "rules": "Be kind.", "knowledge_base": "We ship in 3 days.", **extra}


def test_operator_creates_lists_suspends_and_resumes_a_tenant(api: ApiClient, root_key: str) -> None:
    created = api.call("POST", "/v1/admin/tenants", key=root_key, json_body={"name": "Acme", "retention_days": 7})
    assert created.status == 201, created.text
    tenant_id = created.json["id"]
    assert created.json["status"] == "active" and created.json["retention_days"] == 7

    listed = api.call("GET", "/v1/admin/tenants", key=root_key)
    assert tenant_id in [t["id"] for t in listed.json["data"]]

    suspended = api.call("POST", f"/v1/admin/tenants/{tenant_id}/suspend", key=root_key, json_body={"reason": "unpaid"})
    assert suspended.json["status"] == "suspended" and suspended.json["status_reason"] == "unpaid"
    resumed = api.call("POST", f"/v1/admin/tenants/{tenant_id}/resume", key=root_key)
    assert resumed.json["status"] == "active"

    patched = api.call("PATCH", f"/v1/admin/tenants/{tenant_id}", key=root_key, json_body={"name": "Acme SA"})
    assert patched.json["name"] == "Acme SA"

    deleted = api.call("DELETE", f"/v1/admin/tenants/{tenant_id}", key=root_key)
    assert deleted.status == 200 and deleted.json["deleted"] is True
    assert api.call("GET", f"/v1/admin/tenants/{tenant_id}", key=root_key).status == 404


def test_duplicate_tenant_id_is_a_conflict(api: ApiClient, root_key: str, tenant: TenantHandle) -> None:
    again = api.call("POST", "/v1/admin/tenants", key=root_key, json_body={"id": tenant.id, "name": "x"})
    assert again.status == 409 and again.error["param"] == "id"


def test_tenant_admin_cannot_use_operator_routes(tenant: TenantHandle) -> None:
    answer = tenant.call("GET", "/v1/admin/tenants")
    assert answer.status == 403 and answer.error["code"] == "insufficient_scope"


def test_bot_crud_with_etag_and_versions(tenant: TenantHandle) -> None:
    created = tenant.call("POST", "/v1/bots", json_body=_bot(prompts={"short": "Two sentences."}))
    assert created.status == 201, created.text
    assert created.json["version"] == 1 and created.headers["ETag"] == '"1"'

    listed = tenant.call("GET", "/v1/bots")
    assert [b["id"] for b in listed.json["data"]] == ["shop"]

    patched = tenant.call("PATCH", "/v1/bots/shop", json_body={"version": 1, "sampling": {"temperature": 0.2}})
    assert patched.status == 200, patched.text
    assert patched.json["version"] == 2 and patched.json["sampling"]["temperature"] == 0.2
    assert patched.json["prompts"] == {"short": "Two sentences."}, "a patch keeps what it does not name"

    replaced = tenant.call("PUT", "/v1/bots/shop", json_body={"rules": "New rules."}, headers={"If-Match": '"2"'})
    assert replaced.status == 200, replaced.text
    assert replaced.json["version"] == 3 and replaced.json["prompts"] == {}, "a PUT replaces the whole bot"

    stale = tenant.call("PUT", "/v1/bots/shop", json_body={"rules": "x"}, headers={"If-Match": '"2"'})
    assert stale.status == 412
    stale_body = tenant.call("PATCH", "/v1/bots/shop", json_body={"version": 1, "rules": "x"})
    assert stale_body.status == 409 and stale_body.error["param"] == "version"
    no_version = tenant.call("PATCH", "/v1/bots/shop", json_body={"rules": "x"})
    assert no_version.status == 428 and no_version.error["param"] == "version"

    assert tenant.call("GET", "/v1/bots/shop").json["rules"] == "New rules."
    assert tenant.call("DELETE", "/v1/bots/shop").status == 200
    assert tenant.call("GET", "/v1/bots/shop").status == 404
    assert tenant.call("DELETE", "/v1/bots/shop").status == 404


def test_concurrent_updates_from_one_version_let_exactly_one_win(tenant: TenantHandle) -> None:
    assert tenant.call("POST", "/v1/bots", json_body=_bot("race")).status == 201
    results: list[int] = []
    barrier = threading.Barrier(2)

    def update(rules: str) -> None:
        barrier.wait()
        results.append(tenant.call("PATCH", "/v1/bots/race", json_body={"version": 1, "rules": rules}).status)

    threads = [threading.Thread(target=update, args=(f"rules {i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 409]
    final = tenant.call("GET", "/v1/bots/race").json
    assert final["version"] == 2 and final["rules"] in {"rules 0", "rules 1"}


def test_knowledge_base_size_is_bounded_per_tenant(api: ApiClient, root_key: str) -> None:
    from tests.support import create_tenant

    small = create_tenant(api, root_key, knowledge_base_max_chars=500)
    answer = small.call("POST", "/v1/bots", json_body=_bot(knowledge_base="x" * 501))
    assert answer.status == 400 and answer.error["param"] == "knowledge_base"
    assert small.call("POST", "/v1/bots", json_body=_bot(knowledge_base="x" * 500)).status == 201


def test_default_prompts_must_name_existing_prompts(tenant: TenantHandle) -> None:
    answer = tenant.call("POST", "/v1/bots", json_body=_bot(default_prompts=["missing"]))
    assert answer.status == 400 and answer.error["param"] == "default_prompts"


def test_keys_are_shown_once_listed_by_prefix_and_revocable(tenant: TenantHandle) -> None:
    created = tenant.call("POST", "/v1/keys", json_body={"label": "zapier", "scopes": ["admin"]})
    assert created.status == 201
    key = created.json["key"]
    assert key.startswith("atd_") and len(key) >= 36
    listed = tenant.call("GET", "/v1/keys")
    assert key not in listed.text
    mine = [k for k in listed.json["data"] if k["id"] == created.json["id"]]
    assert mine[0]["prefix"] == key[:12] and mine[0]["revoked_at"] is None

    revoked = tenant.call("DELETE", f"/v1/keys/{created.json['id']}")
    assert revoked.status == 200 and revoked.json["revoked_at"]
    # The suite runs with AUTH_CACHE_TTL_SECONDS=0: revocation is immediate.
    assert tenant.api.call("GET", "/v1/bots", key=key).status == 200 or True
    assert tenant.api.call("GET", "/v1/bots", key=key).status == 401


def test_chat_scope_key_is_refused_on_config_routes(tenant: TenantHandle) -> None:
    chat_key = tenant.new_key(["chat"])
    for method, path in (("GET", "/v1/bots"), ("POST", "/v1/keys"), ("GET", "/v1/audit"), ("GET", "/v1/credentials")):
        answer = tenant.api.call(method, path, key=chat_key, json_body={} if method == "POST" else None)
        assert answer.status == 403, (method, path, answer.text)
        assert answer.error["type"] == "permission_error"


def test_tenant_a_gets_404_for_everything_of_tenant_b(tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    assert other_tenant.call("POST", "/v1/bots", json_body=_bot("secret-bot")).status == 201
    key_id = other_tenant.call("POST", "/v1/keys", json_body={"scopes": ["chat"]}).json["id"]
    assert tenant.call("GET", "/v1/bots/secret-bot").status == 404
    assert tenant.call("PATCH", "/v1/bots/secret-bot", json_body={"version": 1, "rules": "x"}).status == 404
    assert tenant.call("DELETE", "/v1/bots/secret-bot").status == 404
    assert tenant.call("DELETE", f"/v1/keys/{key_id}").status == 404
    assert "secret-bot" not in tenant.call("GET", "/v1/bots").text
    assert key_id not in tenant.call("GET", "/v1/keys").text
    assert other_tenant.call("GET", "/v1/bots/secret-bot").status == 200, "B's bot is untouched"


def test_missing_and_wrong_keys_get_401_in_the_openai_envelope(api: ApiClient) -> None:
    for headers in ({}, {"Authorization": "Bearer atd_" + "x" * 40}, {"x-api-key": "nope"}):
        answer = api.call("GET", "/v1/bots", headers=headers)
        assert answer.status == 401, answer.text
        assert answer.error["type"] == "authentication_error"


def test_keys_work_from_x_api_key_and_query_only_when_allowed(tenant: TenantHandle) -> None:
    assert tenant.api.call("GET", "/v1/bots", headers={"x-api-key": tenant.admin_key}).status == 200
    assert tenant.api.call("GET", "/v1/bots", query={"api_key": tenant.admin_key}).status == 401
    query_key = tenant.new_key(["admin"], allow_query_param=True)
    assert tenant.api.call("GET", "/v1/bots", query={"api_key": query_key}).status == 200


def test_audit_records_every_change_without_values(tenant: TenantHandle) -> None:
    tenant.call("POST", "/v1/bots", json_body=_bot("audited"))
    tenant.call("PATCH", "/v1/bots/audited", json_body={"version": 1, "rules": "ROSEBUD-42"})
    tenant.call("DELETE", "/v1/bots/audited")
    entries = tenant.call("GET", "/v1/audit").json["data"]
    actions = [e["action"] for e in entries]
    assert actions[:3] == ["bot.delete", "bot.update", "bot.create"], actions
    update = entries[1]
    assert update["changed"] == ["rules"] and update["actor"] == tenant.admin_key[:12]
    assert "ROSEBUD-42" not in tenant.call("GET", "/v1/audit").text, "audit keeps field names, never values"


def test_openapi_document_and_docs_need_no_key(api: ApiClient) -> None:
    spec = api.call("GET", "/openapi.json")
    assert spec.status == 200
    paths = spec.json["paths"]
    assert "/v1/bots" in paths and "/v1/chat/completions" in paths and "/v1/moderations" in paths
    docs = api.call("GET", "/docs")
    assert docs.status == 200 and "swagger-ui" in docs.text and "openapi.json" in docs.text


def test_a_bot_read_with_get_can_be_put_back_unchanged(tenant: TenantHandle) -> None:
    assert tenant.call("POST", "/v1/bots", json_body=_bot("roundtrip")).status == 201
    read = tenant.call("GET", "/v1/bots/roundtrip").json
    written = tenant.call("PUT", "/v1/bots/roundtrip", json_body=read)
    assert written.status == 200, written.text
    assert written.json["version"] == 2 and written.json["rules"] == read["rules"]
    mismatch = tenant.call("PUT", "/v1/bots/roundtrip", json_body={**written.json, "id": "other"})
    assert mismatch.status == 400 and mismatch.error["param"] == "id"


def test_patches_that_together_outgrow_a_stored_bot_are_refused_with_413(api: ApiClient, root_key: str) -> None:
    """Each PATCH is under the request limit; their sum would be over DynamoDB's item limit (a 500 before)."""
    import json

    from tests.support import create_tenant

    tenant = create_tenant(api, root_key, knowledge_base_max_chars=200_000)
    assert tenant.call("POST", "/v1/bots", json_body=_bot()).status == 201
    # 95,000 characters but 190 KB stored (UTF-8 bytes are what count), sent unescaped to stay under 256 KB.
    body = json.dumps({"version": 1, "knowledge_base": "ñ" * 95_000}, ensure_ascii=False).encode()
    grown = tenant.call("PATCH", "/v1/bots/shop", data=body, headers={"Content-Type": "application/json"})
    assert grown.status == 200, grown.text

    prompts = {f"p{i}": "x" * 20_000 for i in range(9)}  # 180 KB more
    refused = tenant.call("PATCH", "/v1/bots/shop", json_body={"version": 2, "prompts": prompts})
    assert refused.status == 413, refused.text
    assert refused.error["param"] == "knowledge_base" and refused.error["code"] == "bot_too_large"
    assert "knowledge_base" in refused.error["message"] and "KB" in refused.error["message"]

    replaced = tenant.call(
        "PUT",
        "/v1/bots/shop",
        json_body={"rules": "r", "knowledge_base": "k", "prompts": prompts},
        headers={"If-Match": '"2"'},
    )
    assert replaced.status == 200, "the same prompts fit once the knowledge base is small"
    assert tenant.call("GET", "/v1/bots/shop").json["version"] == 3
