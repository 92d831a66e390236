"""« Corriger » (``/corriger?t=…``, the link emailed to the user when the RAMQ sends a request
back): the request pre-filled, the respondent's comments, then ``resubmit_correction``."""

from __future__ import annotations

import streamlit as st

from flows.api import resubmit_correction
from ui.feedback import guarded, refusals, show_flash
from ui.formatting import md_escape
from ui.i18n import lang, t
from ui.links import link_token_or_stop, open_link_or_stop
from ui.widgets.errors import errors_banner, errors_summary
from ui.widgets.keys import key
from ui.widgets.request_form import collect_request, prefill_request, request_form

st.title(t("page_correction"))
st.caption(t("form_subtitle"))

token, link_id = link_token_or_stop()
DONE = f"cor_done:{link_id}"


@guarded
def _resubmit(prefix: str, reference: str) -> None:
    data = collect_request(prefix)
    with refusals(form=prefix) as refused:
        resubmit_correction(token, data, lang=lang())
    if refused:
        return
    st.session_state[DONE] = {"reference": reference}


done = st.session_state.get(DONE)
if done:
    st.success(t("resubmitted_done", reference=done["reference"]))
    st.stop()

show_flash()
view = open_link_or_stop(token, "correct")

prefix = f"cor{view.request_id}r{view.revision}"
if not st.session_state.get(key(prefix, "__prefilled__")):
    prefill_request(prefix, view.request)
    st.session_state[key(prefix, "__prefilled__")] = True

st.header(t("request_reference", reference=view.reference))
st.info(t("correction_intro", reference=view.reference))
if view.comments:
    st.warning(f"**{t('respondent_comments')}**\n\n{md_escape(view.comments, multiline=True)}")

errors_banner(prefix)
request_form(prefix, existing_signature=(view.request.get("user") or {}).get("signature"))
st.divider()
errors_summary(prefix)
st.button(t("resubmit"), key=f"{prefix}_resubmit", type="primary",
          on_click=_resubmit, args=(prefix, view.reference))
