"""« Connexion RAMQ » (``/connexion``): the staff login (respondents and managers)."""

from __future__ import annotations

import streamlit as st

from models.accounts import STAFF_ROLES, authenticate
from models.db import session_scope
from models.tables import AccountKind
from ui.common import STAFF_KEY, current_staff, flash_errors, guarded
from ui.i18n import t

GO = "_staff_go_work"
HOME = {"respondent": "work_queue.py", "manager": "runs.py", "operator": "runs.py"}


@guarded
def _login() -> None:
    ss = st.session_state
    username = (ss.get("staff_username") or "").strip()
    password = ss.get("staff_password") or ""
    ss["staff_password"] = ""  # never kept once used
    account_id = None
    if username and password:
        with session_scope() as s:
            account = authenticate(s, username=username, password=password)
            if account is not None and account.kind == AccountKind.staff.value \
                    and account.role in STAFF_ROLES:
                account_id = account.id
    if account_id is None:
        ss["_flash_error"] = t("bad_credentials")
        return
    ss[STAFF_KEY] = account_id
    ss[GO] = True


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
flash_errors()
with st.form("staff_login_form"):
    st.text_input(t("username"), key="staff_username", autocomplete="username")
    st.text_input(t("password"), key="staff_password", type="password",
                  autocomplete="current-password")
    st.form_submit_button(t("sign_in"), type="primary", on_click=_login)
