"""« File de travail » (``/file-de-travail``, respondents only): the open review tasks with
filters and sorting; claim or release a task; review every section with both signatures; fill in
section 4 and decide (approve, refuse, send back; no choice is made in advance, and approving asks
to confirm the person and the applications). Every change goes through ``flows.api``."""

from __future__ import annotations

from datetime import date

import streamlit as st

from flows.api import RESPONDENT_OUTCOMES, proposed_section4, respondent_decide
from models.canonical import ORGANIZATION_TYPES
from models.enums import Outcome
from models.queries import (
    CLAIM_FILTERS,
    QUEUE_SORTS,
    list_queue,
    request_review,
    task_summary,
)
from models.settings import get_settings
from ui.common import keep_values, require_staff, still_signed_in
from ui.feedback import flash, guarded, refusals, show_flash
from ui.formatting import fmt_date, fmt_dt, md_escape
from ui.i18n import label, t
from ui.widgets.record import signed_record_panel
from ui.widgets.summary import fields_table, person_and_applications, request_summary
from ui.widgets.task_desk import TaskDesk

staff = require_staff("respondent")
me = staff["username"]
desk = TaskDesk(staff=me, prefix="q", selected="queue_task_id")


@guarded
def _decide(task_id: int, reference: str) -> None:
    ss = st.session_state
    k = lambda name: f"s4:{task_id}:{name}"  # noqa: E731
    outcome = ss.get(k("outcome"))
    section4 = None
    reason = None
    if outcome is None:
        flash(t("choose_decision"))
        return
    if outcome == Outcome.approve and not ss.get(k("confirm")):
        flash(t("approve_confirm_required"))
        return
    if outcome == Outcome.approve:
        section4 = {"username": ss.get(k("username")), "valid_from": ss.get(k("valid_from")),
                    "valid_until": ss.get(k("valid_until"))}
    else:
        reason = ss.get(k("reason"))
    with refusals() as refused:
        respondent_decide(task_id, staff=me, outcome=outcome or "", section4=section4, reason=reason)
    if refused:
        return
    for name in [n for n in ss.keys() if isinstance(n, str) and n.startswith(f"s4:{task_id}:")]:
        del ss[name]
    desk.close()
    flash(t("decision_recorded", reference=reference), "success")


FILTERS = ("q_org", "q_est", "q_age", "q_overdue", "q_claim", "q_sort", "q_desc")


def _queue() -> None:
    st.caption(t("queue_intro"))
    show_flash("success")
    with st.expander(t("filters"), expanded=True):
        c1, c2 = st.columns(2)
        with c1:
            orgs = st.multiselect(t("filter_org"), list(ORGANIZATION_TYPES), key="q_org",
                                  format_func=lambda v: label("organization_type", v),
                                  placeholder=t("choose"))
            number = st.text_input(t("filter_establishment"), key="q_est")
            min_age = st.number_input(t("filter_min_age"), min_value=0, max_value=3650, step=1,
                                      key="q_age")
        with c2:
            overdue = st.checkbox(t("filter_overdue"), key="q_overdue")
            claim = st.radio(t("filter_claim"), list(CLAIM_FILTERS), key="q_claim", horizontal=True,
                             format_func=lambda v: t(f"claim_{v}"))
            sort = st.selectbox(t("sort_by"), list(QUEUE_SORTS), key="q_sort", placeholder=t("choose"),
                                format_func=lambda v: t(f"sort_{v}"))
            descending = st.checkbox(t("descending"), key="q_desc")
    _tasks({"organization_types": orgs, "establishment_number": number, "min_age_days": int(min_age or 0),
            "overdue_only": overdue, "claim": claim, "sort": sort, "descending": descending})


@st.fragment(run_every=get_settings().queue_refresh_seconds)
def _tasks(filters: dict) -> None:
    """The tasks the filters select, redrawn on their own every few seconds (new arrivals,
    claims by colleagues); the filters stay as they are."""
    if not still_signed_in() or desk.open_task():
        st.rerun()  # the whole page: the login's end, or the task just opened
    rows = list_queue(staff=me, **filters)
    if not rows:
        st.info(t("queue_empty"))
        return
    st.caption(t("queue_count", n=len(rows)))
    st.dataframe(
        [{t("col_reference"): r.reference,
          t("col_org"): label("organization_type", r.organization_type),
          t("col_establishment"): f"{r.establishment_number} — {r.establishment_name}",
          t("col_user"): r.user_name,
          t("col_arrived"): fmt_dt(r.created_at),
          t("col_age_days"): r.age_days,
          t("col_due"): fmt_dt(r.due_at),
          t("col_overdue"): "⚠️" if r.overdue else "",
          t("col_claimed_by"): (f"{r.claimed_by} ({t('stale_claim')})" if r.stale else r.claimed_by or "")}
         for r in rows],
        hide_index=True, width="stretch",
    )
    desk.picker(rows, lambda r: f"{r.reference} — {r.user_name} — {r.establishment_number}")


def _section4(task_id: int) -> None:
    ss = st.session_state
    k = lambda name: f"s4:{task_id}:{name}"  # noqa: E731
    if k("proposal") not in ss:
        proposal = proposed_section4(task_id)
        ss[k("proposal")] = proposal
        ss[k("username")] = proposal["username"]
        ss[k("valid_from")] = proposal["valid_from"]
        ss[k("valid_until")] = proposal["valid_until"]
    proposal = ss[k("proposal")]
    st.header(t("section4"))
    fields_table([
        (t("registration_date"), fmt_date(proposal["registration_date"])),
        (t("reference_number"), proposal["reference_number"]),
        (t("respondent_id"), me),
    ])
    st.text_input(t("s4_username"), key=k("username"), help=t("s4_username_help"))
    c1, c2 = st.columns(2)
    with c1:
        st.date_input(t("valid_from"), key=k("valid_from"), min_value=date(2000, 1, 1),
                      format="YYYY-MM-DD", help=t("date_help"))
    with c2:
        st.date_input(t("valid_until"), key=k("valid_until"), min_value=date(2000, 1, 1),
                      format="YYYY-MM-DD", help=t("date_help"))


def _review(task_id: int) -> None:
    desk.back_button()
    task = task_summary(task_id)
    if task is None or task["kind"] != "respondent":
        st.error(t("task_missing"))
        return
    st.header(t("request_reference", reference=task["reference"]))
    if task["returned_reason"]:
        st.warning(t("soes_returned", reason=md_escape(task["returned_reason"])))
    desk.due(task)
    may_decide = desk.claim_panel(task, task_id, claim_first="claim_first")

    review = request_review(task["request_id"])
    request_summary(review["request"], user_signed_at=review["user_signed_at"],
                      authorization_signed_at=review["authorization_signed_at"], with_section3=True)
    signed_record_panel(task["request_id"])
    earlier = [d for d in review["decisions"] if d["reason"]]
    if earlier:
        st.markdown(f"### {t('previous_comments')}")
        for d in earlier:
            st.markdown(f"- {fmt_dt(d['at'])} — {md_escape(d['actor'])} : "
                        f"{md_escape(d['reason'])}")

    if not may_decide:
        return
    st.divider()
    outcome_key = f"s4:{task_id}:outcome"
    outcome = st.radio(t("respondent_decision"), [o.value for o in RESPONDENT_OUTCOMES], key=outcome_key,
                       format_func=lambda v: label("outcome", v), index=None)
    if outcome == Outcome.approve:
        _section4(task_id)
        name, applications = person_and_applications(review["request"])
        st.checkbox(t("approve_confirm", name=md_escape(name), applications=md_escape(applications)),
                    key=f"s4:{task_id}:confirm")
    elif outcome == Outcome.refuse:
        st.text_area(t("refuse_reason"), key=f"s4:{task_id}:reason", help=t("refuse_help"))
    elif outcome == Outcome.send_back:
        st.text_area(t("send_back_comments"), key=f"s4:{task_id}:reason", help=t("send_back_help"))
    st.button(t("confirm_decision"), key="q_decide", type="primary", on_click=_decide,
              args=(task_id, task["reference"]))


st.title(t("page_queue"))
show_flash()
keep_values(*FILTERS)
selected = desk.open_task()
if selected:
    _review(selected)
else:
    _queue()
