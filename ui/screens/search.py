"""« Rechercher une demande » (every staff role, read-only): one box over the reference, the
user's and the authorizer's names and emails and the establishment number; a request opens
with its sections, its timeline and its signed record. Acting stays on the queues, except on
the access issued for a request: a respondent or a manager revokes or restores it here, with a
reason (the SOES sees its state only); and a request not approved yet may be cancelled by them,
with a reason (``ui.widgets.cancel_action``)."""

from __future__ import annotations

import streamlit as st

from flows.api import ACCESS_ROLES, restore_access, revoke_access
from models.accounts import STAFF_ROLES
from models.queries import request_access_state, request_review, request_timeline, search_requests
from ui.common import require_staff
from ui.feedback import flash, guarded, refusals, show_flash
from ui.formatting import fmt_date, fmt_dt
from ui.i18n import label, t
from ui.widgets.cancel_action import cancel_action
from ui.widgets.link_actions import link_actions
from ui.widgets.record import signed_record_panel
from ui.widgets.summary import request_summary

me = require_staff(*STAFF_ROLES)
st.title(t("page_search"))
st.caption(t("search_intro"))
show_flash("success")
show_flash()


@guarded
def _change_access(request_id: int, reference: str, revoke: bool) -> None:
    reason = st.session_state.get(f"access_reason:{request_id}", "")
    with refusals() as refused:
        (revoke_access if revoke else restore_access)(request_id, staff=me["username"], reason=reason)
    if not refused:
        st.session_state[f"access_reason:{request_id}"] = ""
        flash(t("access_revoked_done" if revoke else "access_restored_done", reference=reference), "success")


def _access_panel(request_id: int, reference: str) -> None:
    """The issued access under the request: its state, and for the roles that may, revoke or
    restore it with a reason."""
    st.markdown(f"### {t('access_heading')}")
    access = request_access_state(request_id)
    if access is None:
        st.caption(t("access_not_issued"))
        return
    start, end = fmt_date(access["valid_from"]), fmt_date(access["valid_until"])
    if access["state"] == "revoked":
        st.warning(t("access_revoked_since", when=fmt_dt(access["revoked_at"]), end=end))
    elif access["state"] == "expired":
        st.info(t("access_expired_since", end=end))
        return
    else:
        st.success(t("access_active", start=start, end=end))
    if me["role"] not in ACCESS_ROLES:
        return
    revoke = access["state"] == "active"
    st.text_area(t("access_reason"), key=f"access_reason:{request_id}", max_chars=500)
    st.button(t("access_revoke" if revoke else "access_restore"), key=f"access_go:{request_id}",
              type="primary" if revoke else "secondary", on_click=_change_access,
              args=(request_id, reference, revoke))

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
picked = st.selectbox(t("search_open"), list(by_id), key="search_pick", placeholder=t("choose"),
                      format_func=lambda rid: f"{by_id[rid]['reference']} — {by_id[rid]['user']}")
review = request_review(picked) if picked is not None else None
if review is None:
    st.stop()
st.header(t("request_reference", reference=review["reference"]))
st.caption(f"{t('col_status')} : {label('status', review['status'])}")
request_summary(review["request"], user_signed_at=review["user_signed_at"],
                authorization_signed_at=review["authorization_signed_at"], with_section3=True)
_access_panel(picked, review["reference"])
cancel_action(picked, review["reference"], review["status"], me)
link_actions(picked, review["reference"], me)
st.markdown(f"### {t('timeline')}")
st.dataframe([{t("col_last_at"): fmt_dt(e["at"]), t("col_event"): label("event", e["event"]),
               t("col_actor"): e["actor"]} for e in request_timeline(picked)], hide_index=True, width="stretch")
signed_record_panel(picked)
