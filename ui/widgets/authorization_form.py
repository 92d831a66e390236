"""Section 3 of the form (the authorizer's part): the roles that fit the organization, the board
resolution when the rules ask for it, commitments and signature; and its canonical value."""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from models.canonical import SEXES
from models.rules import allowed_roles, board_resolution_required
from ui.formatting import bold
from ui.i18n import t
from ui.widgets.errors import show_errors
from ui.widgets.fields import clean, commitments, phone_row, radio, text
from ui.widgets.keys import SECTION3_FIELDS, key
from ui.widgets.signature import current_signature, signature_input


def authorization_form(prefix: str, request: dict) -> None:
    """Section 3, with the roles that fit the organization and, when the rules ask for it, the
    board resolution."""
    ss = st.session_state
    st.header(t("section3"))
    st.caption(t("section3_help"))
    roles = allowed_roles(request.get("organization_type"))
    radio(prefix, "authorization.role", "role", roles, "role")
    radio(prefix, "authorization.sex", "sex", list(SEXES), "sex", horizontal=True)
    text(prefix, "authorization.function", "function")
    phone_row(prefix, "authorization")
    text(prefix, "authorization.organization_name", "organization_name")
    text(prefix, "authorization.address", "address")
    text(prefix, "authorization.postal_code", "postal_code", help_key="postal_code_help")
    if board_resolution_required(request.get("applications"), ss.get(key(prefix, "authorization.role"))):
        with st.container(border=True):
            st.markdown(bold(t("board_resolution")))
            st.caption(t("board_resolution_help"))
            show_errors(prefix, "authorization.board_resolution")
            c1, c2 = st.columns(2)
            with c1:
                text(prefix, "authorization.board_resolution.number", "board_resolution_number")
            with c2:
                st.date_input(t("board_resolution_date"), value=None, min_value=date(1970, 1, 1),
                              key=key(prefix, "authorization.board_resolution.date"),
                              format="YYYY-MM-DD", help=t("date_help"))
                show_errors(prefix, "authorization.board_resolution.date")
    commitments(prefix, "authorization.commitments_accepted", "authorizer_commitments")
    signature_input(prefix, "authorization.signature")
    show_errors(prefix, "authorization")


def collect_authorization(prefix: str, request: dict) -> dict:
    ss = st.session_state
    get = lambda path: clean(ss.get(key(prefix, f"authorization.{path}")))  # noqa: E731
    section3: dict[str, Any] = {f: get(f) for f in SECTION3_FIELDS}
    section3["commitments_accepted"] = bool(ss.get(key(prefix, "authorization.commitments_accepted")))
    section3["signature"] = current_signature(prefix, "authorization.signature")
    section3["board_resolution"] = None
    if board_resolution_required(request.get("applications"), section3["role"]):
        number, when = get("board_resolution.number"), get("board_resolution.date")
        if number is not None or when is not None:
            section3["board_resolution"] = {
                "number": number, "date": when.isoformat() if isinstance(when, date) else when}
    return section3
