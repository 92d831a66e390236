"""The request form: sections 1, 2 and 5 of the paper form, the authorizer's name and email, the
user's commitments and signature; the canonical request built from it (submission and
correction), and a stored request put back in it (correction)."""

from __future__ import annotations

import streamlit as st

from models.canonical import APPLICATIONS, ORGANIZATION_TYPES, REGISTER_SCOPES, SEXES
from ui.formatting import bold
from ui.i18n import label, t
from ui.widgets.errors import all_errors, field_messages, number_box, show_errors
from ui.widgets.fields import clean, commitments, phone_row, radio, text
from ui.widgets.keys import AUTHORIZER_FIELDS, SLOTMAP, USER_FIELDS, key
from ui.widgets.signature import current_signature, signature_input

SLOTS = "__slots__"  # how many boxes of additional establishment numbers are shown
DEFAULT_SLOTS = 6


def _scope_captions() -> list[str]:
    return [t(f"scope_hint_{s}") for s in REGISTER_SCOPES]


def _establishment_numbers(prefix: str) -> None:
    ss = st.session_state
    slots = int(ss.get(key(prefix, SLOTS)) or DEFAULT_SLOTS)
    st.caption(t("section5_help"))
    show_errors(prefix, "additional_establishment_numbers")
    slotmap: list[int] = list(ss.get(key(prefix, SLOTMAP)) or [])
    per_slot: dict[int, list[str]] = {}
    for p, message in all_errors(prefix):
        box = number_box(p, slotmap)
        if box is not None:
            per_slot.setdefault(box, []).append(message)
    # Row by row, not column by column: the page's order (hence Tab's and a screen reader's) is
    # the reading order 1, 2, 3, 4… (three columns filled in turn gave 1, 4, 2, 5, 3, 6).
    for row in range(0, slots, 3):
        for column, i in zip(st.columns(3), range(row, min(row + 3, slots)), strict=False):
            with column:
                st.text_input(t("number_n", n=i + 1), key=key(prefix, f"est.{i}"))
                field_messages(key(prefix, f"est.{i}"), per_slot.get(i, []))

    def more() -> None:
        ss[key(prefix, SLOTS)] = slots + 3

    st.button(t("more_numbers"), key=key(prefix, "__more__"), on_click=more)


def _name_row(prefix: str, person: str, first_label: str, last_label: str) -> None:
    """A person's first and last names side by side (the user's section 2, the authorizer)."""
    c1, c2 = st.columns(2)
    with c1:
        text(prefix, f"{person}.first_name", first_label)
    with c2:
        text(prefix, f"{person}.last_name", last_label)


def request_form(prefix: str, *, existing_signature: dict | None = None) -> None:
    """Sections 1, 2 and 5 of the form, the authorizer's name and email, commitments, signature."""
    ss = st.session_state
    st.header(t("section1"))
    st.markdown(bold(t("applications")))
    st.caption(t("applications_help"))
    for app in APPLICATIONS:
        st.checkbox(label("application", app), key=key(prefix, f"applications.{app}"))
    show_errors(prefix, "applications", nested=True)
    st.caption(t("payment_note"))
    st.radio(t("has_existing_access"), ["yes", "no"], index=None, horizontal=True,
             key=key(prefix, "existing_access"), format_func=lambda v: t(v))
    if ss.get(key(prefix, "existing_access")) == "yes":
        text(prefix, "existing_username", "existing_username")
    radio(prefix, "organization_type", "organization_type", list(ORGANIZATION_TYPES), "organization_type")
    radio(prefix, "register_scope", "register_scope", list(REGISTER_SCOPES), "register_scope",
          captions=_scope_captions())

    st.header(t("section2"))
    st.caption(t("section2_help"))
    _name_row(prefix, "user", "first_name", "last_name")
    radio(prefix, "user.sex", "sex", list(SEXES), "sex", horizontal=True)
    text(prefix, "user.function", "function", help_key="function_help")
    text(prefix, "user.email", "email", help_key="email_help")
    phone_row(prefix, "user")
    text(prefix, "user.establishment_name", "establishment_name")
    text(prefix, "user.establishment_number", "establishment_number",
         help_key="establishment_number_help")
    text(prefix, "user.address", "address")
    text(prefix, "user.postal_code", "postal_code", help_key="postal_code_help")
    show_errors(prefix, "user")

    st.header(t("section5"))
    _establishment_numbers(prefix)

    st.header(t("section_authorizer"))
    st.caption(t("authorizer_help"))
    _name_row(prefix, "authorizer", "authorizer_first_name", "authorizer_last_name")
    text(prefix, "authorizer.email", "authorizer_email", help_key="email_help")
    show_errors(prefix, "authorizer")

    st.header(t("section_user_signature"))
    commitments(prefix, "user.commitments_accepted", "user_commitments", note_key="commitments_note")
    signature_input(prefix, "user.signature", existing=existing_signature)


def collect_request(prefix: str) -> dict:
    """The canonical request (SPEC §3) from the widgets' values, as typed (the rules normalize)."""
    ss = st.session_state
    get = lambda path: clean(ss.get(key(prefix, path)))  # noqa: E731
    numbers: list[str] = []
    slotmap: list[int] = []
    for i in range(int(ss.get(key(prefix, SLOTS)) or DEFAULT_SLOTS)):
        value = get(f"est.{i}")
        if value is not None:
            numbers.append(value)
            slotmap.append(i)
    ss[key(prefix, SLOTMAP)] = slotmap
    user = {f: get(f"user.{f}") for f in USER_FIELDS}
    user["commitments_accepted"] = bool(ss.get(key(prefix, "user.commitments_accepted")))
    user["signature"] = current_signature(prefix, "user.signature")
    return {
        "applications": [a for a in APPLICATIONS if ss.get(key(prefix, f"applications.{a}"))],
        "existing_username": get("existing_username") if get("existing_access") == "yes" else None,
        "organization_type": get("organization_type"),
        "register_scope": get("register_scope"),
        "additional_establishment_numbers": numbers,
        "user": user,
        "authorizer": {f: get(f"authorizer.{f}") for f in AUTHORIZER_FIELDS},
        "authorization": None,
    }


def prefill_request(prefix: str, data: dict) -> None:
    """Puts a stored request in the widgets (before they are drawn): the correction screen."""
    ss = st.session_state
    for app in APPLICATIONS:
        ss[key(prefix, f"applications.{app}")] = app in (data.get("applications") or [])
    ss[key(prefix, "existing_access")] = "yes" if data.get("existing_username") else "no"
    ss[key(prefix, "existing_username")] = data.get("existing_username") or ""
    for name in ("organization_type", "register_scope"):
        ss[key(prefix, name)] = data.get(name)
    user = data.get("user") or {}
    for f in USER_FIELDS:
        value = user.get(f)
        ss[key(prefix, f"user.{f}")] = value if f == "sex" else (value or "")
    ss[key(prefix, "user.commitments_accepted")] = bool(user.get("commitments_accepted"))
    authorizer = data.get("authorizer") or {}
    for f in AUTHORIZER_FIELDS:
        ss[key(prefix, f"authorizer.{f}")] = authorizer.get(f) or ""
    numbers = list(data.get("additional_establishment_numbers") or [])
    slots = max(DEFAULT_SLOTS, len(numbers) + 3)
    ss[key(prefix, SLOTS)] = slots
    for i in range(slots):
        ss[key(prefix, f"est.{i}")] = numbers[i] if i < len(numbers) else ""
