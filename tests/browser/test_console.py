"""The console in a real browser (headless Chromium) against the local stack: the acceptance flow and its edges."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e


def sign_in(page: Page, stack: LocalStack, key: str) -> None:
    page.goto(stack.url + "/console")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def section(page: Page, name: str) -> None:
    page.get_by_role("navigation").get_by_role("button", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=2, name=name)).to_be_focused()


def open_bot(page: Page, bot_id: str) -> None:
    section(page, "Bots")
    page.get_by_role("button", name=bot_id, exact=True).click()
    expect(page.locator(".bot-id")).to_have_text(bot_id)


def chat(page: Page, message: str) -> None:
    turns = page.locator(".turn").count()
    page.locator("#pg-message").fill(message)
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".turn")).to_have_count(turns + 1)


def test_acceptance_flow_from_sign_in_to_the_audit_log(page: Page, local_stack: LocalStack) -> None:
    bot_id = "shop-" + secrets.token_hex(3)
    sign_in(page, local_stack, local_stack.admin_key)
    assert page.evaluate("sessionStorage.getItem('atende.console.key')") == local_stack.admin_key
    assert page.evaluate("localStorage.length") == 0 and page.evaluate("document.cookie") == ""

    # Create a bot with a persona and a knowledge base.
    form = page.get_by_role("form", name="New bot")
    form.get_by_label("Id").fill(bot_id)
    form.get_by_label("Name").fill("Tienda Sol")
    form.get_by_label("Persona rules").fill("Eres la asistente de Tienda Sol. Responde breve y con amabilidad.")
    form.get_by_label("Knowledge base").fill(
        "Horario: de lunes a viernes de 9:00 a 18:00.\n\nEnvíos: gratis desde $50."
    )
    form.get_by_role("button", name="Create bot").click()
    expect(page.locator(".bot-id")).to_have_text(bot_id)
    expect(page.locator(".count")).to_have_text(re.compile(r"^\d+ characters$"))

    # A handoff keyword, saved through the editor.
    page.get_by_label("Handoff keywords").fill("hablar con una persona")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved: version 2")).to_be_visible()
    stored = local_stack.request("GET", f"/v1/bots/{bot_id}", key=local_stack.admin_key).json()
    assert stored["handoff"]["keywords"] == ["hablar con una persona"]
    assert stored["rules"].startswith("Eres la asistente de Tienda Sol")

    # Chat in the playground: a reply from the model, then a handoff.
    chat(page, "¿Cuál es el horario de atención?")
    first = page.locator(".turn").nth(0)
    expect(first.locator(".reply-text")).not_to_be_empty()
    expect(first.locator(".source")).to_have_text("model")
    expect(first.locator(".handoff")).to_have_text("no")
    expect(first.locator(".tokens")).to_have_text(re.compile(r"^[1-9]\d* → \d+$"))
    chat(page, "Quiero hablar con una persona, por favor")
    second = page.locator(".turn").nth(1)
    expect(second.locator(".handoff")).to_have_text(re.compile(r"^yes"))
    expect(second.locator(".source")).to_have_text("handoff")

    # A daily budget.
    section(page, "Limits")
    page.get_by_label("Daily budget (USD)").fill("5")
    page.get_by_role("form", name="Set limits").get_by_role("button", name="Save").click()
    expect(page.locator(".effective-daily_budget_usd")).to_have_text("5")
    assert local_stack.request("GET", "/v1/limits", key=local_stack.admin_key).json()["limits"]["daily_budget_usd"] == 5

    # The usage charts count the bot's turns, as the API does.
    section(page, "Usage")
    usage = local_stack.request("GET", "/v1/usage", key=local_stack.admin_key).json()
    turns = usage["by_bot"][bot_id]["requests"]
    assert turns >= 1
    expect(page.get_by_role("table", name="By bot").locator(f'tr[data-row="{bot_id}"] .requests')).to_have_text(
        str(turns)
    )
    turns_per_day = page.get_by_role("table", name="Turns per day")
    for day, totals in usage["by_day"].items():
        expect(turns_per_day.get_by_role("row", name=day)).to_contain_text(str(totals["requests"]))
    expect(page.locator(".chart canvas").first).to_be_visible()  # the uPlot chart itself is drawn

    # Create a key (shown once), then revoke it.
    section(page, "API keys")
    page.get_by_label("Label").fill("integración ci")
    page.get_by_role("button", name="Create key").click()
    new_key = page.get_by_test_id("new-key")
    expect(new_key).to_have_text(re.compile(r"^atd_"))
    key = new_key.inner_text()
    assert local_stack.request("GET", "/v1/models", key=key).status_code == 200
    row = page.get_by_role("row").filter(has_text="integración ci")
    row.get_by_role("button", name="Revoke integración ci").click()
    expect(row.locator(".key-status")).to_have_text(re.compile(r"^revoked"))
    listed = local_stack.request("GET", "/v1/keys", key=local_stack.admin_key).json()["data"]
    assert [k["revoked_at"] is not None for k in listed if k["label"] == "integración ci"] == [True]

    # The audit log lists those changes, newest first.
    section(page, "Audit log")
    actions = page.locator(".audit-entry .action")
    expect(actions.first).to_have_text("key.revoke")
    shown = actions.all_inner_texts()
    for action in ("key.revoke", "key.create", "limits.update", "bot.update", "bot.create"):
        assert action in shown, (action, shown)
    assert (
        shown.index("key.revoke") < shown.index("limits.update") < shown.index("bot.update") < shown.index("bot.create")
    )


def test_content_written_by_tenants_and_customers_is_shown_as_text(page: Page, local_stack: LocalStack) -> None:
    bot_id = "xss-" + secrets.token_hex(3)
    payload = "<img src=x onerror=alert(1)>"
    created = local_stack.request(
        "POST", "/v1/bots", key=local_stack.admin_key, json={"id": bot_id, "name": payload, "knowledge_base": payload}
    )
    assert created.status_code == 201, created.text
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    sign_in(page, local_stack, local_stack.admin_key)
    name = page.get_by_role("row").filter(has=page.get_by_role("button", name=bot_id, exact=True)).locator(".bot-name")
    expect(name).to_have_text(payload)
    assert name.locator("img").count() == 0
    open_bot(page, bot_id)
    expect(page.get_by_label("Name", exact=True)).to_have_value(payload)
    chat(page, "<script>alert(2)</script><b>hola</b>")
    expect(page.locator(".turn .customer")).to_contain_text("<script>alert(2)</script><b>hola</b>")
    assert page.locator(".turns img, .turns script, .turns b").count() == 0
    assert dialogs == []


def test_a_bot_changed_by_someone_else_is_not_overwritten(page: Page, local_stack: LocalStack) -> None:
    bot_id = "lock-" + secrets.token_hex(3)
    admin = local_stack.admin_key
    assert local_stack.request("POST", "/v1/bots", key=admin, json={"id": bot_id, "rules": "v1"}).status_code == 201
    sign_in(page, local_stack, admin)
    open_bot(page, bot_id)
    expect(page.get_by_test_id("bot-version")).to_have_text("1")

    # Someone else saves while this editor still shows version 1.
    other = local_stack.request("PATCH", f"/v1/bots/{bot_id}", key=admin, json={"version": 1, "rules": "their rules"})
    assert other.status_code == 200, other.text
    page.get_by_label("Persona rules").fill("my rules")
    page.get_by_role("button", name="Save").click()
    conflict = page.get_by_role("alert").filter(has_text="changed by someone else")
    expect(conflict).to_be_visible()
    assert local_stack.request("GET", f"/v1/bots/{bot_id}", key=admin).json()["rules"] == "their rules"

    conflict.get_by_role("button", name="Reload").click()
    expect(page.get_by_test_id("bot-version")).to_have_text("2")
    expect(page.get_by_label("Persona rules")).to_have_value("their rules")
    page.get_by_label("Persona rules").fill("my rules, on top of theirs")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved: version 3")).to_be_visible()


def test_a_validation_error_is_shown_on_the_field_it_names(page: Page, local_stack: LocalStack) -> None:
    bot_id = "valid-" + secrets.token_hex(3)
    assert local_stack.request("POST", "/v1/bots", key=local_stack.admin_key, json={"id": bot_id}).status_code == 201
    sign_in(page, local_stack, local_stack.admin_key)
    open_bot(page, bot_id)
    page.get_by_label("Temperature").fill("5")
    page.get_by_role("button", name="Save").click()
    field = page.locator('[data-field="bot-sampling-temperature"]')
    expect(field.locator(".field-error")).to_contain_text("2")
    expect(page.get_by_label("Temperature")).to_have_attribute("aria-invalid", "true")
    assert page.locator(".field-error").count() == 1
    assert local_stack.request("GET", f"/v1/bots/{bot_id}", key=local_stack.admin_key).json()["version"] == 1


def test_operator_creates_suspends_resumes_caps_and_deletes_a_tenant(page: Page, local_stack: LocalStack) -> None:
    tenant = "t-" + secrets.token_hex(3)
    sign_in(page, local_stack, local_stack.root_key)
    expect(page.get_by_role("heading", level=2, name="Tenants")).to_be_visible()
    form = page.get_by_role("form", name="New tenant")
    form.get_by_label("Id").fill(tenant)
    form.get_by_label("Name").fill("Loja Azul")
    form.get_by_role("button", name="Create tenant").click()
    row = page.locator(f'tr[data-tenant="{tenant}"]')
    expect(row.locator(".tenant-status")).to_have_text("active")
    row.get_by_role("button", name="Suspend").click()
    expect(row.locator(".tenant-status")).to_contain_text("suspended")
    row.get_by_role("button", name="Resume").click()
    expect(row.locator(".tenant-status")).to_have_text("active")
    row.get_by_role("button", name="Caps").click()
    caps = page.get_by_role("form", name=f"Caps: {tenant}")
    caps.get_by_label("Monthly budget (USD)").fill("100")
    caps.get_by_role("button", name="Save").click()
    expect(caps.get_by_role("status")).to_have_text("Saved.")
    limits = local_stack.request("GET", f"/v1/admin/tenants/{tenant}/limits", key=local_stack.root_key).json()
    assert limits["operator_caps"]["monthly_budget_usd"] == 100
    row.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    assert local_stack.request("GET", f"/v1/admin/tenants/{tenant}", key=local_stack.root_key).status_code == 404


def test_the_language_follows_the_browser_and_the_switch(browser, local_stack: LocalStack) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="pt-BR")
    tab = context.new_page()
    tab.goto(local_stack.url + "/console")
    expect(tab.get_by_role("button", name="Entrar")).to_be_visible()
    expect(tab.locator("html")).to_have_attribute("lang", "pt")
    tab.get_by_label("Idioma").select_option("es")
    expect(tab.get_by_label("Clave de API")).to_be_visible()
    expect(tab.locator("html")).to_have_attribute("lang", "es")
    context.close()


def test_the_console_is_served_with_a_strict_policy_and_cache_headers(local_stack: LocalStack) -> None:
    page = local_stack.request("GET", "/console")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-cache"
    module = local_stack.request("GET", "/console/app.mjs")
    assert module.status_code == 200 and module.headers["Content-Type"].startswith("text/javascript")
    again = local_stack.request("GET", "/console/app.mjs", headers={"If-None-Match": module.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    missing = local_stack.request("GET", "/console/nothing.mjs")
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "asset"


def test_credentials_are_write_only_and_conversations_can_be_read_and_erased(
    page: Page, local_stack: LocalStack
) -> None:
    admin = local_stack.admin_key
    provider = "p" + secrets.token_hex(3)
    secret = "sk-console-" + secrets.token_hex(12)
    sign_in(page, local_stack, admin)

    section(page, "Provider credentials")
    form = page.get_by_role("form", name="Store a credential")
    form.get_by_label("Provider").fill(provider)
    form.get_by_label("API key").fill(secret)
    form.get_by_label("base_url").fill("not a url")
    form.get_by_role("button", name="Store").click()
    expect(form.locator(".field.invalid .field-error")).to_be_visible()  # on base_url, the field the API names
    expect(form.get_by_label("base_url")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("base_url").fill("http://127.0.0.1:9/v1")
    form.get_by_role("button", name="Store").click()
    row = page.get_by_role("row").filter(has_text=provider)
    expect(row).to_contain_text(secret[-4:])
    assert secret not in page.content()  # only the mask comes back, and the form is cleared
    assert form.get_by_label("API key").input_value() == ""

    # A conversation started in the playground, opened by id, then erased.
    open_bot(page, "demo")
    chat(page, "¿Hacen envíos?")
    conversation = page.get_by_test_id("conversation-id").inner_text()
    section(page, "Conversations")
    page.get_by_role("textbox", name="Bot", exact=True).fill("demo")
    page.get_by_role("textbox", name="Conversation", exact=True).fill(conversation)
    page.get_by_role("button", name="Open").click()
    expect(page.locator(".transcript li").first).to_contain_text("¿Hacen envíos?")
    page.get_by_role("button", name="Erase conversation").click()
    expect(page.get_by_role("status").filter(has_text="Conversation erased.")).to_be_visible()
    stored = local_stack.request("GET", f"/v1/bots/demo/conversations/{conversation}", key=admin)
    assert stored.status_code == 404 or stored.json()["messages"] == [], stored.text


def test_the_audit_log_pages_back_and_forth(page: Page, local_stack: LocalStack) -> None:
    admin = local_stack.admin_key
    labels = [f"page-{secrets.token_hex(2)}-{i:02d}" for i in range(21)]  # more than one page of 20
    for label in labels:
        assert local_stack.request("POST", "/v1/keys", key=admin, json={"label": label}).status_code == 201
    newest = local_stack.request("GET", "/v1/audit?limit=40", key=admin).json()["data"]
    sign_in(page, local_stack, admin)
    section(page, "Audit log")
    entries = page.locator(".audit-entry")
    expect(entries).to_have_count(20)
    expect(page.get_by_role("button", name="Newer")).to_be_disabled()
    first_page = entries.locator("td:nth-child(4)").all_inner_texts()
    assert first_page == [e["target"] for e in newest[:20]]
    page.get_by_role("button", name="Older").click()
    expect(entries.first.locator("td:nth-child(4)")).to_have_text(newest[20]["target"])
    page.get_by_role("button", name="Newer").click()
    expect(entries.first.locator("td:nth-child(4)")).to_have_text(newest[0]["target"])


def test_signing_in_and_moving_between_sections_works_from_the_keyboard(page: Page, local_stack: LocalStack) -> None:
    page.goto(local_stack.url + "/console")
    key_field = page.get_by_label("API key")
    expect(key_field).to_be_visible()
    page.keyboard.press("Tab")  # the focus order: the skip link, the language, then the key
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Language")).to_be_focused()
    page.keyboard.press("Tab")
    expect(key_field).to_be_focused()
    page.keyboard.type(local_stack.admin_key)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=2, name="Bots")).to_be_focused()
    page.get_by_role("navigation").get_by_role("button", name="Usage").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=2, name="Usage")).to_be_focused()
    assert page.evaluate("sessionStorage.getItem('atende.console.key')") == local_stack.admin_key
    page.get_by_role("button", name="Sign out").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('atende.console.key')") is None
