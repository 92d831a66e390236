"""The widgets' keys: ``"<prefix>:<path>"``, one prefix per form on a page, ``path`` the
canonical request's path (the one a ``FieldError`` names)."""

from __future__ import annotations

import streamlit as st

SLOTMAP = "__slotmap__"  # which box each sent additional establishment number came from

USER_FIELDS = ("first_name", "last_name", "sex", "function", "email", "phone", "extension", "fax",
               "establishment_name", "establishment_number", "address", "postal_code")
SECTION3_FIELDS = ("role", "sex", "function", "phone", "extension", "fax", "organization_name",
                   "address", "postal_code")
AUTHORIZER_FIELDS = ("first_name", "last_name", "email")


def key(prefix: str, path: str) -> str:
    return f"{prefix}:{path}"


def forget(prefix: str) -> None:
    """Drops every value of a form (a new request starts empty)."""
    ss = st.session_state
    for k in [k for k in ss.keys() if isinstance(k, str) and k.startswith(prefix + ":")]:
        del ss[k]
