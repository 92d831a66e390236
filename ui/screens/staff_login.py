"""« Connexion RAMQ » (``/connexion``): the staff login (respondents, SOES and managers), with
the organization's OpenID Connect provider when configured (``RAMQ_OIDC_*``, Streamlit's
``st.login``; ``ui/provider_sign_in.py`` takes the person's identity when they come back), local
accounts otherwise, and as a fallback unless ``RAMQ_LOCAL_STAFF_LOGIN`` is false."""

from __future__ import annotations

import streamlit as st

from models.settings import get_settings
from ui.common import HOME, current_staff, start_staff_session
from ui.feedback import guarded, show_flash
from ui.i18n import t
from ui.provider_sign_in import has_identity
from ui.sign_in import sign_in_from_form

GO = "_staff_go_work"


@guarded
def _login() -> None:
    signed = sign_in_from_form("staff_username", "staff_password", kind="staff")
    if signed is not None:
        start_staff_session(signed.account_id)
        st.session_state[GO] = True


def _local_form() -> None:
    with st.form("staff_login_form"):
        st.text_input(t("username"), key="staff_username", autocomplete="username")
        st.text_input(t("password"), key="staff_password", type="password",
                      autocomplete="current-password")
        st.form_submit_button(t("sign_in"), type="primary", on_click=_login)


def _provider(label: str) -> None:
    """The provider's button; and, when the identity it gave names no staff account (the
    message above says so), the way out of that identity."""
    if st.button(t("oidc_sign_in", provider=label), type="primary", key="oidc_login"):
        st.login()
    if has_identity() and st.button(t("oidc_sign_out_provider", provider=label), key="oidc_logout"):
        st.logout()


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
settings = get_settings()
if settings.oidc_enabled:
    _provider(settings.oidc_provider_label or t("oidc_default_provider"))
    if settings.local_staff_login:
        with st.expander(t("oidc_local_login")):
            _local_form()
else:
    _local_form()
