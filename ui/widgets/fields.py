"""One labelled field of a form, with the rules' errors right under it."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.i18n import label, t
from ui.widgets.errors import show_errors
from ui.widgets.keys import key


def clean(value: Any) -> Any:
    """A widget's value as the canonical request takes it: text stripped, empty text None."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def text(prefix: str, path: str, label_key: str, *, help_key: str | None = None,
         placeholder: str | None = None) -> None:
    st.text_input(t(label_key), key=key(prefix, path), help=t(help_key) if help_key else None,
                  placeholder=placeholder)
    show_errors(prefix, path)


def radio(prefix: str, path: str, label_key: str, options: list[str], kind: str | None = None, *,
          horizontal: bool = False, captions: list[str] | None = None) -> None:
    st.radio(t(label_key), options, index=None, key=key(prefix, path), horizontal=horizontal,
             format_func=(lambda v: label(kind, v)) if kind else str, captions=captions)
    show_errors(prefix, path, nested=True)


def commitments(prefix: str, path: str, text_key: str, *, note_key: str | None = None) -> None:
    with st.container(border=True):
        st.markdown(t(text_key))
        if note_key:
            st.caption(t(note_key))
        st.checkbox(t("accept_commitments"), key=key(prefix, path))
    show_errors(prefix, path)


def phone_row(prefix: str, section: str) -> None:
    """Téléphone, poste, télécopieur on one line, as on the paper form (sections 2 and 3)."""
    c1, c2, c3 = st.columns([2, 1, 2])
    with c1:
        text(prefix, f"{section}.phone", "phone", help_key="phone_help")
    with c2:
        text(prefix, f"{section}.extension", "extension")
    with c3:
        text(prefix, f"{section}.fax", "fax")
