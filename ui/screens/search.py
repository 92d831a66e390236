"""« Rechercher une demande » (every staff role, read-only): one box over the reference, the
user's and the authorizer's names and emails and the establishment number; a request opens
with its sections, its timeline and its signed record. Acting stays on the queues."""

from __future__ import annotations

import streamlit as st

from models.accounts import STAFF_ROLES
from models.queries import request_review, request_timeline, search_requests
from ui.common import require_staff
from ui.formatting import fmt_dt
from ui.i18n import label, t
from ui.widgets.record import signed_record_panel
from ui.widgets.summary import request_summary

require_staff(*STAFF_ROLES)
st.title(t("page_search"))
st.caption(t("search_intro"))
query = st.text_input(t("search_box"), key="search_q", placeholder=t("search_placeholder"))
if not query.strip():
    st.stop()
found = search_requests(query)
if not found:
    st.info(t("search_none"))
    st.stop()
st.caption(t("search_count", n=len(found)))
st.dataframe([{t("col_reference"): r["reference"], t("col_status"): label("status", r["status"]),
               t("col_user"): r["user"], t("col_authorizer"): r["authorizer"],
               t("establishment_number"): r["establishment_number"], t("col_created"): fmt_dt(r["created_at"])}
              for r in found], hide_index=True, width="stretch")
by_id = {r["request_id"]: r for r in found}
picked = st.selectbox(t("search_open"), list(by_id), key="search_pick",
                      format_func=lambda rid: f"{by_id[rid]['reference']} — {by_id[rid]['user']}")
review = request_review(picked) if picked is not None else None
if review is None:
    st.stop()
st.subheader(t("request_reference", reference=review["reference"]))
st.caption(f"{t('col_status')} : {label('status', review['status'])}")
request_summary(review["request"], user_signed_at=review["user_signed_at"],
                authorization_signed_at=review["authorization_signed_at"], with_section3=True)
st.markdown(f"#### {t('timeline')}")
st.dataframe([{t("col_last_at"): fmt_dt(e["at"]), t("col_event"): label("event", e["event"]),
               t("col_actor"): e["actor"]} for e in request_timeline(picked)], hide_index=True, width="stretch")
signed_record_panel(picked)
