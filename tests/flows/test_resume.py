"""Starting and resuming a run when Prefect's server is busy. On SQLite, the server answers a
start or a resume that raced another write with 503 (« database is locked »): one decision in two
on an idle stack, and new requests waited up to two minutes with 8 people at once. Prefect's
client waits 2 s before trying again (then 4, 8, 16, 32); the call is tried again at once
instead. A small proxy in front of the real Prefect server answers the first start and the first
resume with 503, the way the server does."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flows import api, runs
from flows.recovery import read_run_states
from models.db import session_scope
from models.tables import AccessRequest, Decision
from tests.flows.workflow_helpers import mail, open_task, section3, token_in, unique_request, wait_until

pytestmark = pytest.mark.workflow
STEP = 240


BUSY_ONCE = ("/create_flow_run", "/set_state")  # the calls answered busy the first time (a start, a resume)


class BusyOnce(ThreadingHTTPServer):
    """Forwards every call to Prefect's server, except the first start and the first resume of
    a run: 503, as when busy."""

    daemon_threads = True

    def __init__(self, upstream: str, busy_once: tuple[str, ...] = BUSY_ONCE):
        self.upstream = upstream.rstrip("/")
        self.busy_once = busy_once
        self.answers: list[tuple[str, str, int]] = []  # (method, path, status) of every call forwarded
        self.refused: dict[str, float] = {}  # call → when it was answered busy
        self.passed: dict[str, list[tuple[float, int]]] = {call: [] for call in busy_once}
        super().__init__(("127.0.0.1", 0), _Forward)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api"


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: BusyOnce

    def log_message(self, *args) -> None:
        pass

    def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        call = next((c for c in self.server.busy_once if self.command == "POST" and self.path.endswith(c)), None)
        if call and call not in self.server.refused:
            self.server.refused[call] = time.monotonic()
            self._answer(503, b'{"exception_message": "Service Unavailable"}')
            return
        path = self.path[len("/api"):] if self.path.startswith("/api") else self.path
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "content-length", "accept-encoding")}
        request = urllib.request.Request(self.server.upstream + path, data=body or None, method=self.command,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                status, data, kind = answer.status, answer.read(), answer.headers.get("Content-Type", "")
        except urllib.error.HTTPError as refused:
            status, data, kind = refused.code, refused.read(), refused.headers.get("Content-Type", "")
        self.server.answers.append((self.command, path, status))
        if call:
            self.server.passed[call].append((time.monotonic(), status))
        self._answer(status, data, kind or "application/json")

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward


@pytest.fixture
def busy_once(prefect_server):
    proxy = BusyOnce(prefect_server.api_url)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_a_start_and_a_resume_the_server_answers_busy_are_tried_again_at_once(live, smtp_server, busy_once,
                                                                               monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    data = unique_request()
    with temporary_settings({PREFECT_API_URL: busy_once.url}):
        sub = api.submit_request(data, actor="test")
    assert_tried_again_at_once(busy_once, "/create_flow_run")
    with session_scope() as s:
        run_id = s.get(AccessRequest, sub.request_id).flow_run_id
    assert run_id, "the run was not started: the sweeper would have had to"
    token = token_in(mail(smtp_server, data["authorizer"]["email"], "autorisation est requise",
                          timeout=STEP)[-1])
    wait_until(lambda: read_run_states([run_id])[run_id].state_type == "PAUSED", timeout=STEP,
               what="the run waits for its authorizer")

    # The decision is stored as the screen stores it; its resume is made here, through the proxy.
    monkeypatch.setattr(runs, "resume_soon", lambda decision_id, flow_run_id: None)
    decision_id = api.authorizer_decide(token, outcome="authorize", section3=section3(data))
    with temporary_settings({PREFECT_API_URL: busy_once.url}):
        assert runs.resume(decision_id) is True
    assert_tried_again_at_once(busy_once, "/set_state")
    with session_scope() as s:
        assert s.get(Decision, decision_id).resumed_at is not None
    open_task(sub.request_id, "respondent", timeout=STEP)  # the run went on with the decision


def assert_tried_again_at_once(proxy: BusyOnce, call: str) -> None:
    assert call in proxy.refused, f"the proxy never saw {call}"
    # The real server behind the proxy may answer busy too (then that answer is tried again
    # as well): what counts is that the first try after the refusal came at once, and the last
    # one went through.
    passed = proxy.passed[call]
    assert passed and passed[-1][1] in (200, 201), passed
    # Prefect's client would have waited about 2 s (1.6 to 2.4 with its jitter) before the retry.
    assert passed[0][0] - proxy.refused[call] < 1.0


def test_two_starts_of_one_request_at_once_make_one_run(live):
    """The form's own start and the sweeper's may race for a request stored without a run: the
    idempotency key makes Prefect answer both with the same run, and the request keeps it."""
    from concurrent.futures import ThreadPoolExecutor
    from datetime import UTC, datetime

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    began = datetime.now(UTC)
    sub = api.submit_request(unique_request(), actor="test", start=False)
    with ThreadPoolExecutor(2) as pool:
        started = list(pool.map(lambda _: runs.start_flow(sub.request_id), range(2)))
    assert started[0] and started[0] == started[1]
    with session_scope() as s:
        request = s.get(AccessRequest, sub.request_id)
        assert request.flow_run_id == started[0]
        reference = request.reference
    with get_client(sync_client=True) as client:
        named = client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[reference])))
    # The other backend's database (the Prefect server is shared) may hold a request of the same
    # reference: only this test's runs are counted.
    ours = [str(r.id) for r in named if r.created is not None and r.created >= began]
    assert ours == [started[0]]


def test_a_run_killed_between_its_suspension_and_its_input_schema_is_resumed(live, smtp_server, monkeypatch):
    """Prefect's ``suspend_flow_run`` sets the run ``Suspended``, then stores the schema of the
    input it waits for: a process killed between the two calls (the runner killed with its runs,
    as in tests/faults/test_runner_killed.py) leaves a run whose every resume Prefect refuses
    (« Run input schema not found », a REJECT). The decision was stored and would never have
    been acted upon; the resume no longer needs the schema, and goes through."""
    from uuid import UUID

    from prefect.client.orchestration import get_client

    request_id, decision_id, run_id = _paused_with_a_decision(smtp_server, monkeypatch)
    with get_client(sync_client=True) as client:
        keyset = client.read_flow_run(UUID(run_id)).state.state_details.run_input_keyset
        client.delete_flow_run_input(UUID(run_id), keyset["schema"])  # as if killed before it

    # What the screen's resume does (it tries for 15 s; the sweeper tries again later).
    assert runs.resume(decision_id) is True
    with session_scope() as s:
        assert s.get(Decision, decision_id).resumed_at is not None
    open_task(request_id, "respondent", timeout=STEP)  # the run went on with the decision


def test_the_applications_prefect_clients_share_one_tls_context(monkeypatch):
    """A resume makes a Prefect client (and a start, and every try of a resume while the run
    is not yet suspended); each used to load certifi's whole trust store twice (about 40 ms of
    CPU before its first call), even for the embedded plain-HTTP API."""
    import ssl

    first = runs.prefect_client()  # the imports' own contexts (Prefect's modules make some) are paid once
    loaded: list[object] = []
    original = ssl.SSLContext.load_verify_locations

    def counting(self, *args, **kwargs):
        loaded.append(args or kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    clients = [first] + [runs.prefect_client() for _ in range(3)]
    assert loaded == []
    assert len({id(c._client._transport._pool._ssl_context) for c in clients}) == 1  # one context, shared


def test_the_stack_tells_its_clients_whether_its_server_asks_for_csrf_tokens(tmp_path, monkeypatch):
    """Prefect's server has no CSRF protection unless it is turned on; a client that does not
    know asks it for a token (a round trip, answered 422) before its first change."""
    import subprocess
    import sys

    from flows.stack import Stack

    def stack_env() -> dict[str, str]:
        return Stack(var_dir=tmp_path, prefect_port=1, smtp_port=2, ui_port=3).env

    assert stack_env()["PREFECT_CLIENT_CSRF_SUPPORT_ENABLED"] == "false"
    monkeypatch.setenv("PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED", "true")
    assert stack_env()["PREFECT_CLIENT_CSRF_SUPPORT_ENABLED"] == "true"
    # The stack's environment is made before Prefect is imported (a process that plays people
    # applies it to itself first): making it must not import Prefect, whose settings would then
    # be fixed from the environment before.
    probe = ("import sys, tempfile; from pathlib import Path; from flows.stack import Stack; "
             "Stack(var_dir=Path(tempfile.mkdtemp()), prefect_port=1, smtp_port=2, ui_port=3).env; "
             "print('prefect' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_a_resume_waits_for_the_servers_write_lock_instead_of_being_refused(live, smtp_server, prefect_server,
                                                                           monkeypatch):
    """Prefect's ``/resume`` reads, then writes, in a transaction that SQLite refuses (« database
    is locked », 503) when another write commits in between: the writes of the execution that
    has just suspended (its steps' events) did, at most resumes of an idle stack, and each
    refusal cost a try and a wait. The resume is now made of the two changes Prefect's resume
    makes, each of which waits for the write lock. Here another connection holds that lock
    while the resume is made, and writes, as the server's event recorder does."""
    import sqlite3

    from prefect.settings import PREFECT_API_URL, temporary_settings

    database = prefect_server.var_dir / "prefect" / "prefect.db"
    assert database.exists()
    request_id, decision_id, _ = _paused_with_a_decision(smtp_server, monkeypatch)

    proxy = BusyOnce(prefect_server.api_url, busy_once=())  # forwards and records, refuses nothing
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    locked, release = threading.Event(), threading.Event()

    def hold_the_write_lock() -> None:
        db = sqlite3.connect(database, isolation_level=None, timeout=30)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE flow_run SET tags = tags WHERE id = (SELECT id FROM flow_run LIMIT 1)")
            locked.set()
            release.wait(10)
            db.execute("COMMIT")
        finally:
            db.close()

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    try:
        assert locked.wait(30)
        threading.Timer(0.5, release.set).start()  # the other write commits while the resume is under way
        with temporary_settings({PREFECT_API_URL: proxy.url}):
            assert runs.resume(decision_id, wait_seconds=60) is True
    finally:
        release.set()
        holder.join()
        proxy.shutdown()
        proxy.server_close()
    refused = [answer for answer in proxy.answers if answer[2] in runs.SERVER_BUSY]
    assert not refused, refused
    open_task(request_id, "respondent", timeout=STEP)  # the run went on with the decision


def _paused_with_a_decision(smtp_server, monkeypatch) -> tuple[int, int, str]:
    """A request whose run waits for its authorizer, and the authorizer's decision stored
    without its resume: (request id, decision id, run id)."""
    data = unique_request()
    sub = api.submit_request(data, actor="test")
    token = token_in(mail(smtp_server, data["authorizer"]["email"], "autorisation est requise",
                          timeout=STEP)[-1])
    with session_scope() as s:
        run_id = s.get(AccessRequest, sub.request_id).flow_run_id
    wait_until(lambda: read_run_states([run_id])[run_id].state_type == "PAUSED", timeout=STEP,
               what="the run waits for its authorizer")
    monkeypatch.setattr(runs, "resume_soon", lambda decision_id, flow_run_id: None)
    return sub.request_id, api.authorizer_decide(token, outcome="authorize", section3=section3(data)), run_id


def test_two_resumes_of_one_suspension_at_once_schedule_the_run_once(live, smtp_server, monkeypatch):
    """The screen's resume and the sweeper's may both find the run suspended. Only the one
    that stores the suspension's input schedules it again: a second « Resuming » a moment later
    would find the run started, and Prefect lets a running run be scheduled again."""
    from uuid import UUID

    from prefect.client.orchestration import get_client

    request_id, decision_id, run_id = _paused_with_a_decision(smtp_server, monkeypatch)
    with runs.prefect_client() as client:
        suspended = client.read_flow_run(UUID(run_id))  # what both read
        assert runs._resume_paused(client, suspended, decision_id) is True
        assert runs._resume_paused(client, suspended, decision_id) is False
    with get_client(sync_client=True) as client:
        names = [state.name for state in client.read_flow_run_states(UUID(run_id))]
    assert names.count(runs.RESUMING_STATE_NAME) == 1, names
    open_task(request_id, "respondent", timeout=STEP)  # the run went on with the decision


def test_a_resume_cut_short_after_storing_the_input_is_finished_by_the_next(live, smtp_server, monkeypatch):
    """A resume whose process died between its two calls left the suspension's input stored
    and the run suspended: the next resume (the sweeper's), finding the input a while old,
    schedules the run again."""
    import json
    from uuid import UUID

    request_id, decision_id, run_id = _paused_with_a_decision(smtp_server, monkeypatch)
    with runs.prefect_client() as client:
        keyset = client.read_flow_run(UUID(run_id)).state.state_details.run_input_keyset
        client.create_flow_run_input(UUID(run_id), key=keyset["response"],
                                     value=json.dumps({"decision_id": decision_id}))
    assert runs.resume(decision_id, wait_seconds=0) is False  # just stored: the other resume may be under way
    monkeypatch.setattr(runs, "UNFINISHED_RESUME_SECONDS", 0.0)  # as when that input is old
    assert runs.resume(decision_id) is True
    open_task(request_id, "respondent", timeout=STEP)
