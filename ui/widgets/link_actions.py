"""The staff's actions on a request's links, under a request opened in « Rechercher une
demande »: while the authorizer is awaited, send them a new link or ask the user to name another
authorizer (with a reason); while the user's correction is awaited, send them a new link. Each
new link voids the earlier one at once (``flows.api.resend_link``, ``change_authorizer``)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from flows.api import ACCESS_ROLES, change_authorizer, resend_link, waiting_link
from ui.feedback import flash, guarded, refusals
from ui.i18n import t


@guarded
def _resend(request_id: int, reference: str, purpose: str, staff: str) -> None:
    with refusals() as refused:
        resend_link(request_id, staff=staff, purpose=purpose)
    if not refused:
        done = "links_resent_authorizer_done" if purpose == "authorize" else "links_resent_correction_done"
        flash(t(done, reference=reference), "success")


@guarded
def _change(request_id: int, reference: str, staff: str) -> None:
    key = f"links_reason:{request_id}"
    with refusals() as refused:
        change_authorizer(request_id, staff=staff, reason=st.session_state.get(key, ""))
    if not refused:
        st.session_state[key] = ""
        flash(t("links_changed_done", reference=reference), "success")


def link_actions(request_id: int, reference: str, me: dict[str, Any]) -> None:
    """The buttons of the step the request waits on, for a respondent or a manager (the SOES
    and the other steps: nothing)."""
    if me["role"] not in ACCESS_ROLES:
        return
    purpose = waiting_link(request_id)
    if purpose is None:
        return
    st.markdown(f"### {t('links_heading')}")
    if purpose == "correct":
        st.caption(t("links_intro_correction"))
        st.button(t("links_resend_correction"), key=f"links_resend:{request_id}", on_click=_resend,
                  args=(request_id, reference, purpose, me["username"]))
        return
    st.caption(t("links_intro_authorizer"))
    st.button(t("links_resend_authorizer"), key=f"links_resend:{request_id}", on_click=_resend,
              args=(request_id, reference, purpose, me["username"]))
    st.text_area(t("links_change_reason"), key=f"links_reason:{request_id}", max_chars=500)
    st.button(t("links_change_authorizer"), key=f"links_change:{request_id}", on_click=_change,
              args=(request_id, reference, me["username"]))
