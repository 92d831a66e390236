"""The managers' history (models.history) on thousands of requests seeded with known times: the
step medians and 90th percentiles, the weekly volume, the open work, overdue and stale counts
and the paged list, each checked against values computed here from the seeded timelines
(numpy's percentiles, Python counting), never through the module under test. Each test seeds its
own period in a different far-future year and its own reference tag, so the rest of the suite's
data stays out."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from benchmarks.history import Seeded, retire, seed
from models.history import (
    MARKS,
    HistoryFilter,
    open_work_by_age,
    overdue_and_stale,
    request_durations,
    requests_page,
    step_durations,
    weekly_outcomes,
)
from models.settings import get_settings

N = 2500


def far_future() -> datetime:
    """A year of its own, far ahead: nothing else in the shared database lives there, and the
    sweeper leaves requests created after now alone."""
    return datetime(random.randint(2200, 2999), 1, 1, tzinfo=UTC)


@pytest.fixture
def seeded(engine):
    seeded = seed(N, start=far_future(), days=365, seed_value=random.randint(0, 10**6))
    yield seeded
    retire(seeded)


def _filter(s: Seeded, **kw) -> HistoryFilter:
    """The seeded period, and only the seeded requests (another test may have drawn the same
    year)."""
    return HistoryFilter(start=s.start, end=s.end, now=s.end, reference_contains=s.tag, **kw)


def _expected_durations(s: Seeded, refs=None) -> dict[str, list[float]]:
    """Each step's durations, from the seeded marks: the last time of each mark (the first
    submission for the total), step = mark - previous mark when both exist and it is >= 0."""
    order = ["submitted", "authorized", "reviewed", "countersigned", "credentials_sent"]
    which = {e: name for name, kinds in MARKS.items() for e in kinds}
    out: dict[str, list[float]] = {k: [] for k in (*order[1:], "total")}
    for ref in refs or s.requests:
        last: dict[str, datetime] = {}
        first_submitted = None
        for event, at in s.requests[ref]["marks"]:
            if event in which:
                last[which[event]] = at
            if event == "submitted" and first_submitted is None:
                first_submitted = at
        for prev, step in zip(order, order[1:], strict=False):
            if prev in last and step in last and last[step] >= last[prev]:
                out[step].append((last[step] - last[prev]).total_seconds())
        if "credentials_sent" in last:
            out["total"].append((last["credentials_sent"] - first_submitted).total_seconds())
    return out


def test_step_medians_and_90th_percentiles_match_the_seeded_times(seeded):
    stats = {st.step: st for st in step_durations(_filter(seeded))}
    expected = _expected_durations(seeded)
    assert set(stats) == set(expected)
    for step, values in expected.items():
        assert stats[step].count == len(values) > 50, step
        assert stats[step].median_s == pytest.approx(float(np.percentile(values, 50)), abs=0.05), step
        assert stats[step].p90_s == pytest.approx(float(np.percentile(values, 90)), abs=0.05), step
    # The per-request durations (the CSV) say the same, request by request.
    rows = request_durations(_filter(seeded))
    assert len(rows) == N
    assert sorted(r["total"] for r in rows if r["total"] is not None) == pytest.approx(
        sorted(expected["total"]), abs=0.05)


def test_filters_narrow_every_figure(seeded):
    gmf = [r for r, f in seeded.requests.items() if f["org"] == "gmf"]
    stats = {st.step: st for st in step_durations(_filter(seeded, organization_types=["gmf"]))}
    expected = _expected_durations(seeded, gmf)
    assert stats["reviewed"].count == len(expected["reviewed"])
    assert stats["reviewed"].median_s == pytest.approx(float(np.median(expected["reviewed"])), abs=0.05)
    page = requests_page(_filter(seeded, organization_types=["gmf"], statuses=["completed"]), page_size=10)
    assert page.total == sum(1 for r in gmf if seeded.requests[r]["status"] == "completed")
    assert {r.organization_type for r in page.rows} == {"gmf"}
    # Step and overdue: requests with an overdue open respondent task.
    now = seeded.end
    late = [r for r, f in seeded.requests.items()
            if f["task"] and f["task"]["kind"] == "respondent" and f["task"]["due_at"] < now]
    flt = _filter(seeded, steps=["respondent"], overdue_only=True)
    page = requests_page(flt, page_size=500)
    assert page.total == len(late) > 0
    assert all(r.overdue and r.current_step == "respondent" for r in page.rows)
    # A period that holds half the year holds the requests created in it, and only them.
    half = seeded.start + timedelta(days=180)
    assert requests_page(HistoryFilter(start=seeded.start, end=half, reference_contains=seeded.tag)).total == \
        sum(1 for f in seeded.requests.values() if f["created"] < half)


def test_weekly_volume_by_outcome(seeded):
    got = {(w["week"], w["outcome"]): w["count"] for w in weekly_outcomes(_filter(seeded))}
    final = {"completed", "refused_by_authorizer", "refused_by_ramq", "expired", "cancelled"}
    expected: Counter = Counter()
    for f in seeded.requests.values():
        day = f["created"].date()
        monday = day - timedelta(days=day.weekday())
        expected[(monday, f["status"] if f["status"] in final else "open")] += 1
    assert got == dict(expected)
    assert all(isinstance(week, date) and week.weekday() == 0 for week, _ in got)


def test_open_work_by_step_and_age_overdue_and_stale(seeded):
    now = seeded.end
    tasks = [f["task"] for f in seeded.requests.values() if f["task"]]

    def bucket(created: datetime) -> str:
        age = now - created
        for days, name in ((1, "lt_1d"), (3, "1_3d"), (7, "3_7d"), (14, "7_14d")):
            if age <= timedelta(days=days):
                return name
        return "ge_14d"

    expected = Counter((t["kind"], bucket(t["created_at"])) for t in tasks)
    got = {(r["step"], r["age"]): r["count"] for r in open_work_by_age(_filter(seeded))}
    assert got == dict(expected)

    # "now" inside the period: ages spread over the buckets, some tasks are not yet due.
    mid = seeded.start + timedelta(days=200)
    live = [f["task"] for f in seeded.requests.values() if f["task"] and f["created"] < mid]
    figures = overdue_and_stale(HistoryFilter(start=seeded.start, end=mid, now=mid,
                                              reference_contains=seeded.tag))
    stale_before = mid - timedelta(hours=get_settings().stale_claim_hours)
    for kind in ("authorizer", "respondent", "countersign"):
        mine = [t for t in live if t["kind"] == kind]
        assert figures[kind]["open"] == len(mine) > 0, kind
        assert 0 < figures[kind]["overdue"] == sum(1 for t in mine if t["due_at"] < mid) < len(mine), kind
        assert 0 < figures[kind]["stale"] == sum(
            1 for t in mine if t["claimed"] and t["claimed_at"] < stale_before) < len(mine), kind


def test_paging_reaches_every_request_once(seeded):
    flt = _filter(seeded)
    seen: list[str] = []
    first = requests_page(flt, page=1, page_size=333)
    assert first.total == N and first.pages == -(-N // 333)
    for number in range(1, first.pages + 1):
        page = requests_page(flt, page=number, page_size=333)
        assert page.page == number
        seen += [r.reference for r in page.rows]
    assert sorted(seen) == sorted(seeded.requests)
    assert len(seen) == len(set(seen))
    created = [seeded.requests[r]["created"] for r in seen]
    assert created == sorted(created, reverse=True)  # the most recent first
    # A page past the end shows the last one; a huge page size is capped, not refused.
    assert requests_page(flt, page=10**6, page_size=333).page == first.pages
    assert len(requests_page(flt, page=1, page_size=10**6).rows) == 500


def test_the_open_task_filters_read_the_open_tasks_once_not_once_per_request(engine):
    """The step and overdue filters ask « has an open task that… » as one subquery over the open
    tasks. Asked per request (correlated), SQLite's planner probed the queue index for each of
    100,000 requests and the filtered list took minutes (benchmarks/history.py)."""
    from sqlalchemy import func, select

    from models.db import read_scope
    from models.history import _request_conditions
    from models.tables import AccessRequest

    f = HistoryFilter(now=far_future(), steps=["respondent"], overdue_only=True)
    statement = select(func.count()).select_from(AccessRequest).where(*_request_conditions(f))
    with read_scope() as s:
        sql = str(statement.compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(row) for row in s.connection().exec_driver_sql("EXPLAIN " + (
            "QUERY PLAN " if s.get_bind().dialect.name == "sqlite" else "") + sql).all())
    assert "CORRELATED" not in plan.upper() and "SubPlan" not in plan


def test_the_open_work_looks_each_open_tasks_request_up_not_every_selected_request(engine):
    """The open work and the overdue counts start from the open tasks (a few thousand) and find
    each one's request by its primary key. Asked « is the request among the selected ones », the
    database first built the list of every selected request: 100,000 ids for a whole year, about
    0.13 s on SQLite before either count could begin (benchmarks/history.py)."""
    from sqlalchemy import func, select

    from models.db import read_scope
    from models.history import _of_selected_request
    from models.tables import HumanTask

    start = far_future()
    f = HistoryFilter(start=start, end=start + timedelta(days=365), now=start, steps=["respondent"],
                      overdue_only=True, reference_contains="SEL")
    statement = select(func.count()).select_from(HumanTask).where(HumanTask.status == "open",
                                                                  _of_selected_request(f))
    with read_scope() as s:
        if s.get_bind().dialect.name != "sqlite":
            pytest.skip("the plan's words are SQLite's; PostgreSQL plans by its statistics")
        sql = str(statement.compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(row) for row in s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all())
    assert "access_request USING INTEGER PRIMARY KEY" in plan, plan
    assert "SCAN access_request" not in plan and "access_request USING COVERING INDEX" not in plan, plan


def test_the_weekly_outcomes_read_a_period_from_an_index_alone(engine):
    """A period's requests are counted by week and outcome from one index (created_at, id,
    status, organization_type: migration 0013). Through the (created_at, id) index, SQLite looked
    up each request's row for its status: 0.22 s for a whole year of 100,000 requests, 0.05 s
    from the index alone (benchmarks/history.py)."""
    from sqlalchemy import func, select

    from models.db import read_scope
    from models.history import _request_conditions
    from models.tables import AccessRequest

    start = far_future()
    f = HistoryFilter(start=start, end=start + timedelta(days=365), now=start, organization_types=["gmf"])
    day = func.substr(AccessRequest.created_at, 1, 10)
    statement = (select(day, AccessRequest.status, func.count()).where(*_request_conditions(f))
                 .group_by(day, AccessRequest.status))
    with read_scope() as s:
        if s.get_bind().dialect.name != "sqlite":
            pytest.skip("the plan's words are SQLite's; PostgreSQL plans by its statistics")
        sql = str(statement.compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(row) for row in s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all())
    assert "access_request USING COVERING INDEX" in plan, plan
