"""Browser fixtures: the system Chromium, driven by Playwright, against the local stack the e2e tests start."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.conftest import LocalStack, local_stack  # noqa: F401  (the stack fixture, shared)

WAIT_MS = 30_000  # the stack's first call to a function starts its container: slow on a loaded machine
expect.set_options(timeout=WAIT_MS)  # every wait is on an element or an answer, never a sleep


@pytest.fixture(scope="session")
def browser(request: pytest.FixtureRequest) -> Iterator[Browser]:
    """Chromium once per session; Playwright starts it on a new, empty profile (a temporary user-data-dir).

    It depends on the stack so that it closes first: its idle keep-alive connections would otherwise hold the
    stack's server threads, and the stack could not stop on SIGTERM.
    """
    request.getfixturevalue("local_stack")
    if not shutil.which(CHROMIUM):
        message = f"no Chromium at {CHROMIUM}: `apt-get install chromium chromium-driver` (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: a missing browser there is a failure, never a skip
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A new tab in its own context (its own sessionStorage), English, failing on any script error."""
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("dialog", lambda dialog: dialog.accept())  # the console confirms deletions and revocations
    yield tab
    context.close()
    assert errors == [], errors
