"""« Autoriser » (``/autoriser?t=…``, the link emailed to the authorizer).

Opening the link only shows the request (mail scanners prefetch links); only a button decides.
A used, expired, voided or forged link shows the API's French message, never a traceback.
"""

from __future__ import annotations

import streamlit as st

from flows.api import authorizer_decide
from models.enums import Outcome
from ui.feedback import guarded, refusals, show_flash
from ui.i18n import lang, t
from ui.links import link_token_or_stop, open_link_or_stop
from ui.widgets.authorization_form import authorization_form, collect_authorization
from ui.widgets.errors import errors_banner, errors_summary
from ui.widgets.keys import key
from ui.widgets.summary import request_summary

st.title(t("page_authorization"))
st.caption(t("form_subtitle"))

token, link_id = link_token_or_stop()
DONE = f"aut_done:{link_id}"


def _finish(outcome: str, reference: str) -> None:
    st.session_state[DONE] = {"outcome": outcome, "reference": reference}


@guarded
def _authorize(prefix: str, request: dict, reference: str) -> None:
    section3 = collect_authorization(prefix, request)
    with refusals(form=prefix) as refused:
        authorizer_decide(token, outcome=Outcome.authorize, section3=section3, lang=lang())
    if refused:
        return
    _finish("authorize", reference)


@guarded
def _refuse(prefix: str, reference: str) -> None:
    reason = (st.session_state.get(key(prefix, "refuse_reason")) or "").strip()
    with refusals() as refused:
        authorizer_decide(token, outcome=Outcome.refuse, reason=reason, lang=lang())
    if refused:
        return
    _finish("refuse", reference)


done = st.session_state.get(DONE)
if done:
    message = "authorized_done" if done["outcome"] == Outcome.authorize else "refused_done"
    st.success(t(message, reference=done["reference"]))
    st.stop()

show_flash()
view = open_link_or_stop(token, "authorize")

prefix = f"aut{view.request_id}r{view.revision}"
st.header(t("request_reference", reference=view.reference))
st.info(t("opening_decides_nothing"))

with st.expander(t("summary_title"), expanded=True):
    request_summary(view.request)

errors_banner(prefix)
authorization_form(prefix, view.request)
errors_summary(prefix)
st.button(t("authorize"), key=f"{prefix}_authorize", type="primary",
          on_click=_authorize, args=(prefix, view.request, view.reference))

st.divider()
with st.expander(t("refuse_title")):
    st.text_area(t("refuse_reason"), key=key(prefix, "refuse_reason"), help=t("refuse_help"))
    st.button(t("refuse"), key=f"{prefix}_refuse", on_click=_refuse, args=(prefix, view.reference))
