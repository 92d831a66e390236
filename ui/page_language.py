"""The page's language for browsers and screen readers: Streamlit serves its one HTML page as
``<html lang="en">``; this middleware (``ui/server.py``) serves it as ``lang="fr"``, the
product's default, or ``lang="en"`` when the address asks for English (``?lang=en``, as the
emails' links do). Only the HTML page is touched: assets, the websocket and the session routes
pass through unchanged.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

STREAMLIT_TAG = b'<html lang="en">'
# Paths that never carry the page (Streamlit's own assets and endpoints, the cookie routes).
NOT_PAGES = ("/static/", "/_stcore/", "/media/", "/component/", "/session/")


def page_language(query_string: bytes) -> str:
    """``en`` when the address asks for it, French otherwise (the default of every screen)."""
    asked = parse_qs(query_string.decode("latin-1")).get("lang", [""])[0]
    return "en" if asked == "en" else "fr"


class PageLanguageMiddleware:
    """Rewrites the ``lang`` of the HTML page. The page is asked for uncompressed (the request's
    ``Accept-Encoding`` is dropped for page addresses only, so Streamlit's gzip leaves it alone)
    and its length is set again."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD") or path.startswith(NOT_PAGES):
            await self.app(scope, receive, send)
            return
        scope = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"])
        tag = f'<html lang="{page_language(scope.get("query_string", b""))}">'.encode()
        start: dict[str, Any] | None = None
        body = bytearray()

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict((k.lower(), v) for k, v in message.get("headers", []))
                html = headers.get(b"content-type", b"").startswith(b"text/html")
                if not html or b"content-encoding" in headers:
                    await send(message)
                    return
                start = dict(message)
                return
            if start is None:
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            page = bytes(body).replace(STREAMLIT_TAG, tag, 1)
            start["headers"] = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            start["headers"].append((b"content-length", str(len(page)).encode()))
            await send(start)
            await send({"type": "http.response.body", "body": page if scope.get("method") == "GET" else b""})

        await self.app(scope, receive, rewrite)
