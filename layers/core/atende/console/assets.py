"""The console's static files, read from the layer, with the headers that keep them safe and cached."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

INDEX = "index.html"
# Flat names only: the route's `{asset}` is one path segment, and nothing outside the folder is reachable.
ASSET_NAME = r"^[a-z0-9][a-z0-9.-]{0,63}\.(?:html|mjs|js|css)$"
_CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "mjs": "text/javascript; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
}
# Everything from this origin, nothing inline, no eval: tenant- and customer-written text can never run as code.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class Asset:
    name: str
    body: str
    content_type: str
    etag: str

    def headers(self) -> dict[str, str]:
        """The page is revalidated on every load (a new layer is picked up at once); assets for five minutes."""
        cache_control = "no-cache" if self.name == INDEX else "public, max-age=300, must-revalidate"
        return {
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": cache_control,
            "ETag": self.etag,
        }


@cache
def console_asset(name: str) -> Asset | None:
    """The named file of the console, or None when there is no such file."""
    if not re.fullmatch(ASSET_NAME, name):
        return None
    path = resources.files("atende.console").joinpath("static", name)
    if not path.is_file():
        return None
    body = path.read_text(encoding="utf-8")
    etag = '"' + hashlib.sha256(body.encode("utf-8")).hexdigest()[:20] + '"'
    return Asset(name, body, _CONTENT_TYPES[name.rsplit(".", 1)[1]], etag)
