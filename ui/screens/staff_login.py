"""« Connexion RAMQ » (``/connexion``): the staff login (respondents and managers)."""

from __future__ import annotations

import streamlit as st

from ui.common import current_staff, start_staff_session
from ui.feedback import guarded, show_flash
from ui.i18n import t
from ui.sign_in import sign_in_from_form

GO = "_staff_go_work"
# Where each staff role lands after signing in, and that page's title.
HOME = {"respondent": ("screens/work_queue.py", "page_queue"), "soes": ("screens/countersign.py", "page_countersign"),
        "manager": ("screens/runs.py", "page_runs"), "operator": ("screens/runs.py", "page_runs")}


@guarded
def _login() -> None:
    signed = sign_in_from_form("staff_username", "staff_password", kind="staff")
    if signed is not None:
        start_staff_session(signed.account_id)
        st.session_state[GO] = True


st.title(t("page_staff_login"))
staff = current_staff()
if staff is not None:
    if st.session_state.pop(GO, False):
        st.switch_page(HOME[staff["role"]][0])
    st.success(t("already_signed_in", name=staff["display_name"]))
    page, title = HOME[staff["role"]]
    st.page_link(page, label=t(title))
    st.stop()

st.caption(t("staff_login_intro"))
show_flash()
with st.form("staff_login_form"):
    st.text_input(t("username"), key="staff_username", autocomplete="username")
    st.text_input(t("password"), key="staff_password", type="password",
                  autocomplete="current-password")
    st.form_submit_button(t("sign_in"), type="primary", on_click=_login)
