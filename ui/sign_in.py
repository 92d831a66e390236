"""The sign-in forms' one step, for staff (« Connexion RAMQ ») and users (« Mon accès »): what
the form holds goes to ``models.accounts.sign_in``, which decides (throttling, password, kind of
account, validity); the screen opens no database session. A refusal becomes one French message
kept for the next run, the same for an unknown username and a wrong password."""

from __future__ import annotations

from typing import Literal

import streamlit as st

from models.accounts import SignedIn, SignInRefused, sign_in
from models.settings import get_settings
from models.throttle import format_wait
from ui.common import client_address
from ui.feedback import flash
from ui.i18n import t


def refusal_text(exc: SignInRefused) -> str:
    if exc.code == "sign_in_throttled":
        return t("sign_in_throttled", wait=format_wait(exc.wait_seconds))
    if exc.code == "temp_password_expired":
        return t("temp_password_expired", days=get_settings().temp_password_days)
    return t("bad_credentials")


def sign_in_from_form(username_key: str, password_key: str, *,
                      kind: Literal["staff", "issued"]) -> SignedIn | None:
    """Signs in with the username and password the form's widgets hold (for its button's
    callback); the password box is emptied at once. None when refused (the message is kept)."""
    ss = st.session_state
    username = (ss.get(username_key) or "").strip()
    password = ss.get(password_key) or ""
    ss[password_key] = ""  # never kept once used
    if not (username and password):
        flash(t("bad_credentials"))
        return None
    try:
        return sign_in(username, password, client=client_address(), kind=kind)
    except SignInRefused as exc:
        flash(refusal_text(exc))
        return None
