"""« Mon accès » (``/mon-acces``): the user signs in with the username (from the authorizer) and
the temporary password (by email), must choose a new password the first time, then sees the
access granted. « Mot de passe oublié ? » asks for a new temporary password, sent to the user's
email only; the page says the same sentence whatever was typed (flows.password_reset)."""

from __future__ import annotations

import streamlit as st

from flows.password_reset import request_password_reset
from models.accounts import MIN_PASSWORD_LENGTH, AccountError, change_own_password
from models.queries import issued_access
from ui.common import MY_ACCESS_KEY, client_address
from ui.feedback import flash, guarded, show_flash
from ui.formatting import fmt_date
from ui.i18n import label, t
from ui.sign_in import sign_in_from_form
from ui.widgets.summary import fields_table


@guarded
def _login() -> None:
    signed = sign_in_from_form("ma_username", "ma_password", kind="issued")
    if signed is not None:
        st.session_state[MY_ACCESS_KEY] = signed.account_id


@guarded
def _change() -> None:
    ss = st.session_state
    current, new, confirm = (ss.get(k) or "" for k in ("ma_current", "ma_new", "ma_confirm"))
    for k in ("ma_current", "ma_new", "ma_confirm"):
        ss[k] = ""
    if new != confirm:
        flash(t("passwords_differ"))
        return
    try:
        change_own_password(account_id=ss[MY_ACCESS_KEY], current=current, new=new)
    except AccountError as exc:
        flash(t(exc.code, n=MIN_PASSWORD_LENGTH))
        return
    flash(t("password_changed"), "success")


@guarded
def _forgot() -> None:
    name = (st.session_state.get("ma_forgot") or "").strip()
    st.session_state["ma_forgot"] = ""
    if name:
        request_password_reset(name, client=client_address())
    flash(t("forgot_done"), "success")  # the same sentence whatever happened


def _logout() -> None:
    st.session_state.pop(MY_ACCESS_KEY, None)


st.title(t("page_my_access"))
show_flash()

account_id = st.session_state.get(MY_ACCESS_KEY)
access = issued_access(account_id) if account_id else None
if account_id and access is None:  # disabled or expired since the login
    st.session_state.pop(MY_ACCESS_KEY, None)

if access is None:
    st.caption(t("my_access_intro"))
    with st.form("my_access_login"):
        st.text_input(t("username"), key="ma_username", autocomplete="username")
        st.text_input(t("password"), key="ma_password", type="password",
                      autocomplete="current-password")
        st.form_submit_button(t("sign_in"), type="primary", on_click=_login)
    show_flash("success")  # the forgotten-password answer
    with st.expander(t("forgot_password")):
        st.caption(t("forgot_password_intro"))
        with st.form("my_access_forgot"):
            st.text_input(t("forgot_identifier"), key="ma_forgot", autocomplete="username")
            st.form_submit_button(t("forgot_send"), on_click=_forgot)
    st.stop()

if access["must_change_password"]:
    st.warning(t("must_change_password"))
    with st.form("my_access_change"):
        st.text_input(t("current_password"), key="ma_current", type="password",
                      autocomplete="current-password")
        st.text_input(t("new_password"), key="ma_new", type="password",
                      help=t("new_password_help", n=MIN_PASSWORD_LENGTH), autocomplete="new-password")
        st.text_input(t("confirm_password"), key="ma_confirm", type="password",
                      autocomplete="new-password")
        st.form_submit_button(t("change_password"), type="primary", on_click=_change)
    st.button(t("logout"), key="ma_logout", on_click=_logout)
    st.stop()

show_flash("success")
st.header(t("access_granted"))
fields_table([
    (t("username"), access["username"]),
    (t("reference_number"), access["reference"]),
    (t("applications"), ", ".join(label("application", a) for a in access["applications"])),
    (t("organization_type"), label("organization_type", access["organization_type"])),
    (t("registers"), label("register_scope", access["register_scope"])),
    (t("establishment"), f"{access['establishment_name']} ({access['establishment_number']})"),
    (t("additional_numbers"), ", ".join(access["additional_establishment_numbers"])),
    (t("validity"), t("validity_value", start=fmt_date(access["valid_from"]),
                      end=fmt_date(access["valid_until"]))),
])
with st.expander(t("change_password")):
    with st.form("my_access_change_again"):
        st.text_input(t("current_password"), key="ma_current", type="password")
        st.text_input(t("new_password"), key="ma_new", type="password",
                      help=t("new_password_help", n=MIN_PASSWORD_LENGTH))
        st.text_input(t("confirm_password"), key="ma_confirm", type="password")
        st.form_submit_button(t("change_password"), on_click=_change)
st.button(t("logout"), key="ma_logout", on_click=_logout)
