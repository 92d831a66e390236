"""Back from the organization's OpenID Connect provider (``st.login``): the RAMQ staff session
starts from the provider's fresh identity, on whichever page Streamlit lands (its callback always
returns to the app's root). ``models.oidc`` decides whose account it is; this only carries the
claims there, once per identity, and says where to go next."""

from __future__ import annotations

import streamlit as st

from models.accounts import SignInRefused
from ui.common import client_address, start_staff_session
from ui.feedback import flash
from ui.i18n import t

_TRIED_KEY = "_oidc_identity_tried"  # (sub, iat) already carried in this browser session


def has_identity() -> bool:
    """Whether Streamlit holds an identity from the provider (its cookie) for this session.
    ``st.user`` has no ``is_logged_in`` at all while Streamlit has read no ``[auth]`` table."""
    try:
        return bool(st.user.get("is_logged_in"))
    except Exception:  # noqa: BLE001 - no browser session
        return False


def fresh_identity() -> dict | None:
    """The provider's claims when the person has just signed in there, else None."""
    if not has_identity():
        return None
    from models.oidc import is_fresh

    claims = st.user.to_dict()
    return claims if is_fresh(claims) else None


def sign_in_from_provider() -> str | None:
    """``"signed"`` when a fresh identity just opened a RAMQ staff session, ``"refused"`` when it
    names no active staff account (the reason is kept for the login page), else None."""
    from models.oidc import sign_in_federated

    claims = fresh_identity()
    if claims is None:
        return None
    tried = (str(claims.get("sub")), claims.get("iat"))
    if st.session_state.get(_TRIED_KEY) == tried:
        return None
    st.session_state[_TRIED_KEY] = tried
    try:
        signed = sign_in_federated(claims, client=client_address())
    except SignInRefused as exc:
        if exc.code == "oidc_used":  # an identity already used once (after a sign-out): nothing
            return None
        flash(t("oidc_no_account"))
        return "refused"
    start_staff_session(signed.account_id)
    return "signed"
