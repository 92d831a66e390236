"""The two routes of ``ui/session_routes.py`` (served by ``ui/server.py``) that set and delete
the staff session cookie, called over HTTP on the test database (the browser test drives them
through the real pages): the cookie's flags, Secure behind HTTPS, one use per ticket, no
redirection, other sites refused."""

from __future__ import annotations

import warnings

import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from models import staff_sessions
from models.settings import get_settings
from tests.ui.conftest import staff_account
from ui import session_routes


@pytest.fixture
def client(app_env):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    routes = [Route(session_routes.OPEN_PATH, session_routes.open_session, methods=["POST"]),
              Route(session_routes.CLOSE_PATH, session_routes.close_session, methods=["POST"])]
    with TestClient(Starlette(routes=routes), base_url="http://127.0.0.1") as c:
        yield c


def _ticket() -> str:
    return staff_sessions.open_session(staff_account("respondent")["id"]).ticket


def test_the_cookie_is_httponly_strict_session_only_and_opens_the_login(client):
    answer = client.post(session_routes.OPEN_PATH, data={"ticket": _ticket()},
                         headers={"Sec-Fetch-Site": "same-origin"})
    assert answer.status_code == 204 and "location" not in answer.headers
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{staff_sessions.COOKIE_NAME}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Max-Age" not in cookie and "expires" not in cookie.lower() and "Secure" not in cookie
    value = client.cookies.get(staff_sessions.COOKIE_NAME)
    assert staff_sessions.resolve_cookie(value).staff is not None
    # Signing out through the route: the session closes and the cookie is deleted.
    answer = client.post(session_routes.CLOSE_PATH, headers={"Origin": "http://127.0.0.1"})
    assert answer.status_code == 204 and "Max-Age=0" in answer.headers["set-cookie"]
    assert staff_sessions.resolve_cookie(value).staff is None


def test_the_cookie_is_secure_when_the_site_is_served_over_https(client, monkeypatch):
    monkeypatch.setenv("RAMQ_BASE_URL", "https://acces.ramq.example.qc.ca")
    get_settings.cache_clear()
    answer = client.post(session_routes.OPEN_PATH, data={"ticket": _ticket()})
    assert "Secure" in answer.headers["set-cookie"]


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                                     {"Sec-Fetch-Site": "none"}, {"Origin": "https://attacker.example"},
                                     {"Origin": "null"}])
def test_posts_from_elsewhere_are_refused(client, headers):
    ticket = _ticket()
    answer = client.post(session_routes.OPEN_PATH, data={"ticket": ticket}, headers=headers)
    assert answer.status_code == 403 and "set-cookie" not in answer.headers
    assert client.post(session_routes.CLOSE_PATH, headers=headers).status_code == 403
    # The refused post did not spend the ticket's one use... nor give a cookie.
    assert client.post(session_routes.OPEN_PATH, data={"ticket": ticket}).status_code == 204


def test_a_ticket_gives_one_cookie_and_rubbish_gives_none(client):
    ticket = _ticket()
    assert "set-cookie" in client.post(session_routes.OPEN_PATH, data={"ticket": ticket}).headers
    for body in ({"ticket": ticket}, {"ticket": "x" * 5000}, {"ticket": ""}, {}):
        answer = client.post(session_routes.OPEN_PATH, data=body)
        assert answer.status_code == 204 and "set-cookie" not in answer.headers
