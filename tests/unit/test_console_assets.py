"""The console's shipped files: what the page may load, the size budget, the vendored hashes, the safe headers."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pytest

from atende.console.assets import CONTENT_SECURITY_POLICY, INDEX, console_asset

CONSOLE = Path(__file__).resolve().parents[2] / "layers" / "core" / "atende" / "console"
STATIC = CONSOLE / "static"
BUDGET_GZIP_BYTES = 300 * 1024
OWN_MODULES = sorted(p for p in STATIC.glob("*.mjs") if p.name != "preact-htm.mjs")


def test_everything_shipped_fits_the_gzip_budget() -> None:
    total = sum(len(gzip.compress(p.read_bytes(), 9)) for p in STATIC.iterdir())
    assert 0 < total < BUDGET_GZIP_BYTES


def test_vendored_files_match_the_hashes_their_readme_lists() -> None:
    listed = dict(
        re.findall(r"^\| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", (CONSOLE / "licenses" / "README.md").read_text(), re.M)
    )
    assert set(listed) == {"preact-htm.mjs", "uplot.min.js", "uplot.min.css"}
    for name, digest in listed.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, name
    assert {p.name for p in (CONSOLE / "licenses").glob("*-LICENSE.txt")} == {
        "htm-LICENSE.txt",
        "preact-LICENSE.txt",
        "uplot-LICENSE.txt",
    }


def test_the_page_has_no_inline_script_or_style_and_loads_only_its_own_files() -> None:
    page = (STATIC / INDEX).read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    assert "<style" not in page and "style=" not in page and not re.search(r"\son[a-z]+=", page)
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert url.startswith("console/") and (STATIC / url.removeprefix("console/")).is_file(), url


def test_console_code_keeps_the_key_out_of_local_storage_and_cookies_and_never_writes_html() -> None:
    for module in OWN_MODULES:
        code = module.read_text()
        for forbidden in ("localStorage", "document.cookie", "innerHTML", "outerHTML", "insertAdjacentHTML", "eval("):
            assert forbidden not in code, (module.name, forbidden)
        assert "http://" not in code and "https://" not in code, module.name  # no CDN, no other origin


def test_the_policy_allows_only_this_origin_and_no_inline_or_eval() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == directives["script-src"] == directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    "name", ["../assets.py", "__init__.py", "licenses", "README.md", "x.py", ".hidden.js", "Index.html"]
)
def test_only_console_files_are_served(name: str) -> None:
    assert console_asset(name) is None


def test_assets_carry_type_nosniff_policy_and_cache_headers() -> None:
    page, module = console_asset(INDEX), console_asset("app.mjs")
    assert page is not None and module is not None
    assert page.content_type.startswith("text/html") and module.content_type.startswith("text/javascript")
    assert page.headers()["Cache-Control"] == "no-cache"
    assert "max-age" in module.headers()["Cache-Control"]
    for asset in (page, module):
        headers = asset.headers()
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["ETag"] == asset.etag and asset.etag.startswith('"')
