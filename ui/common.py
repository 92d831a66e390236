"""Small helpers shared by the screens: the staff login, safe calls.

No business rule here: who may do what is decided by ``flows.api`` and ``models``; this module
only remembers *ids* in the session and re-reads the account on every run.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, Callable

import streamlit as st

from models.settings import get_settings
from ui.i18n import t

LOG = logging.getLogger("ramq.ui")

STAFF_KEY = "staff_account_id"
STAFF_SEEN_KEY = "staff_last_activity"  # time.time() of the staff login's last page run
MY_ACCESS_KEY = "my_access_account_id"


def current_staff() -> dict | None:
    """The signed-in staff account, re-read from the database (None if revoked or absent).

    A login left idle longer than ``settings.staff_session_idle_minutes`` (no page run: no
    click) is signed out, with a French message on that run; each run is activity."""
    import time

    from models.queries import staff_session

    ss = st.session_state
    account_id = ss.get(STAFF_KEY)
    if not account_id:
        return None
    now = time.time()
    idle_minutes = get_settings().staff_session_idle_minutes
    last_seen = ss.get(STAFF_SEEN_KEY)
    if last_seen is not None and now - float(last_seen) > idle_minutes * 60:
        ss.pop(STAFF_KEY, None)
        ss.pop(STAFF_SEEN_KEY, None)
        st.warning(t("staff_session_expired", minutes=idle_minutes))
        return None
    staff = staff_session(account_id)
    if staff is None:
        ss.pop(STAFF_KEY, None)
        ss.pop(STAFF_SEEN_KEY, None)
        return None
    ss[STAFF_SEEN_KEY] = now
    return staff


def require_staff(role: str) -> dict:
    """Stops the page unless a staff account with ``role`` is signed in."""
    staff = current_staff()
    if staff is None or staff["role"] != role:
        st.warning(t("staff_only"))
        st.stop()
    return staff


def _log(where: str, exc: BaseException) -> None:
    """Logs the error's type and where it happened, not its message: a database error's message
    may quote the personal data it was given."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    LOG.error("unexpected %s in %s\n%s", type(exc).__name__, where, frames)


def unexpected(exc: BaseException) -> None:
    """Shows a plain French message instead of a traceback, and logs the error (no data)."""
    _log("a screen", exc)
    st.error(t("unexpected_error"))


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """For button callbacks: an unexpected error becomes a message stored for the next run."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the person must never see a traceback
            _log(getattr(fn, "__name__", "a callback"), exc)
            st.session_state["_flash_error"] = t("unexpected_error")
            return None

    return wrapper


def flash_errors() -> None:
    """Shows (once) an error a callback stored for this run."""
    message = st.session_state.pop("_flash_error", None)
    if message:
        st.error(message)


def link_token_or_stop() -> tuple[str, str]:
    """The ``?t=`` token of an emailed link and a short id of it for session keys; a clear page
    when the address has no token."""
    import hashlib

    token = st.query_params.get("t")
    if not token:
        st.warning(t("link_missing"))
        st.stop()
    return token, hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:16]


def open_link_or_stop(token: str, purpose: str):
    """The request behind a signed link, or a clear page (used, expired, void, forged) and stop.
    Opening decides nothing."""
    from flows.api import open_link
    from flows.errors import ActionError
    from ui.i18n import lang

    try:
        return open_link(token, purpose=purpose)
    except ActionError as exc:
        st.error(exc.message(lang()))
    except Exception as exc:  # noqa: BLE001
        unexpected(exc)
    st.stop()
