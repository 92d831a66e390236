"""« Connexion RAMQ » (``/connexion``): the staff login (respondents and managers)."""

from __future__ import annotations

import time

import streamlit as st

from models.accounts import SignInRefused, sign_in
from models.settings import get_settings
from models.throttle import format_wait
from ui.common import STAFF_KEY, STAFF_SEEN_KEY, current_staff
from ui.feedback import flash, guarded, show_flash
from ui.i18n import t

GO = "_staff_go_work"
HOME = {"respondent": "work_queue.py", "manager": "runs.py", "operator": "runs.py"}


@guarded
def _login() -> None:
    ss = st.session_state
    username = (ss.get("staff_username") or "").strip()
    password = ss.get("staff_password") or ""
    ss["staff_password"] = ""  # never kept once used
    if not (username and password):
        flash(t("bad_credentials"))
        return
    try:
        signed = sign_in(username, password, client=client_address(), kind="staff")
    except SignInRefused as exc:
        flash(refusal_text(exc))
        return
    ss[STAFF_KEY] = signed.account_id
    ss[STAFF_SEEN_KEY] = time.time()
    ss[GO] = True


def client_address() -> str | None:
    """The person's address as the server sees it (None locally or when unknown)."""
    try:
        return st.context.ip_address
    except Exception:  # noqa: BLE001 - older Streamlit, or no browser session
        return None


def refusal_text(exc: SignInRefused) -> str:
    if exc.code == "sign_in_throttled":
        return t("sign_in_throttled", wait=format_wait(exc.wait_seconds))
    if exc.code == "temp_password_expired":
        return t("temp_password_expired", days=get_settings().temp_password_days)
    return t("bad_credentials")


st.title(t("page_staff_login"))
staff = current_staff()
if staff is not None:
    if st.session_state.pop(GO, False):
        st.switch_page(HOME[staff["role"]])
    st.success(t("already_signed_in", name=staff["display_name"]))
    st.page_link(HOME[staff["role"]],
                 label=t("page_queue") if staff["role"] == "respondent" else t("page_runs"))
    st.stop()

st.caption(t("staff_login_intro"))
show_flash()
with st.form("staff_login_form"):
    st.text_input(t("username"), key="staff_username", autocomplete="username")
    st.text_input(t("password"), key="staff_password", type="password",
                  autocomplete="current-password")
    st.form_submit_button(t("sign_in"), type="primary", on_click=_login)
