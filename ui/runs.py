"""« Suivi des demandes » (``/suivi``, managers only, read-only): requests and their runs with
state, last step and a link to the run in the Prefect UI; queue sizes and overdue work; the
timeline of one request with the time each step took. Nothing on this page changes anything."""

from __future__ import annotations

import streamlit as st

from models.queries import open_task_counts, request_timeline, requests_overview, status_counts
from models.settings import get_settings
from models.tables import RequestStatus
from ui.common import fmt_dt, require_staff
from ui.i18n import event_label, status_label, t

require_staff("manager")
prefect_ui = get_settings().prefect_ui_url.rstrip("/")


def _duration(delta) -> str:
    if delta is None:
        return ""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} j {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


st.title(t("page_runs"))
st.caption(t("runs_intro"))

counts = status_counts()
tasks = open_task_counts()
c1, c2, c3 = st.columns(3)
c1.metric(t("requests_total"), sum(counts.values()))
c2.metric(t("open_tasks"), sum(v["open"] for v in tasks.values()))
c3.metric(t("overdue_tasks"), sum(v["overdue"] for v in tasks.values()))

st.markdown(f"#### {t('queue_by_kind')}")
st.dataframe([{t("col_event"): t(f"task_kind_{kind}"), t("open_tasks"): v["open"],
               t("overdue_tasks"): v["overdue"]} for kind, v in tasks.items()],
             hide_index=True, width="stretch")

if counts:
    st.markdown(f"#### {t('by_status')}")
    st.bar_chart({status_label(k): v for k, v in counts.items()}, horizontal=True)

st.markdown(f"#### {t('page_runs')}")
c1, c2 = st.columns(2)
with c1:
    statuses = st.multiselect(t("filter_status"), [s.value for s in RequestStatus], key="runs_status",
                              format_func=status_label, placeholder=t("choose"))
with c2:
    reference = st.text_input(t("filter_reference"), key="runs_ref")
rows = requests_overview(statuses=statuses, reference_contains=reference)
if not rows:
    st.info(t("no_requests"))
    st.stop()
st.caption(t("showing_n", n=len(rows)))
st.dataframe(
    [{t("col_reference"): r.reference,
      t("col_status"): status_label(r.status),
      t("col_created"): fmt_dt(r.created_at),
      t("col_last_step"): event_label(r.last_event) if r.last_event else "",
      t("col_last_at"): fmt_dt(r.last_event_at) if r.last_event_at else "",
      t("col_prefect"): f"{prefect_ui}/runs/flow-run/{r.flow_run_id}" if r.flow_run_id else None}
     for r in rows],
    hide_index=True, width="stretch",
    column_config={t("col_prefect"): st.column_config.LinkColumn(
        t("col_prefect"), display_text=t("prefect_link"))},
)

st.markdown(f"#### {t('timeline')}")
by_id = {r.request_id: r for r in rows}
picked = st.selectbox(t("timeline_pick"), list(by_id), key="runs_pick",
                      format_func=lambda rid: f"{by_id[rid].reference} — {status_label(by_id[rid].status)}")
if picked is not None:
    row = by_id[picked]
    if row.flow_run_id:
        st.link_button(t("prefect_link"), f"{prefect_ui}/runs/flow-run/{row.flow_run_id}")
    st.dataframe([{t("col_last_at"): fmt_dt(e["at"]), t("col_event"): event_label(e["event"]),
                   t("col_actor"): e["actor"], "Δ": _duration(e["since_previous"])}
                  for e in request_timeline(picked)], hide_index=True, width="stretch")
