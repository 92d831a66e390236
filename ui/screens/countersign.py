"""« Contre-signature (SOES) » (``/contre-signature``, role ``soes`` only): the requests a
respondent approved, waiting for the second RAMQ signature of section 4; claim or release a task;
review the request, section 4 as the respondent signed it and the signatures' verdict; countersign
(after confirming the person and the applications) or return it to the respondent with a reason.
Every change goes through ``flows.api``, which refuses the respondent who approved."""

from __future__ import annotations

import streamlit as st

from flows.api import COUNTERSIGN_OUTCOMES, countersign_decide
from models.enums import Outcome, TaskKind
from models.queries import CLAIM_FILTERS, list_countersign_queue, request_review, task_summary
from models.settings import get_settings
from ui.common import keep_values, require_staff, still_signed_in
from ui.feedback import flash, guarded, refusals, show_flash
from ui.formatting import fmt_date, fmt_dt, md_escape
from ui.i18n import label, t
from ui.widgets.record import signed_record_panel
from ui.widgets.summary import fields_table, person_and_applications, request_summary
from ui.widgets.task_desk import TaskDesk

staff = require_staff("soes")
me = staff["username"]
desk = TaskDesk(staff=me, prefix="cs", selected="cs_task_id")


def _key(task_id: int, name: str) -> str:
    return f"cs:{task_id}:{name}"


@guarded
def _decide(task_id: int, reference: str) -> None:
    ss = st.session_state
    outcome = ss.get(_key(task_id, "outcome"))
    if outcome is None:
        flash(t("choose_decision"))
        return
    if outcome == Outcome.countersign and not ss.get(_key(task_id, "confirm")):
        flash(t("countersign_confirm_required"))
        return
    with refusals() as refused:
        countersign_decide(task_id, staff=me, outcome=outcome, reason=ss.get(_key(task_id, "reason")))
    if refused:
        return
    for name in [n for n in ss.keys() if isinstance(n, str) and n.startswith(f"cs:{task_id}:")]:
        del ss[name]
    desk.close()
    flash(t("decision_recorded", reference=reference), "success")


def _queue() -> None:
    st.caption(t("countersign_intro"))
    show_flash("success")
    claim = st.radio(t("filter_claim"), list(CLAIM_FILTERS), key="cs_claim", horizontal=True,
                     format_func=lambda v: t(f"claim_{v}"))
    _tasks(claim)


@st.fragment(run_every=get_settings().queue_refresh_seconds)
def _tasks(claim: str) -> None:
    """The approvals to countersign, redrawn on their own every few seconds; the filter stays."""
    if not still_signed_in() or desk.open_task():
        st.rerun()  # the whole page: the login's end, or the task just opened
    rows = list_countersign_queue(claim=claim, staff=me)
    if not rows:
        st.info(t("countersign_empty"))
        return
    st.caption(t("countersign_count", n=len(rows)))
    st.dataframe(
        [{t("col_reference"): r.reference,
          t("col_user"): r.user_name,
          t("col_applications"): ", ".join(label("application", a) for a in r.applications),
          t("col_respondent"): r.respondent or "",
          t("col_approved_at"): fmt_dt(r.approved_at),
          t("col_due"): fmt_dt(r.due_at),
          t("col_overdue"): "⚠️" if r.overdue else "",
          t("col_claimed_by"): r.claimed_by or ""}
         for r in rows],
        hide_index=True, width="stretch",
    )
    desk.picker(rows, lambda r: f"{r.reference} — {r.user_name}")


def _section4(section4: dict | None) -> None:
    st.markdown(f"### {t('section4_signed')}")
    if section4 is None:
        st.info(t("none"))
        return
    fields_table([
        (t("registration_date"), fmt_date(section4["registration_date"])),
        (t("reference_number"), section4["reference_number"]),
        (t("username"), section4["username"]),
        (t("valid_from"), fmt_date(section4["valid_from"])),
        (t("valid_until"), fmt_date(section4["valid_until"])),
        (t("respondent_id"), section4["respondent_id"]),
        (t("respondent_signed_at"), fmt_dt(section4["respondent_signed_at"])),
    ])


def _review(task_id: int) -> None:
    desk.back_button()
    task = task_summary(task_id)
    if task is None or task["kind"] != TaskKind.countersign:
        st.error(t("task_missing"))
        return
    st.header(t("request_reference", reference=task["reference"]))
    desk.due(task)
    may_decide = desk.claim_panel(task, task_id, claim_first="countersign_claim_first")

    review = request_review(task["request_id"])
    request_summary(review["request"], user_signed_at=review["user_signed_at"],
                    authorization_signed_at=review["authorization_signed_at"], with_section3=True)
    _section4(review["section4"])
    signed_record_panel(task["request_id"])

    if not may_decide:
        return
    st.divider()
    outcome = st.radio(t("countersign_decision"), [o.value for o in COUNTERSIGN_OUTCOMES],
                       key=_key(task_id, "outcome"), index=None,
                       format_func=lambda v: label("outcome", v))
    if outcome == Outcome.countersign:
        name, applications = person_and_applications(review["request"])
        st.checkbox(t("countersign_confirm", name=md_escape(name), applications=md_escape(applications)),
                    key=_key(task_id, "confirm"))
    elif outcome == Outcome.refuse:
        st.text_area(t("countersign_reason"), key=_key(task_id, "reason"), help=t("countersign_reason_help"))
    st.button(t("confirm_decision"), key="cs_decide", type="primary", on_click=_decide,
              args=(task_id, task["reference"]))


st.title(t("page_countersign"))
show_flash()
keep_values("cs_claim")
selected = desk.open_task()
if selected:
    _review(selected)
else:
    _queue()
