"""Who is signed in, shared by the navigation and the screens: the staff login (respondents,
managers, operators) and the user's own login on « Mon accès ».

No business rule here: who may do what is decided by ``flows.api`` and ``models``; this module
only remembers *ids* in the session and re-reads the account on every run. A staff login also
lives in the browser's ``ramq_staff`` cookie (``models.staff_sessions``, set and deleted by the
routes of ``ui/session_routes.py``), so that a reload or a new tab finds it.
"""

from __future__ import annotations

import time

import streamlit as st

from models.settings import get_settings
from ui.i18n import t

STAFF_KEY = "staff_account_id"
STAFF_SEEN_KEY = "staff_last_activity"  # time.time() of the staff login's last page run
STAFF_SESSION_KEY = "staff_session_id"  # its row in staff_session (models/staff_sessions.py)
TICKET_KEY = "_staff_session_ticket"  # to post once to /session/ouvrir
LEAVING_KEY = "_staff_session_leaving"  # signed out: the page posts to /session/fermer
MY_ACCESS_KEY = "my_access_account_id"
OPEN_PATH = "/session/ouvrir"  # ui/session_routes.py
CLOSE_PATH = "/session/fermer"

RUNS_ROLES = ("manager", "operator")  # who may open « Suivi des demandes » (read-only)
# Where each staff role lands after signing in, and that page's title.
HOME = {"respondent": ("screens/work_queue.py", "page_queue"), "soes": ("screens/countersign.py", "page_countersign"),
        "manager": ("screens/runs.py", "page_runs"), "operator": ("screens/runs.py", "page_runs")}


def client_address() -> str | None:
    """Who is at the other end, for throttling and rate limits (kept only as keyed hashes); None
    when unknown. Streamlit gives no address for a connection from this machine: then the app is
    either behind a reverse proxy on this machine, whose ``X-Forwarded-For`` (its last entry, the
    one it added) names the client, or used locally. A remote client cannot pick its key: with an
    address of its own, the header is ignored."""
    try:
        ip = st.context.ip_address
        if ip:
            return ip
        forwarded = (st.context.headers.get("X-Forwarded-For") or "").split(",")[-1].strip()
        return forwarded[:64] or None
    except Exception:  # noqa: BLE001 - no browser session (never in a real one)
        return None


def remember_staff(account_id: int, session_id: int | None = None) -> None:
    """The staff login starts: its account id, its session (``models.staff_sessions``) when it
    has one, and now as its last activity."""
    st.session_state[STAFF_KEY] = account_id
    st.session_state[STAFF_SEEN_KEY] = time.time()
    if session_id is not None:
        st.session_state[STAFF_SESSION_KEY] = session_id


def forget_staff() -> None:
    """The staff login ends in this browser tab (signed out, idle too long, account revoked)."""
    for key in (STAFF_KEY, STAFF_SEEN_KEY, STAFF_SESSION_KEY, TICKET_KEY):
        st.session_state.pop(key, None)


def start_staff_session(account_id: int) -> None:
    """After a staff sign-in: the login, and its session's one-time ticket, which the page
    posts to the server (``session_cookie_script``) to get the cookie that survives a reload."""
    from models.staff_sessions import open_session

    opened = open_session(account_id)
    remember_staff(account_id, opened.session_id)
    st.session_state[TICKET_KEY] = opened.ticket


def sign_out() -> None:
    """The « Se déconnecter » button: the session is closed on the server at once (every tab,
    the cookie void), then the page asks the server to delete the cookie."""
    from models.staff_sessions import close_session

    session_id = st.session_state.get(STAFF_SESSION_KEY)
    if session_id is not None:
        close_session(session_id=session_id)
        st.session_state[LEAVING_KEY] = True
    forget_staff()
    if get_settings().oidc_enabled:
        from ui.provider_sign_in import has_identity

        if has_identity():
            st.logout()  # the provider's identity cookie too (and the provider's session, if it says how)


def _post(path: str, fields: dict[str, str]) -> None:
    """The page posts to one of the server's session routes (``ui/session_routes.py``) in the
    background: the answer sets or deletes the HttpOnly cookie, and the page stays as it is.
    Values are ours (a random URL-safe ticket), encoded all the same."""
    import json
    from urllib.parse import urlencode

    def js(value: str) -> str:  # a JavaScript string that cannot end the script element
        return json.dumps(value).replace("<", "\\u003c")

    st.html(f"<script>fetch({js(path)}, {{method: 'POST', credentials: 'same-origin', "
            "headers: {'Content-Type': 'application/x-www-form-urlencoded'}, "
            f"body: {js(urlencode(fields))}}});</script>",
            unsafe_allow_javascript=True)


def session_cookie_script(url_path: str) -> None:
    """After a staff sign-in, or after « Se déconnecter »: the browser obtains, or deletes, the
    session cookie through the server. The ticket waits for the page the sign-in leads to (the
    sign-in page's own run ends by switching pages)."""
    ss = st.session_state
    if ss.pop(LEAVING_KEY, False):
        _post(CLOSE_PATH, {})
    elif TICKET_KEY in ss and ss.get(STAFF_KEY) and url_path != "connexion":
        _post(OPEN_PATH, {"ticket": ss.pop(TICKET_KEY)})


def _cookie_value() -> str | None:
    from models.staff_sessions import COOKIE_NAME

    try:
        return st.context.cookies.get(COOKIE_NAME)
    except Exception:  # noqa: BLE001 - no browser request (AppTest)
        return None


def _expired(minutes: int) -> None:
    forget_staff()
    st.warning(t("staff_session_expired", minutes=minutes))


def current_staff() -> dict | None:
    """The signed-in staff account, re-read from the database (None if revoked or absent).

    A login with a session (every sign-in has one) is checked against it on each page run:
    closed (logout, in any tab), idle longer than ``settings.staff_session_idle_minutes``
    across all the person's tabs, too old, or its account no longer active staff, it ends,
    with a French message when by inactivity. A new page load (a reload, a new tab) finds the
    login from the ``ramq_staff`` cookie. A login without a session (none was opened) ends
    after the same idle time without a page run of this tab."""
    from models import staff_sessions
    from models.queries import staff_session

    ss = st.session_state
    idle_minutes = get_settings().staff_session_idle_minutes
    account_id = ss.get(STAFF_KEY)
    if not account_id:
        cookie = _cookie_value()
        if not cookie:
            return None
        found = staff_sessions.resolve_cookie(cookie)
        if found.staff is None or found.session_id is None:
            if found.expired:
                st.warning(t("staff_session_expired", minutes=idle_minutes))
            return None
        remember_staff(found.staff["account_id"], found.session_id)
        return found.staff
    now = time.time()
    session_id = ss.get(STAFF_SESSION_KEY)
    if session_id is not None:
        found = staff_sessions.check_session(session_id, account_id)
        if found.staff is None:
            if found.expired:
                _expired(idle_minutes)
            else:
                forget_staff()
            return None
        ss[STAFF_SEEN_KEY] = now
        return found.staff
    last_seen = ss.get(STAFF_SEEN_KEY)
    if last_seen is not None and now - float(last_seen) > idle_minutes * 60:
        _expired(idle_minutes)
        return None
    staff = staff_session(account_id)
    if staff is None:
        forget_staff()
        return None
    ss[STAFF_SEEN_KEY] = now
    return staff


def still_signed_in() -> bool:
    """For a part of a page that redraws itself (``st.fragment(run_every=…)``): whether its
    login is still valid, without counting the redraw as activity. When not, the part asks for
    a full page run, which ends the login with its message."""
    from models import staff_sessions
    from models.queries import staff_session

    ss = st.session_state
    account_id = ss.get(STAFF_KEY)
    if not account_id:
        return False
    session_id = ss.get(STAFF_SESSION_KEY)
    if session_id is not None:
        return staff_sessions.check_session(session_id, account_id, touch=False).staff is not None
    last_seen = ss.get(STAFF_SEEN_KEY)
    idle_seconds = get_settings().staff_session_idle_minutes * 60
    if last_seen is not None and time.time() - float(last_seen) > idle_seconds:
        return False
    return staff_session(account_id) is not None


def keep_values(*keys: str) -> None:
    """Widget values kept while their widgets are not drawn (a task opened, a decision made):
    Streamlit forgets the value of a widget absent from a run, so a copy is kept under another
    key and put back. Call it before drawing the widgets, on every run of the page."""
    ss = st.session_state
    for key in keys:
        kept = f"_kept:{key}"
        if key in ss:
            ss[kept] = ss[key]
        elif kept in ss:
            ss[key] = ss[kept]


def require_staff(*roles: str) -> dict:
    """Stops the page unless a staff account with one of ``roles`` is signed in."""
    staff = current_staff()
    if staff is None or staff["role"] not in roles:
        st.warning(t("staff_only"))
        st.stop()
    return staff
