"""Form widgets shared by the screens: the request form (submission and correction), section 3
(authorization), the signature (pad or image), the read-only summary of a request, and the
display of the rules' errors next to their fields.

Every widget has a key ``"<prefix>:<path>"`` where ``path`` is the canonical request's path
(``user.email``, ``authorization.role``...), the same path a ``FieldError`` names: what was typed
stays on an error, and each error shows under its own field. The page builds the canonical
request from these keys and hands it to ``flows.api``; the rules live in ``models.rules``.
"""

from __future__ import annotations

import base64
import re
from datetime import date
from typing import Any, Iterable

import streamlit as st

from models.canonical import APPLICATIONS, ORGANIZATION_TYPES, REGISTER_SCOPES, SEXES
from models.rules import allowed_roles, board_resolution_required
from ui.common import decode_image
from ui.formatting import bold, fmt_dt, md_escape
from ui.i18n import label, t

ERRORS = "__errors__"
SLOTS = "__slots__"
SLOTMAP = "__slotmap__"
DEFAULT_SLOTS = 6

USER_FIELDS = ("first_name", "last_name", "sex", "function", "email", "phone", "extension", "fax",
               "establishment_name", "establishment_number", "address", "postal_code")
SECTION3_FIELDS = ("role", "sex", "function", "phone", "extension", "fax", "organization_name",
                   "address", "postal_code")

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


def key(prefix: str, path: str) -> str:
    return f"{prefix}:{path}"


def _ss() -> Any:
    return st.session_state


# --- Errors --------------------------------------------------------------------------------------


def set_errors(prefix: str, errors: Iterable[Any]) -> None:
    """Remembers the rules' errors (FieldError-like) as plain (path, message) pairs."""
    _ss()[key(prefix, ERRORS)] = [(str(e.path), str(e.message)) for e in errors]


def clear_errors(prefix: str) -> None:
    _ss()[key(prefix, ERRORS)] = []


def all_errors(prefix: str) -> list[tuple[str, str]]:
    return list(_ss().get(key(prefix, ERRORS)) or [])


def errors_at(prefix: str, path: str, *, nested: bool = False) -> list[str]:
    out = []
    for p, message in all_errors(prefix):
        if p == path or (nested and (p.startswith(path + ".") or p.startswith(path + "["))):
            out.append(message)
    return out


def show_errors(prefix: str, path: str, *, nested: bool = False) -> None:
    for message in errors_at(prefix, path, nested=nested):
        st.error(message, icon="⚠️")


def path_label(path: str, slotmap: list[int] | None = None) -> str:
    """The label of the field an error path names (``additional_establishment_numbers[2]`` →
    « Numéro 3 »), for the summary of errors."""
    m = re.fullmatch(r"additional_establishment_numbers\[(\d+)\]", path)
    if m:
        slots = slotmap or []
        index = int(m.group(1))
        box = (slots[index] if index < len(slots) else index) + 1
        return f"{t('section5')} — {t('number_n', n=box)}"
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
    slotmap = list(_ss().get(key(prefix, SLOTMAP)) or [])
    lines = [f"- **{md_escape(path_label(p, slotmap))}** : {md_escape(m)}" for p, m in errors]
    st.error(t("errors_summary") + "\n\n" + "\n".join(lines))


def errors_banner(prefix: str) -> None:
    errors = all_errors(prefix)
    if errors:
        st.error(t("form_has_errors", n=len(errors)))


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


# --- Field widgets --------------------------------------------------------------------------------


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


# --- Signature ------------------------------------------------------------------------------------


def signature_from_canvas(json_data: dict | None, png: bytes | None) -> dict | None:
    """The canonical signature of a drawn pad, or None while nothing was drawn."""
    if not json_data or not json_data.get("objects") or not png:
        return None
    return {"method": "drawn", "image_png_base64": base64.b64encode(png).decode("ascii")}


def signature_from_upload(raw: bytes | None) -> dict | None:
    if not raw:
        return None
    return {"method": "image", "image_png_base64": base64.b64encode(raw).decode("ascii")}


def _signature_pad(prefix: str, path: str) -> dict | None:
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception:  # the component could not load: the image upload still works
        st.info(t("signature_pad_unavailable"))
        return None
    st.markdown(bold(t("signature_pad_label")))
    st.caption(t("signature_pad_help"))
    result = st_canvas(stroke_width=3, stroke_color="#0b1f44", background_color="#ffffff",
                       height=170, width=560, drawing_mode="freedraw", return_image_data=True,
                       key=key(prefix, path + ".pad"))
    try:
        value = signature_from_canvas(result.json_data, result.image_bytes)
    except Exception:
        return None
    if value is not None:  # the signer sees that the pad's drawing reached the form
        st.caption(t("signature_captured"))
    return value


def _pad_now(prefix: str, path: str) -> dict | None:
    """The drawn signature as the pad's widget state holds it now. A button's callback runs
    before the script, so the value the previous run derived from the pad can miss a drawing
    that reached the server with the click (sign, then click at once)."""
    state = _ss().get(key(prefix, path + ".pad"))
    try:
        drawing = state.get("drawing") or {}
        data_url = drawing.get("data")
        png = base64.b64decode(data_url.split(";base64,", 1)[1]) if data_url else None
        return signature_from_canvas(drawing.get("raw"), png)
    except Exception:
        return None


def current_signature(prefix: str, path: str) -> dict | None:
    """The canonical signature from the widgets' current state (for the buttons' callbacks)."""
    ss = _ss()
    stored = ss.get(key(prefix, path + ".value"))
    choice = ss.get(key(prefix, path + ".choice"))
    if choice == "drawn" and key(prefix, path + ".pad") in ss:
        return _pad_now(prefix, path)
    if choice == "image":
        upload = ss.get(key(prefix, path + ".upload"))
        try:
            return signature_from_upload(upload.getvalue()) if upload is not None else None
        except Exception:
            return stored
    return stored


def _phone_row(prefix: str, section: str) -> None:
    """Téléphone, poste, télécopieur on one line, as on the paper form (sections 2 and 3)."""
    c1, c2, c3 = st.columns([2, 1, 2])
    with c1:
        text(prefix, f"{section}.phone", "phone", help_key="phone_help")
    with c2:
        text(prefix, f"{section}.extension", "extension")
    with c3:
        text(prefix, f"{section}.fax", "fax")


def show_signature(signature: dict | None, caption: str) -> None:
    raw = decode_image((signature or {}).get("image_png_base64"))
    if raw:
        try:
            st.image(raw, caption=caption, width=280)
            return
        except Exception:
            pass
    st.caption(f"{caption} : {t('no_signature_image')}")


def signature_input(prefix: str, path: str, *, existing: dict | None = None) -> None:
    """Sign on the pad, or upload an image of a handwritten signature (or keep the existing one).
    The canonical value is kept in ``<prefix>:<path>.value`` for the button's callback."""
    st.markdown(bold(t("signature")))
    options = (["keep"] if existing else []) + ["drawn", "image"]
    names = {"keep": t("sign_keep"), "drawn": t("sign_drawn"), "image": t("sign_image")}
    choice = st.radio(t("signature_method"), options, key=key(prefix, path + ".choice"),
                      format_func=names.get)
    value: dict | None = None
    if choice == "keep":
        show_signature(existing, t("signature_preview"))
        value = existing
    elif choice == "drawn":
        value = _signature_pad(prefix, path)
    else:
        upload = st.file_uploader(t("signature_upload"), type=["png", "jpg", "jpeg"],
                                  key=key(prefix, path + ".upload"))
        if upload is not None:
            raw = upload.getvalue()
            value = signature_from_upload(raw)
            show_signature(value, t("signature_preview"))
    _ss()[key(prefix, path + ".value")] = value
    st.caption(t("signature_date_note"))
    show_errors(prefix, path, nested=True)


# --- The request form (sections 1, 2, 5 and the authorizer) --------------------------------------


def _scope_captions() -> list[str]:
    return [t(f"scope_hint_{s}") for s in REGISTER_SCOPES]


def _establishment_numbers(prefix: str) -> None:
    ss = _ss()
    slots = int(ss.get(key(prefix, SLOTS)) or DEFAULT_SLOTS)
    st.caption(t("section5_help"))
    show_errors(prefix, "additional_establishment_numbers")
    slotmap: list[int] = list(ss.get(key(prefix, SLOTMAP)) or [])
    per_slot: dict[int, list[str]] = {}
    for p, message in all_errors(prefix):
        m = re.fullmatch(r"additional_establishment_numbers\[(\d+)\]", p)
        if m:
            index = int(m.group(1))
            per_slot.setdefault(slotmap[index] if index < len(slotmap) else index, []).append(message)
    columns = st.columns(3)
    for i in range(slots):
        with columns[i % 3]:
            st.text_input(t("number_n", n=i + 1), key=key(prefix, f"est.{i}"))
            for message in per_slot.get(i, []):
                st.error(message, icon="⚠️")

    def more() -> None:
        ss[key(prefix, SLOTS)] = slots + 3

    st.button(t("more_numbers"), key=key(prefix, "__more__"), on_click=more)


def request_form(prefix: str, *, existing_signature: dict | None = None) -> None:
    """Sections 1, 2 and 5 of the form, the authorizer's name and email, commitments, signature."""
    ss = _ss()
    st.subheader(t("section1"))
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

    st.subheader(t("section2"))
    st.caption(t("section2_help"))
    c1, c2 = st.columns(2)
    with c1:
        text(prefix, "user.first_name", "first_name")
    with c2:
        text(prefix, "user.last_name", "last_name")
    radio(prefix, "user.sex", "sex", list(SEXES), "sex", horizontal=True)
    text(prefix, "user.function", "function", help_key="function_help")
    text(prefix, "user.email", "email", help_key="email_help")
    _phone_row(prefix, "user")
    text(prefix, "user.establishment_name", "establishment_name")
    text(prefix, "user.establishment_number", "establishment_number",
         help_key="establishment_number_help")
    text(prefix, "user.address", "address")
    text(prefix, "user.postal_code", "postal_code", help_key="postal_code_help")
    show_errors(prefix, "user")

    st.subheader(t("section5"))
    _establishment_numbers(prefix)

    st.subheader(t("section_authorizer"))
    st.caption(t("authorizer_help"))
    c1, c2 = st.columns(2)
    with c1:
        text(prefix, "authorizer.first_name", "authorizer_first_name")
    with c2:
        text(prefix, "authorizer.last_name", "authorizer_last_name")
    text(prefix, "authorizer.email", "authorizer_email", help_key="email_help")
    show_errors(prefix, "authorizer")

    st.subheader(t("section_user_signature"))
    commitments(prefix, "user.commitments_accepted", "user_commitments", note_key="commitments_note")
    signature_input(prefix, "user.signature", existing=existing_signature)


def collect_request(prefix: str) -> dict:
    """The canonical request (SPEC §3) from the widgets' values, as typed (the rules normalize)."""
    ss = _ss()
    get = lambda path: _clean(ss.get(key(prefix, path)))  # noqa: E731
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
        "authorizer": {f: get(f"authorizer.{f}") for f in ("first_name", "last_name", "email")},
        "authorization": None,
    }


def prefill_request(prefix: str, data: dict) -> None:
    """Puts a stored request in the widgets (before they are drawn): the correction screen."""
    ss = _ss()
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
    for f in ("first_name", "last_name", "email"):
        ss[key(prefix, f"authorizer.{f}")] = authorizer.get(f) or ""
    numbers = list(data.get("additional_establishment_numbers") or [])
    slots = max(DEFAULT_SLOTS, len(numbers) + 3)
    ss[key(prefix, SLOTS)] = slots
    for i in range(slots):
        ss[key(prefix, f"est.{i}")] = numbers[i] if i < len(numbers) else ""


def forget(prefix: str) -> None:
    """Drops every value of a form (a new request starts empty)."""
    ss = _ss()
    for k in [k for k in ss.keys() if isinstance(k, str) and k.startswith(prefix + ":")]:
        del ss[k]


# --- Section 3 (the authorizer) -------------------------------------------------------------------


def authorization_form(prefix: str, request: dict) -> None:
    """Section 3, with the roles that fit the organization and, when the rules ask for it, the
    board resolution."""
    ss = _ss()
    st.subheader(t("section3"))
    st.caption(t("section3_help"))
    roles = allowed_roles(request.get("organization_type"))
    radio(prefix, "authorization.role", "role", roles, "role")
    radio(prefix, "authorization.sex", "sex", list(SEXES), "sex", horizontal=True)
    text(prefix, "authorization.function", "function")
    _phone_row(prefix, "authorization")
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
                              format="YYYY-MM-DD")
                show_errors(prefix, "authorization.board_resolution.date")
    commitments(prefix, "authorization.commitments_accepted", "authorizer_commitments")
    signature_input(prefix, "authorization.signature")
    show_errors(prefix, "authorization")


def collect_authorization(prefix: str, request: dict) -> dict:
    ss = _ss()
    get = lambda path: _clean(ss.get(key(prefix, f"authorization.{path}")))  # noqa: E731
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


# --- Read-only summary of a request -----------------------------------------------------------------


def fields_table(rows: list[tuple[str, Any]]) -> None:
    """Label/value rows as a two-column table; values are escaped (typed by someone else)."""
    lines = [f"| {t('field')} | {t('value')} |", "|---|---|"]
    for name, value in rows:
        shown = t("none") if value in (None, "", []) else md_escape(value)
        lines.append(f"| {md_escape(name.rstrip(' *:'))} | {shown} |")
    st.markdown("\n".join(lines))


def _phone(number: str | None, extension: str | None) -> str | None:
    if not number:
        return None
    return f"{number} ({t('extension').lower()} {extension})" if extension else number


def request_summary(data: dict, *, user_signed_at=None, authorization_signed_at=None,
                    with_section3: bool = False) -> None:
    """Sections 1, 5, 2 and the authorizer (and section 3 when asked), with the signatures."""
    st.markdown(f"#### {t('section1')}")
    fields_table([
        (t("applications"), ", ".join(label("application", a) for a in data.get("applications") or [])),
        (t("existing_username_summary"), data.get("existing_username") or t("existing_access_none")),
        (t("organization_type"), label("organization_type", data.get("organization_type"))),
        (t("register_scope"), label("register_scope", data.get("register_scope"))),
    ])
    st.markdown(f"#### {t('section5')}")
    fields_table([(t("additional_numbers"), ", ".join(data.get("additional_establishment_numbers") or []))])
    user = data.get("user") or {}
    st.markdown(f"#### {t('section2')}")
    fields_table([
        (t("first_name"), user.get("first_name")), (t("last_name"), user.get("last_name")),
        (t("sex"), user.get("sex")), (t("function"), user.get("function")),
        (t("email"), user.get("email")), (t("phone"), _phone(user.get("phone"), user.get("extension"))),
        (t("fax"), user.get("fax")), (t("establishment_name"), user.get("establishment_name")),
        (t("establishment_number"), user.get("establishment_number")),
        (t("address"), user.get("address")), (t("postal_code"), user.get("postal_code")),
        (t("commitments_accepted"), t("yes") if user.get("commitments_accepted") else t("no")),
    ])
    caption = t("user_signature")
    if user_signed_at:
        caption += " — " + t("signed_on", date=fmt_dt(user_signed_at))
    show_signature(user.get("signature"), caption)
    authorizer = data.get("authorizer") or {}
    st.markdown(f"#### {t('section_authorizer')}")
    fields_table([
        (t("authorizer_first_name"), authorizer.get("first_name")),
        (t("authorizer_last_name"), authorizer.get("last_name")),
        (t("authorizer_email"), authorizer.get("email")),
    ])
    if not with_section3:
        return
    st.markdown(f"#### {t('section3')}")
    section3 = data.get("authorization")
    if not section3:
        st.info(t("not_yet_authorized"))
        return
    resolution = section3.get("board_resolution") or {}
    fields_table([
        (t("role"), label("role", section3.get("role"))), (t("sex"), section3.get("sex")),
        (t("function"), section3.get("function")),
        (t("phone"), _phone(section3.get("phone"), section3.get("extension"))),
        (t("fax"), section3.get("fax")), (t("organization_name"), section3.get("organization_name")),
        (t("address"), section3.get("address")), (t("postal_code"), section3.get("postal_code")),
        (t("board_resolution_number"), resolution.get("number")),
        (t("board_resolution_date"), resolution.get("date")),
        (t("commitments_accepted"), t("yes") if section3.get("commitments_accepted") else t("no")),
    ])
    caption = t("authorizer_signature")
    if authorization_signed_at:
        caption += " — " + t("signed_on", date=fmt_dt(authorization_signed_at))
    show_signature(section3.get("signature"), caption)
