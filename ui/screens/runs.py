"""« Suivi des demandes » (``/suivi``, managers and operators, read-only): requests with their
status and the state of their Prefect run (read by the app from Prefect), last step; at the top,
the open requests in a bad state (run crashed, failed or cancelled, or flagged stuck by the
sweeper); queue sizes and overdue work; the timeline of one request with the time each step took.
Nothing on this page changes anything.

The link to a run in the Prefect UI is shown to operators only: that UI can cancel, delete or
resume runs, which a read-only manager must not be handed."""

from __future__ import annotations

import streamlit as st

from flows.prefect_states import BAD_STATES, UNKNOWN, read_run_states
from models.enums import RequestStatus
from models.queries import (
    open_requests_runs,
    open_task_counts,
    request_timeline,
    requests_overview,
    status_counts,
)
from models.settings import get_settings
from ui.common import RUNS_ROLES, require_staff
from ui.formatting import fmt_dt
from ui.i18n import has, label, t
from ui.widgets.record import signed_record_panel

staff = require_staff(*RUNS_ROLES)
operator = staff["role"] == "operator"  # a manager who may also use the Prefect UI
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


def _run_url(flow_run_id: str | None) -> str | None:
    return f"{prefect_ui}/runs/flow-run/{flow_run_id}" if flow_run_id else None


def _state_label(state_type: str) -> str:
    key = f"run_state_{state_type}"
    return t(key) if has(key) else state_type.capitalize()


st.title(t("page_runs"))
st.caption(t("runs_intro"))

# Open requests and the state of their runs, whatever the filters below: a bad one is flagged.
open_rows = open_requests_runs()
states = read_run_states(r.flow_run_id for r in open_rows)
stuck_ids = {r.request_id for r in open_rows if r.run_stuck_at is not None}


def _run_label(flow_run_id: str | None, stuck: bool = False) -> str:
    if stuck:
        return t("run_stuck")
    if not flow_run_id:
        return t("run_state_none")
    return _state_label(states.get(flow_run_id, UNKNOWN)[0])


flagged = []
for r in open_rows:
    state_type = states.get(r.flow_run_id, UNKNOWN)[0] if r.flow_run_id else None
    if r.run_stuck_at is not None:
        problem = t("run_stuck")
    elif state_type in BAD_STATES:
        problem = t("run_bad_state", state=_state_label(state_type))
    else:
        continue
    flagged.append({
        t("col_reference"): r.reference,
        t("col_status"): label("status", r.status),
        t("col_run_state"): _run_label(r.flow_run_id),
        t("col_problem"): problem,
        t("col_restarts"): r.run_restarts,
        t("col_stuck_at"): fmt_dt(r.run_stuck_at) if r.run_stuck_at else "",
        **({t("col_prefect"): _run_url(r.flow_run_id)} if operator else {}),
    })
if flagged:
    st.error(t("runs_attention", n=len(flagged)), icon=":material/warning:")
    st.caption(t("runs_attention_help"))
    st.dataframe(flagged, hide_index=True, width="stretch",
                 column_config={t("col_prefect"): st.column_config.LinkColumn(
                     t("col_prefect"), display_text=t("prefect_link"))} if operator else None)

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
    st.bar_chart({label("status", k): v for k, v in counts.items()}, horizontal=True)

st.markdown(f"#### {t('page_runs')}")
c1, c2 = st.columns(2)
with c1:
    statuses = st.multiselect(t("filter_status"), [s.value for s in RequestStatus], key="runs_status",
                              format_func=lambda s: label("status", s), placeholder=t("choose"))
with c2:
    reference = st.text_input(t("filter_reference"), key="runs_ref")
rows = requests_overview(statuses=statuses, reference_contains=reference)
if not rows:
    st.info(t("no_requests"))
    st.stop()
st.caption(t("showing_n", n=len(rows)))
missing = [r.flow_run_id for r in rows if r.flow_run_id and r.flow_run_id not in states]
if missing:  # closed requests' runs (the open ones were read above)
    states.update(read_run_states(missing))
st.dataframe(
    [{t("col_reference"): r.reference,
      t("col_status"): label("status", r.status),
      t("col_run_state"): _run_label(r.flow_run_id, r.request_id in stuck_ids),
      t("col_created"): fmt_dt(r.created_at),
      t("col_last_step"): label("event", r.last_event) if r.last_event else "",
      t("col_last_at"): fmt_dt(r.last_event_at) if r.last_event_at else "",
      **({t("col_prefect"): _run_url(r.flow_run_id)} if operator else {})}
     for r in rows],
    hide_index=True, width="stretch",
    column_config={t("col_prefect"): st.column_config.LinkColumn(
        t("col_prefect"), display_text=t("prefect_link"))} if operator else None,
)

st.markdown(f"#### {t('timeline')}")
by_id = {r.request_id: r for r in rows}
picked = st.selectbox(t("timeline_pick"), list(by_id), key="runs_pick",
                      format_func=lambda rid: f"{by_id[rid].reference} — {label('status', by_id[rid].status)}")
if picked is not None:
    row = by_id[picked]
    run_label = _run_label(row.flow_run_id, row.request_id in stuck_ids)
    st.caption(f"{t('col_run_state')} : {run_label}")
    if operator and row.flow_run_id:
        st.link_button(t("prefect_link"), _run_url(row.flow_run_id))
    st.dataframe([{t("col_last_at"): fmt_dt(e["at"]), t("col_event"): label("event", e["event"]),
                   t("col_actor"): e["actor"], "Δ": _duration(e["since_previous"])}
                  for e in request_timeline(picked)], hide_index=True, width="stretch")
    signed_record_panel(picked)
