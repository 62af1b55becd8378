"""Screenshots of the console's main screens, with the demo data, into docs/console/ (`make screenshots`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from devtools.aws_local import free_port
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.stack import start

OUT = Path(__file__).resolve().parents[1] / "docs" / "console"
WAIT_MS = 60_000


def _section(page: Page, name: str) -> None:
    page.get_by_role("navigation").get_by_role("button", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=2, name=name)).to_be_visible()


def _shoot(page: Page, name: str) -> None:
    page.screenshot(path=OUT / f"{name}.png", full_page=False)
    print(f"wrote docs/console/{name}.png", flush=True)


def take(url: str, admin_key: str, root_key: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 860})
        page.set_default_timeout(WAIT_MS)
        page.goto(url + "/console")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        _shoot(page, "sign-in")
        page.get_by_label("API key").fill(admin_key)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="demo", exact=True)).to_be_visible()
        expect(page.locator(".bot-name").first).to_have_text(re.compile(".+"))
        _shoot(page, "bots")
        page.get_by_role("button", name="demo", exact=True).click()
        for message in ("¿Cuánto cuesta el envío?", "Quiero hablar con una persona"):
            count = page.locator(".turn").count()
            page.locator("#pg-message").fill(message)
            page.get_by_role("button", name="Send").click()
            expect(page.locator(".turn")).to_have_count(count + 1)
        _shoot(page, "bot-editor-and-playground")
        _section(page, "Usage")
        expect(page.locator(".chart canvas").first).to_be_visible()
        _shoot(page, "usage")
        _section(page, "API keys")
        expect(page.locator("tr[data-key]").first).to_be_visible()
        _shoot(page, "keys")
        _section(page, "Limits")
        expect(page.locator(".effective-daily_budget_usd")).to_be_visible()
        _shoot(page, "limits")
        _section(page, "Audit log")
        expect(page.locator(".audit-entry").first).to_be_visible()
        _shoot(page, "audit")
        page.get_by_role("button", name="Sign out").click()
        page.get_by_label("API key").fill(root_key)
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("tr[data-tenant]").first).to_be_visible()
        _shoot(page, "operator-tenants")
        browser.close()


def main() -> int:
    stack = start(free_port())
    try:
        take(stack.url, stack.keys.admin, stack.keys.root)
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
