"""« Suivi des demandes » (``/suivi``, managers and operators, read-only): at the top, the open
requests in a bad state (run crashed, failed, cancelled, late, or paused with no open task, or
flagged stuck by the sweeper); then, over a period and filters, how long each step takes (median, 90th percentile), the
requests of each week by outcome, the open work by step and age, what is overdue or idle, and
every request page by page with the state of its Prefect run beside its status (runs in a bad
state flagged) and a CSV of what is shown; the timeline of one request with the time each step
took. Every figure comes from the database (models.history); Prefect is read, in batches, for
the open requests' runs and the runs of the page shown only. Nothing on this page changes
anything.

The link to a run in the Prefect UI is shown to operators only: that UI can cancel, delete or
resume runs, which a read-only manager must not be handed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import altair as alt
import pandas as pd
import streamlit as st

from flows.prefect_states import BAD_STATES, UNKNOWN, read_run_states, run_problem
from models.enums import FINAL_STATUSES, RequestStatus, TaskKind
from models.history import (
    AGE_BUCKETS,
    OPEN,
    HistoryFilter,
    last_events,
    open_work_by_age,
    overdue_and_stale,
    requests_page,
    step_durations,
    weekly_outcomes,
    with_open_task,
)
from models.queries import open_requests_runs, request_timeline
from models.settings import get_settings
from ui.common import RUNS_ROLES, require_staff
from ui.formatting import fmt_dt
from ui.i18n import has, label, labels, t
from ui.widgets.record import signed_record_panel

staff = require_staff(*RUNS_ROLES)
operator = staff["role"] == "operator"  # a manager who may also use the Prefect UI
prefect_ui = get_settings().prefect_ui_url.rstrip("/")
PAGE_SIZES = [25, 50, 100, 200]


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


def _seconds(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value / 3600, 2)


def _csv(frame: pd.DataFrame) -> bytes:
    """The table as shown, for a spreadsheet (UTF-8 with its mark, so accents survive)."""
    return frame.to_csv(index=False).encode("utf-8-sig")


def _run_url(flow_run_id: str | None) -> str | None:
    return f"{prefect_ui}/runs/flow-run/{flow_run_id}" if flow_run_id else None


def _state_label(state_type: str, state_name: str = "") -> str:
    if state_type == "SCHEDULED" and state_name == "Late":
        return t("run_state_late")
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
    return _state_label(*states.get(flow_run_id, UNKNOWN))


with_task = with_open_task([r.request_id for r in open_rows])
flagged = []
for r in open_rows:
    state_type, state_name = states.get(r.flow_run_id, UNKNOWN) if r.flow_run_id else (None, "")
    code = run_problem(state_type, state_name, open_task=r.request_id in with_task) if state_type else None
    if r.run_stuck_at is not None:
        problem = t("run_stuck")
    elif state_type in BAD_STATES:
        problem = t("run_bad_state", state=_state_label(state_type))
    elif code:
        problem = t(f"run_problem_{code}")
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

# --- Filters ---------------------------------------------------------------------------------------

st.markdown(f"## {t('history_filters')}")
zone = ZoneInfo(get_settings().timezone)
today = datetime.now(zone).date()
c1, c2, c3 = st.columns(3)
with c1:
    period = st.date_input(t("filter_period"), value=(today - timedelta(days=90), today),
                           min_value=date(2000, 1, 1), max_value=date(2999, 12, 31),
                           format="YYYY-MM-DD", key="runs_period", help=t("date_help"))
    statuses = st.multiselect(t("filter_status"), [s.value for s in RequestStatus], key="runs_status",
                              format_func=lambda s: label("status", s), placeholder=t("choose"))
with c2:
    org_types = st.multiselect(t("filter_org_type"), list(labels("organization_type")), key="runs_org",
                               format_func=lambda o: label("organization_type", o), placeholder=t("choose"))
    steps = st.multiselect(t("filter_step"), [k.value for k in TaskKind], key="runs_step",
                           format_func=lambda k: t(f"task_kind_{k}"), placeholder=t("choose"))
with c3:
    reference = st.text_input(t("filter_reference"), key="runs_ref")
    overdue_only = st.checkbox(t("filter_overdue"), key="runs_overdue")

days = [d for d in (period if isinstance(period, tuple | list) else (period,)) if d]
first_day, last_day = (min(days), max(days)) if days else (today - timedelta(days=90), today)
flt = HistoryFilter(
    start=datetime.combine(first_day, time.min, zone).astimezone(UTC),
    end=datetime.combine(last_day + timedelta(days=1), time.min, zone).astimezone(UTC),
    statuses=statuses, organization_types=org_types, steps=steps, overdue_only=overdue_only,
    reference_contains=reference)

# --- Figures --------------------------------------------------------------------------------------

work = overdue_and_stale(flt)
page = requests_page(flt, page=int(st.session_state.get("runs_page", 1) or 1),
                     page_size=int(st.session_state.get("runs_page_size", 50)))
c1, c2, c3, c4 = st.columns(4)
c1.metric(t("history_selected"), page.total)
c2.metric(t("open_tasks"), sum(v["open"] for v in work.values()))
c3.metric(t("overdue_tasks"), sum(v["overdue"] for v in work.values()))
c4.metric(t("stale_tasks"), sum(v["stale"] for v in work.values()))

st.markdown(f"## {t('queue_by_kind')}")
st.dataframe([{t("col_step"): t(f"task_kind_{kind}"), t("open_tasks"): v["open"],
               t("overdue_tasks"): v["overdue"], t("stale_tasks"): v["stale"]}
              for kind, v in work.items()], hide_index=True, width="stretch")

st.markdown(f"## {t('step_durations')}")
st.caption(t("step_durations_help"))
stats = step_durations(flt)
durations = pd.DataFrame([{
    t("col_step"): t(f"step_{x.step}"), t("col_count"): x.count,
    t("col_median"): _duration(_seconds(x.median_s)), t("col_p90"): _duration(_seconds(x.p90_s)),
    t("col_median_h"): _hours(x.median_s), t("col_p90_h"): _hours(x.p90_s)} for x in stats])
st.dataframe(durations, hide_index=True, width="stretch")
st.download_button(t("csv_durations"), _csv(durations), file_name="durees-etapes.csv", mime="text/csv",
                   key="runs_csv_durations", on_click="ignore")
bars = pd.DataFrame([{"step": t(f"step_{x.step}"), "measure": name, "hours": _hours(value)}
                     for x in stats for name, value in ((t("col_median"), x.median_s), (t("col_p90"), x.p90_s))
                     if value is not None])
if not bars.empty:
    st.altair_chart(alt.Chart(bars).mark_bar().encode(
        y=alt.Y("step:N", title=None, sort=None, axis=alt.Axis(labelLimit=320)),  # the labels say it
        x=alt.X("hours:Q", title=t("chart_hours")),
        yOffset=alt.YOffset("measure:N", sort=None),
        color=alt.Color("measure:N", title=t("chart_measure"), sort=None),
        tooltip=[alt.Tooltip("step:N", title=t("col_step")), alt.Tooltip("measure:N", title=t("chart_measure")),
                 alt.Tooltip("hours:Q", title=t("chart_hours"))]), width="stretch")

st.markdown(f"## {t('weekly_volume')}")
weeks = pd.DataFrame([{"week": w["week"].isoformat(), "count": w["count"],
                       "outcome": t("outcome_open") if w["outcome"] == OPEN else label("status", w["outcome"])}
                      for w in weekly_outcomes(flt)])
if not weeks.empty:
    st.altair_chart(alt.Chart(weeks).mark_bar().encode(
        x=alt.X("week:O", title=t("chart_week")),
        y=alt.Y("count:Q", title=t("chart_requests")),
        color=alt.Color("outcome:N", title=t("chart_outcome")),
        tooltip=[alt.Tooltip("week:O", title=t("chart_week")), alt.Tooltip("outcome:N", title=t("chart_outcome")),
                 alt.Tooltip("count:Q", title=t("chart_requests"))]), width="stretch")

st.markdown(f"## {t('open_work')}")
ages = pd.DataFrame([{"step": t(f"task_kind_{r['step']}"), "age": t(f"age_{r['age']}"), "count": r["count"]}
                     for r in open_work_by_age(flt)])
if not ages.empty:
    st.altair_chart(alt.Chart(ages).mark_bar().encode(
        y=alt.Y("step:N", title=None, axis=alt.Axis(labelLimit=320)),
        x=alt.X("count:Q", title=t("open_tasks")),
        color=alt.Color("age:N", title=t("chart_age"), sort=[t(f"age_{a}") for a in AGE_BUCKETS]),
        order=alt.Order("age:N"),
        tooltip=[alt.Tooltip("step:N", title=t("col_step")), alt.Tooltip("age:N", title=t("chart_age")),
                 alt.Tooltip("count:Q", title=t("open_tasks"))]), width="stretch")

# --- Every request, page by page ------------------------------------------------------------------

st.markdown(f"## {t('runs_list')}")  # not the page's title again: one name, one heading
if not page.total:
    st.info(t("no_requests"))
    st.stop()
rows = page.rows
missing = [r.flow_run_id for r in rows if r.flow_run_id and r.flow_run_id not in states]
if missing:  # one call for the page's runs (the open requests' were read above)
    states.update(read_run_states(missing))
stuck_ids.update(r.request_id for r in rows if r.run_stuck_at is not None)
last = last_events([r.request_id for r in rows])


def _alert(r) -> str:
    if r.request_id in stuck_ids:
        return t("run_stuck")
    if not r.flow_run_id or r.status in FINAL_STATUSES:
        return ""
    problem = run_problem(*states.get(r.flow_run_id, UNKNOWN), open_task=r.current_step is not None)
    return t(f"run_problem_{problem}") if problem else ""


shown = pd.DataFrame([{
    t("col_reference"): r.reference,
    t("col_status"): label("status", r.status),
    t("col_run_state"): _run_label(r.flow_run_id, r.request_id in stuck_ids),
    t("col_run_alert"): _alert(r),
    t("col_org_type"): label("organization_type", r.organization_type),
    t("col_created"): fmt_dt(r.created_at),
    t("col_closed"): fmt_dt(r.closed_at) if r.closed_at else "",
    t("col_current_step"): t(f"task_kind_{r.current_step}") if r.current_step else "",
    t("col_overdue"): t("yes") if r.overdue else t("no"),
    t("col_last_step"): label("event", last[r.request_id][0]) if r.request_id in last else "",
    t("col_last_at"): fmt_dt(last[r.request_id][1]) if r.request_id in last else "",
    t("col_run_id"): r.flow_run_id or "",
    **({t("col_prefect"): _run_url(r.flow_run_id)} if operator else {})} for r in rows])
st.caption(t("page_of", page=page.page, pages=page.pages, total=page.total))
st.dataframe(shown, hide_index=True, width="stretch",
             column_config={t("col_prefect"): st.column_config.LinkColumn(
                 t("col_prefect"), display_text=t("prefect_link"))} if operator else None)
c1, c2, c3 = st.columns(3)
st.session_state["runs_page"] = page.page  # the page shown, once the filters shrank the list
c1.number_input(t("page_number"), min_value=1, max_value=page.pages, step=1, key="runs_page")
c2.selectbox(t("page_size"), PAGE_SIZES, index=PAGE_SIZES.index(50), key="runs_page_size", placeholder=t("choose"))
c3.download_button(t("csv_requests"), _csv(shown), file_name=f"demandes-page-{page.page}.csv", mime="text/csv",
                   key="runs_csv_requests", on_click="ignore")

st.markdown(f"## {t('timeline')}")
by_id = {r.request_id: r for r in rows}
picked = st.selectbox(t("timeline_pick"), list(by_id), key="runs_pick", placeholder=t("choose"),
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
