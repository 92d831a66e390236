"""Who is signed in, shared by the navigation and the screens: the staff login (respondents,
managers, operators) and the user's own login on « Mon accès ».

No business rule here: who may do what is decided by ``flows.api`` and ``models``; this module
only remembers *ids* in the session and re-reads the account on every run.
"""

from __future__ import annotations

import time

import streamlit as st

from models.settings import get_settings
from ui.i18n import t

STAFF_KEY = "staff_account_id"
STAFF_SEEN_KEY = "staff_last_activity"  # time.time() of the staff login's last page run
MY_ACCESS_KEY = "my_access_account_id"

RUNS_ROLES = ("manager", "operator")  # who may open « Suivi des demandes » (read-only)


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


def remember_staff(account_id: int) -> None:
    """The staff login starts: its account id, and now as its last activity."""
    st.session_state[STAFF_KEY] = account_id
    st.session_state[STAFF_SEEN_KEY] = time.time()


def forget_staff() -> None:
    """The staff login ends (signed out, idle too long, or account revoked)."""
    st.session_state.pop(STAFF_KEY, None)
    st.session_state.pop(STAFF_SEEN_KEY, None)


def current_staff() -> dict | None:
    """The signed-in staff account, re-read from the database (None if revoked or absent).

    A login left idle longer than ``settings.staff_session_idle_minutes`` (no page run: no
    click) is signed out, with a French message on that run; each run is activity."""
    from models.queries import staff_session

    ss = st.session_state
    account_id = ss.get(STAFF_KEY)
    if not account_id:
        return None
    now = time.time()
    idle_minutes = get_settings().staff_session_idle_minutes
    last_seen = ss.get(STAFF_SEEN_KEY)
    if last_seen is not None and now - float(last_seen) > idle_minutes * 60:
        forget_staff()
        st.warning(t("staff_session_expired", minutes=idle_minutes))
        return None
    staff = staff_session(account_id)
    if staff is None:
        forget_staff()
        return None
    ss[STAFF_SEEN_KEY] = now
    return staff


def require_staff(*roles: str) -> dict:
    """Stops the page unless a staff account with one of ``roles`` is signed in."""
    staff = current_staff()
    if staff is None or staff["role"] not in roles:
        st.warning(t("staff_only"))
        st.stop()
    return staff
