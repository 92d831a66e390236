"""The rules' errors on a form: each under its own field, a count at the top of the form and a
summary, with the label of each field, near the button that sent it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import streamlit as st

from ui.formatting import md_escape
from ui.i18n import t
from ui.widgets.keys import SECTION3_FIELDS, SLOTMAP, USER_FIELDS, key

ERRORS = "__errors__"

# Where an error path is shown in the summary: the i18n key of its field's label.
PATH_LABELS: dict[str, str] = {
    "applications": "applications",
    "existing_username": "existing_username",
    "organization_type": "organization_type",
    "register_scope": "register_scope",
    "additional_establishment_numbers": "section5",
    "authorizer.first_name": "authorizer_first_name",
    "authorizer.last_name": "authorizer_last_name",
    "authorizer.email": "authorizer_email",
    "authorizer": "section_authorizer",
    "user": "section2",
    "user.commitments_accepted": "accept_commitments",
    "user.signature": "signature",
    "authorization.commitments_accepted": "accept_commitments",
    "authorization.signature": "signature",
    "authorization.board_resolution": "board_resolution",
    "authorization.board_resolution.number": "board_resolution_number",
    "authorization.board_resolution.date": "board_resolution_date",
    "authorization": "section3",
    "$": "form_title",
    **{f"user.{f}": f for f in USER_FIELDS},
    **{f"authorization.{f}": f for f in SECTION3_FIELDS},
}
PATH_LABELS["authorization.organization_name"] = "organization_name"

_NUMBER_PATH = re.compile(r"additional_establishment_numbers\[(\d+)\]")


def set_errors(prefix: str, errors: Iterable[Any]) -> None:
    """Remembers the rules' errors (FieldError-like) as plain (path, message) pairs."""
    st.session_state[key(prefix, ERRORS)] = [(str(e.path), str(e.message)) for e in errors]


def clear_errors(prefix: str) -> None:
    st.session_state[key(prefix, ERRORS)] = []


def all_errors(prefix: str) -> list[tuple[str, str]]:
    return list(st.session_state.get(key(prefix, ERRORS)) or [])


def errors_at(prefix: str, path: str, *, nested: bool = False) -> list[str]:
    out = []
    for p, message in all_errors(prefix):
        if p == path or (nested and (p.startswith(path + ".") or p.startswith(path + "["))):
            out.append(message)
    return out


def show_errors(prefix: str, path: str, *, nested: bool = False) -> None:
    for message in errors_at(prefix, path, nested=nested):
        st.error(message, icon="⚠️")


def number_box(path: str, slotmap: list[int]) -> int | None:
    """The box (from 0) of the additional establishment number an error path names
    (``additional_establishment_numbers[2]``), or None for any other path. Empty boxes are not
    sent: ``slotmap`` says which box each sent number came from."""
    m = _NUMBER_PATH.fullmatch(path)
    if not m:
        return None
    index = int(m.group(1))
    return slotmap[index] if index < len(slotmap) else index


def path_label(path: str, slotmap: list[int] | None = None) -> str:
    """The label of the field an error path names (``additional_establishment_numbers[2]`` →
    « Numéro 3 »), for the summary of errors."""
    box = number_box(path, slotmap or [])
    if box is not None:
        return f"{t('section5')} — {t('number_n', n=box + 1)}"
    probe = path
    while probe:
        if probe in PATH_LABELS:
            return t(PATH_LABELS[probe]).rstrip(" *:")
        probe = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", probe) if ("." in probe or "[" in probe) else ""
    return path


def errors_summary(prefix: str) -> None:
    """All errors, with the label of their field, near the button that sent the form."""
    errors = all_errors(prefix)
    if not errors:
        return
    slotmap = list(st.session_state.get(key(prefix, SLOTMAP)) or [])
    lines = [f"- **{md_escape(path_label(p, slotmap))}** : {md_escape(m)}" for p, m in errors]
    st.error(t("errors_summary") + "\n\n" + "\n".join(lines))


def errors_banner(prefix: str) -> None:
    errors = all_errors(prefix)
    if errors:
        st.error(t("form_has_errors", n=len(errors)))
