"""The HTML page is served as ``lang="fr"`` (``lang="en"`` for ``?lang=en``), over Streamlit's
own page and through a gzip layer like Streamlit's; assets pass through untouched. The browser
tests check the served page of the real app (tests/e2e/test_staff_session.py)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import streamlit
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from ui.page_language import PageLanguageMiddleware

INDEX = Path(streamlit.__file__).parent / "static" / "index.html"
SCRIPT = b'console.log("<html lang=\\"en\\">")' * 100


@pytest.fixture
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    async def page(request):
        return FileResponse(INDEX)

    async def asset(request):
        return Response(SCRIPT, media_type="text/javascript")

    app = Starlette(routes=[Route("/static/app.js", asset), Route("/{path:path}", page)],
                    middleware=[Middleware(PageLanguageMiddleware), Middleware(GZipMiddleware, minimum_size=0)])
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def test_streamlit_still_serves_an_english_tag_to_replace():
    assert b'<html lang="en">' in INDEX.read_bytes()  # else the middleware has nothing to do


@pytest.mark.parametrize(("address", "lang"), [("/", "fr"), ("/file-de-travail", "fr"),
                                                ("/autoriser?t=abc&lang=en", "en"), ("/?lang=xx", "fr")])
def test_the_page_says_its_language(client, address, lang):
    answer = client.get(address, headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    assert f'<html lang="{lang}">' in answer.text and '<html lang="en">' not in answer.text.replace(
        f'<html lang="{lang}">', "")
    assert int(answer.headers["content-length"]) == len(answer.content)


def test_assets_pass_through_compressed_and_unchanged(client):
    answer = client.get("/static/app.js", headers={"Accept-Encoding": "gzip"})
    assert answer.headers.get("content-encoding") == "gzip"
    assert answer.content == SCRIPT  # the client unzips: the text is the asset's own


def test_head_has_no_body(client):
    answer = client.head("/")
    assert answer.status_code == 200 and answer.content == b""
