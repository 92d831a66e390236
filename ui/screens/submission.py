"""« Nouvelle demande »: sections 1, 2 and 5, the authorizer, commitments and signature.

The page builds the canonical request from its widgets and calls ``flows.api.submit_request``;
the rules' errors come back as FieldErrors and show under their fields, with what was typed kept.
"""

from __future__ import annotations

import streamlit as st

from flows.api import renewal_form, submit_request
from flows.errors import ActionError
from ui.common import client_address
from ui.feedback import guarded, refusals, show_flash
from ui.i18n import lang, t
from ui.widgets.errors import clear_errors, errors_banner, errors_summary
from ui.widgets.keys import forget, key
from ui.widgets.request_form import collect_request, prefill_request, request_form

PREFIX = "sub"
DONE = key(PREFIX, "__done__")
RENEWED = key(PREFIX, "__renewed__")  # the renewal link already put in the form


@guarded
def _submit() -> None:
    data = collect_request(PREFIX)
    with refusals(form=PREFIX) as refused:
        # Unknown client: local browsers share one counter.
        client = client_address() or "localhost"
        submitted = submit_request(data, actor="formulaire", lang=lang(), client=client)
    if refused:
        return
    # Right after the call, with no Streamlit element in between: a second click cannot find
    # the form still filled in and send it twice.
    st.session_state[DONE] = {"reference": submitted.reference}
    clear_errors(PREFIX)


def _new_request() -> None:
    forget(PREFIX)


st.title(t("form_title"))
st.caption(t("form_subtitle"))
show_flash()

done = st.session_state.get(DONE)
if done:
    st.success(f"## {t('submitted_title')}\n\n" + t("submitted_reference", reference=done["reference"]))
    st.markdown(t("submitted_next"))
    st.button(t("new_request"), key="sub_new", on_click=_new_request)
    st.stop()

renew_token = st.query_params.get("t")
if renew_token and (st.session_state.get(RENEWED) or {}).get("token") != renew_token:
    # A renewal link (the access ends soon): the old request in the form, once, to check and sign.
    try:
        prefill_request(PREFIX, renewal_form(renew_token))
        st.session_state[RENEWED] = {"token": renew_token, "error": None}
    except ActionError as exc:
        st.session_state[RENEWED] = {"token": renew_token, "error": exc.message(lang())}
renewed = st.session_state.get(RENEWED) or {}
if renewed.get("error"):
    st.error(renewed["error"])
elif renewed:
    st.success(t("renewal_prefilled"))
st.info(t("directives"))
errors_banner(PREFIX)
request_form(PREFIX)
st.divider()
errors_summary(PREFIX)
st.button(t("submit"), key="sub_submit", type="primary", on_click=_submit)
