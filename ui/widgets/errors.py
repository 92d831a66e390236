"""The rules' errors on a form: each under its own field, a count at the top of the form and a
summary, with the label of each field, near the button that sent it.

For screen readers and the keyboard (WCAG 3.3.1, 1.3.1, 2.4.3; SGQRI 008), a small script of the
page (:func:`link_errors`) ties each field to its message (``aria-invalid``,
``aria-describedby``: Streamlit has no parameter for them) and makes each line of the summary a
link that moves the focus to its field. Streamlit shows every ``st.error`` with
``role="alert"``: the messages are announced as they appear.
"""

from __future__ import annotations

import json
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


def css_class(widget_key: str) -> str:
    """The class Streamlit gives the element of a widget or container with this key."""
    return "st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", widget_key.strip())


def field_messages(widget_key: str, messages: list[str]) -> None:
    """The messages under one field, in a container the page's script finds by its key
    (``err:`` + the field's key) to tie them to the field."""
    if not messages:
        return
    with st.container(key="err:" + widget_key):
        for message in messages:
            st.error(message, icon="⚠️")


def show_errors(prefix: str, path: str, *, nested: bool = False) -> None:
    field_messages(key(prefix, path), errors_at(prefix, path, nested=nested))


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


def field_key(prefix: str, path: str, slotmap: list[int]) -> str:
    """The key of the widget an error path names; a path with no widget of its own (a group,
    ``applications[0]``) gives its parent's, which the script matches as a prefix."""
    box = number_box(path, slotmap)
    if box is not None:
        return key(prefix, f"est.{box}")
    return key(prefix, re.sub(r"\[\d+\]$", "", path))


def anchor(widget_key: str) -> str:
    """The id the page's script gives a field, the target of its line in the summary."""
    return "ramq-" + css_class(widget_key)[len("st-key-"):]


def errors_summary(prefix: str) -> None:
    """All errors, with the label of their field, near the button that sent the form; each line
    a link to its field."""
    errors = all_errors(prefix)
    if not errors:
        return
    slotmap = list(st.session_state.get(key(prefix, SLOTMAP)) or [])
    lines = [f"- [{md_escape(path_label(p, slotmap))}](#{anchor(field_key(prefix, p, slotmap))}) : {md_escape(m)}"
             for p, m in errors]
    st.error(t("errors_summary") + "\n\n" + "\n".join(lines))
    link_errors(prefix, sorted({field_key(prefix, p, slotmap) for p, _ in errors}))


# The fields' containers (exact key, or a group's keys starting with it); their inputs get an id,
# aria-invalid and aria-describedby (the message's id); a summary link focuses its field. Run
# again shortly after: Streamlit may still be drawing the fields when the script starts.
_LINK_SCRIPT = """
(() => {
  const fields = %s;
  const link = () => {
    document.querySelectorAll('[data-ramq-invalid]').forEach(el => {
      el.removeAttribute('aria-invalid'); el.removeAttribute('aria-describedby');
      el.removeAttribute('data-ramq-invalid'); });
    for (const [cls, id] of fields) {
      let boxes = [...document.querySelectorAll('.' + cls)];
      if (!boxes.length) boxes = [...document.querySelectorAll('[class*="' + cls + '-"]')]
        .filter(el => !el.className.includes('st-key-err-'));
      const inputs = boxes.flatMap(b => [...b.querySelectorAll(
        'input:not([type=hidden]):not([type=file]), textarea, [role=radiogroup], button')]).slice(0, 12);
      if (!inputs.length) continue;
      // A field's (?) help button comes before its input: the link's target is the input.
      const first = inputs.find(el => el.tagName !== 'BUTTON') || inputs[0];
      first.id = first.id || id;
      const message = document.querySelector('.st-key-err-' + cls.slice(7));
      for (const input of inputs) {
        if (input.tagName === 'BUTTON') continue;
        input.setAttribute('aria-invalid', 'true'); input.setAttribute('data-ramq-invalid', '');
        if (message) { message.id = 'msg-' + id; input.setAttribute('aria-describedby', 'msg-' + id); }
      }
      document.querySelectorAll('a[href="#' + id + '"]').forEach(a => { a.onclick = (e) => {
        e.preventDefault(); const target = document.getElementById(first.id) || first;
        target.scrollIntoView({block: 'center'}); target.focus(); }; });
    }
  };
  link(); [100, 500, 1500].forEach(ms => setTimeout(link, ms));
})();
"""


def link_errors(prefix: str, widget_keys: list[str]) -> None:
    """Ties the fields named by errors to their messages and to the summary's links (see the
    module's docstring). The data are our widget keys only, never what was typed."""
    fields = [(css_class(k), anchor(k)) for k in widget_keys]
    script = _LINK_SCRIPT % json.dumps(fields).replace("<", "\\u003c")
    st.html(f"<script>{script}</script>", unsafe_allow_javascript=True)


def errors_banner(prefix: str) -> None:
    errors = all_errors(prefix)
    if errors:
        st.error(t("form_has_errors", n=len(errors)))
