"""« Annuler ma demande » (``/annuler?t=…``, the second link of the confirmation email).

Opening the link only shows the reference and the state (mail scanners prefetch links); the
request is cancelled only once the user ticks the confirmation (never ticked in advance) and
clicks. The reason is optional. A request approved, closed or already cancelled says so, like a
used, expired or forged link, in French; never a traceback. No personal data is shown.
"""

from __future__ import annotations

import streamlit as st

from flows.api import cancel_by_user, open_cancel_link
from flows.errors import ActionError
from ui.feedback import guarded, refusals, show_flash
from ui.i18n import label, lang, t
from ui.links import link_token_or_stop, opened_or_stop

st.title(t("page_cancel"))

token, link_id = link_token_or_stop()
DONE = f"cancel_done:{link_id}"
CONFIRM = f"cancel_confirm:{link_id}"
REASON = f"cancel_reason:{link_id}"


@guarded
def _cancel(reference: str) -> None:
    if not st.session_state.get(CONFIRM):
        return
    with refusals() as refused:
        cancel_by_user(token, reason=st.session_state.get(REASON) or None)
    if not refused:
        st.session_state[DONE] = reference


done = st.session_state.get(DONE)
if done:
    st.success(t("cancel_done", reference=done))
    st.stop()

show_flash()
view = opened_or_stop(open_cancel_link, token)

st.header(t("request_reference", reference=view.reference))
st.markdown(t("status_current", status=f"**{label('status', view.status)}**"))
if view.refusal is not None:
    st.info(ActionError(view.refusal).message(lang()))
    st.stop()

st.info(t("opening_decides_nothing"))
st.warning(t("cancel_warning"))
st.text_area(t("cancel_reason_optional"), key=REASON, max_chars=500)
confirmed = st.checkbox(t("cancel_confirm"), key=CONFIRM, value=False)
st.button(t("cancel_go"), key=f"cancel_go:{link_id}", type="primary", disabled=not confirmed,
          on_click=_cancel, args=(view.reference,))
