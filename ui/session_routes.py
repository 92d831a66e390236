"""The two routes of the staff session cookie, which Streamlit itself cannot set (a script runs
over a websocket; only an HTTP response can set an HttpOnly cookie); ``ui/server.py`` serves them
beside the app.

- ``POST /session/ouvrir`` (``ticket``): the page has just signed a staff member in and posts,
  in the background, the one-time ticket it got (``models.staff_sessions``); the answer sets
  the signed ``ramq_staff`` cookie (HttpOnly, SameSite=Strict, Path=/, Secure over HTTPS, no
  expiry date: gone when the browser closes, and void on the server after the idle timeout).
- ``POST /session/fermer``: closes the session the cookie names and deletes the cookie.

Both answer ``204 No Content`` (no redirection, so none to another site), ``no-store``, and
refuse a request posted from another site (``Sec-Fetch-Site``, else ``Origin``): a cross-site
form could otherwise sign a colleague into the sender's session, or sign them out.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from models import staff_sessions
from models.settings import get_settings
from ui.common import CLOSE_PATH, OPEN_PATH

MAX_FORM_BYTES = 2048


def _same_site(request: Request) -> bool:
    """Posted by one of our own pages."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    try:
        fields = parse_qs(body.decode("latin-1"), max_num_fields=4)
    except ValueError:
        return {}
    return {k: v[0] for k, v in fields.items() if v}


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or get_settings().base_url.startswith("https://")


def _done() -> Response:
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


async def open_session(request: Request) -> Response:
    if not _same_site(request):
        return PlainTextResponse("Forbidden", status_code=403)
    form = await _form(request)
    cookie = await run_in_threadpool(staff_sessions.exchange_ticket, form.get("ticket"))
    response = _done()
    if cookie is not None:
        response.set_cookie(staff_sessions.COOKIE_NAME, cookie, path="/", httponly=True,
                            samesite="strict", secure=_secure(request))
    return response


async def close_session(request: Request) -> Response:
    if not _same_site(request):
        return PlainTextResponse("Forbidden", status_code=403)
    cookie = request.cookies.get(staff_sessions.COOKIE_NAME)
    if cookie:
        await run_in_threadpool(lambda: staff_sessions.close_session(cookie=cookie))
    response = _done()
    response.delete_cookie(staff_sessions.COOKIE_NAME, path="/", httponly=True, samesite="strict",
                           secure=_secure(request))
    return response


ROUTES = [
    Route(OPEN_PATH, open_session, methods=["POST"]),
    Route(CLOSE_PATH, close_session, methods=["POST"]),
]
