"""« Contre-signature (SOES) » (``/contre-signature``, role ``soes`` only): the requests a
respondent approved, waiting for the second RAMQ signature of section 4; claim or release a task;
review the request, section 4 as the respondent signed it and the signatures' verdict; countersign
(after confirming the person and the applications) or return it to the respondent with a reason.
Every change goes through ``flows.api``, which refuses the respondent who approved."""

from __future__ import annotations

import streamlit as st

from flows.api import COUNTERSIGN_OUTCOMES, claim_task, countersign_decide, unclaim_task
from models.enums import Outcome, TaskKind
from models.queries import CLAIM_FILTERS, list_countersign_queue, request_review, task_summary
from models.settings import get_settings
from ui.common import keep_values, require_staff, still_signed_in
from ui.feedback import flash, guarded, refusals, show_flash
from ui.formatting import fmt_date, fmt_dt, md_escape
from ui.i18n import label, t
from ui.widgets.record import signed_record_panel
from ui.widgets.summary import fields_table, person_and_applications, request_summary

SELECTED = "cs_task_id"

staff = require_staff("soes")
me = staff["username"]


def _key(task_id: int, name: str) -> str:
    return f"cs:{task_id}:{name}"


def _open() -> None:
    st.session_state[SELECTED] = st.session_state.get("cs_pick")


def _close() -> None:
    st.session_state.pop(SELECTED, None)


@guarded
def _claim(task_id: int) -> None:
    with refusals():
        claim_task(task_id, staff=me)


@guarded
def _unclaim(task_id: int) -> None:
    with refusals():
        unclaim_task(task_id, staff=me)


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
    ss.pop(SELECTED, None)
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
    if not still_signed_in() or st.session_state.get(SELECTED):
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
    choices = {r.task_id: r for r in rows}
    st.selectbox(t("open_task"), list(choices), key="cs_pick", placeholder=t("choose"),
                 format_func=lambda tid: f"{choices[tid].reference} — {choices[tid].user_name}")
    st.button(t("open_task"), key="cs_open", type="primary", on_click=_open)


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
    st.button(t("back_to_queue"), key="cs_back", on_click=_close, icon=":material/arrow_back:")
    task = task_summary(task_id)
    if task is None or task["kind"] != TaskKind.countersign:
        st.error(t("task_missing"))
        return
    st.header(t("request_reference", reference=task["reference"]))
    due = fmt_dt(task["due_at"])
    if task["overdue"] and task["status"] == "open":
        st.warning(t("task_overdue", due=due))
    else:
        st.caption(t("task_due", due=due))

    is_open = task["status"] == "open"
    mine = task["claimed_by"] == me
    if not is_open:
        st.info(t("task_not_open"))
    elif mine:
        st.success(t("claimed_by_you"))
        st.button(t("unclaim"), key="cs_unclaim", on_click=_unclaim, args=(task_id,))
    elif task["claimed_by"]:
        st.info(t("claimed_by_other", who=task["claimed_by"]))
    else:
        st.info(t("countersign_claim_first"))
        st.button(t("claim"), key="cs_claim_btn", type="primary", on_click=_claim, args=(task_id,))

    review = request_review(task["request_id"])
    request_summary(review["request"], user_signed_at=review["user_signed_at"],
                    authorization_signed_at=review["authorization_signed_at"], with_section3=True)
    _section4(review["section4"])
    signed_record_panel(task["request_id"])

    if not (is_open and mine):
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
selected = st.session_state.get(SELECTED)
if selected:
    _review(int(selected))
else:
    _queue()
