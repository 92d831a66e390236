"""What ``streamlit run ui/server.py`` serves (``make run`` and every replica): the Streamlit app
of ``ui/app.py`` (``st.App``) plus the routes of the staff session cookie
(``ui/session_routes.py``), the page served as French (``ui/page_language.py``). The tests of
the screens (AppTest) run ``ui/app.py`` directly: without a cookie, the login stays in the
Streamlit session.
"""

from __future__ import annotations

import streamlit as st
from starlette.middleware import Middleware

from ui.page_language import PageLanguageMiddleware
from ui.session_routes import ROUTES

app = st.App("app.py", routes=ROUTES, middleware=[Middleware(PageLanguageMiddleware)])
