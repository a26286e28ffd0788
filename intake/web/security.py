"""Response headers for every page, and customer HTML made inert.

Every response carries a strict Content-Security-Policy: scripts and styles only from the
console's own static files (htmx is a vendored file; its settings are a meta tag, no inline
script), no framing of the console (``frame-ancestors 'none'``), no plugins, no referrer.
Customer HTML is shown only inside a sandboxed iframe whose document has its own policy
(no script, no network: images and styles from elsewhere are not fetched) after nh3 has
removed everything but plain formatting.
"""

from __future__ import annotations

import nh3

CONSOLE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
               "font-src 'self'; form-action 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'")
# The customer's HTML document (inside <iframe sandbox>): nothing runs, nothing is fetched.
CUSTOMER_HTML_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
                     "frame-ancestors 'self'; base-uri 'none'; sandbox")

COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cache-Control": "no-store",
}

# Plain formatting only: no images (tracking pixels), no style attributes or <style> (CSS can
# exfiltrate with url() and attribute selectors), no forms, no links that run script.
_TAGS = set(nh3.ALLOWED_TAGS) - {"img", "map", "area"}
_ATTRIBUTES = {tag: {a for a in attrs if a not in ("style", "src", "srcset")}
               for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items() if tag in _TAGS}


def sanitise_html(html: str) -> str:
    """Customer HTML reduced to inert formatting (nh3, the maintained Rust ammonia sanitiser)."""
    return nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow", strip_comments=True)


def customer_html_document(html: str) -> str:
    """The sandboxed iframe's document: sanitised body, a fixed charset, nothing else."""
    return ("<!doctype html><html><head><meta charset=\"utf-8\">"
            "<style>body{font:14px/1.6 sans-serif;color:#222;margin:12px;word-break:break-word}</style>"
            "</head><body>" + sanitise_html(html) + "</body></html>")


class SecurityHeaders:
    """ASGI middleware: the common headers on every response; a CSP unless the route set its own."""

    def __init__(self, app, *, https: bool):
        self.app = app
        self.https = https

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for k, v in COMMON_HEADERS.items():
                    if k.lower().encode() not in names:
                        headers.append((k.lower().encode(), v.encode()))
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CONSOLE_CSP.encode()))
                if self.https:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987)."""
    from urllib.parse import quote

    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename) or "file"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
