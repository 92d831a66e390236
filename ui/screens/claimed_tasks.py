"""« Tâches prises en charge » (managers and operators): every task someone claimed, stale ones
first; a manager puts one back in the queue or gives it to another person of the role it needs
(a clerk on leave with tasks claimed), with a reason that the request's history keeps. The
decision itself stays with whoever holds the task."""

from __future__ import annotations

import streamlit as st

from flows.api import TASK_ROLES, reassign_task
from models.queries import claimed_tasks, staff_of_role
from ui.common import RUNS_ROLES, require_staff
from ui.feedback import flash, guarded, refusals, show_flash
from ui.formatting import fmt_dt
from ui.i18n import t

me = require_staff(*RUNS_ROLES)["username"]
st.title(t("page_claimed"))
st.caption(t("claimed_intro"))
show_flash("success")
show_flash()

KEEP_IN_QUEUE = ""


@guarded
def _reassign(task_id: int, reference: str) -> None:
    to = st.session_state.get(f"rt_to:{task_id}") or None
    reason = st.session_state.get(f"rt_reason:{task_id}", "")
    with refusals() as refused:
        reassign_task(task_id, staff=me, to=to, reason=reason)
    if not refused:
        flash(t("reassigned_done", reference=reference, to=to) if to else t("released_done", reference=reference),
              "success")


tasks = claimed_tasks()
if not tasks:
    st.info(t("claimed_none"))
    st.stop()
st.dataframe([{t("col_reference"): task["reference"], t("col_step"): t(f"task_kind_{task['kind']}"),
               t("col_claimed_by"): task["claimed_by"], t("col_claimed_at"): fmt_dt(task["claimed_at"]),
               t("col_due"): fmt_dt(task["due_at"]), t("col_overdue"): "⚠️" if task["overdue"] else "",
               t("stale_claim"): "⚠️" if task["stale"] else ""} for task in tasks],
             hide_index=True, width="stretch")
by_id = {task["task_id"]: task for task in tasks}
picked = st.selectbox(t("claimed_pick"), list(by_id), key="rt_pick", placeholder=t("choose"),
                      format_func=lambda i: f"{by_id[i]['reference']} — {by_id[i]['claimed_by']}")
if picked is None:
    st.stop()
task = by_id[picked]
others = [u for u in staff_of_role(TASK_ROLES[task["kind"]]) if u != task["claimed_by"]]
st.selectbox(t("reassign_to"), [KEEP_IN_QUEUE, *others], key=f"rt_to:{picked}", placeholder=t("choose"),
             format_func=lambda u: u or t("nobody_back_to_queue"))
st.text_area(t("reassign_reason"), key=f"rt_reason:{picked}", max_chars=500)
st.button(t("reassign_confirm"), key=f"rt_go:{picked}", type="primary", on_click=_reassign,
          args=(picked, task["reference"]))
