"""« Suivi des demandes » (managers and operators, read-only): requests with their status, the
state of their Prefect run (read by the app), last step; requests in a bad state flagged at the
top; queue sizes; a request's timeline. The link to the Prefect UI (where runs can be cancelled,
deleted or resumed) is for operators only. Nothing on it changes anything."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from models.db import session_scope
from models.settings import get_settings
from models.tables import AccessRequest, utcnow
from tests.ui.conftest import authorized_request, goto, nav_error, texts
from tests.ui.conftest import staff_account as _staff_account
from ui.common import STAFF_KEY


def staff(role: str) -> dict:
    """A staff account of ``role`` with its own professional address."""
    return _staff_account(role, email=f"{role[:4]}.{uuid.uuid4().hex[:8]}@ramq.example.qc.ca")

STUCK = "Bloquée — intervention requise"


def attach_run(request_id: int, run_id: str | None = None, **values) -> str:
    run_id = run_id or str(uuid.uuid4())
    with session_scope() as s:
        req = s.get(AccessRequest, request_id)
        req.flow_run_id = run_id
        for name, value in values.items():
            setattr(req, name, value)
        s.add(req)
    return run_id


def open_page(app, role: str, reference: str | None = None):
    at = goto(app(state={STAFF_KEY: staff(role)["id"]}), "runs.py")
    assert not at.exception
    if reference:
        at.text_input(key="runs_ref").input(reference).run()
        assert not at.exception
    return at


def frame_with(at, column: str):
    """The table of the page that has ``column`` (the requests: « Référence »; the timeline: « Δ »;
    the signed record: « SHA-256 »)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def main_row(at, reference: str):
    frame = next(d.value for d in at.dataframe if "Dernière étape" in d.value.columns)
    return frame[frame["Référence"] == reference].iloc[0]


def attention(at):
    """The 'needs attention' table at the top of the page (None when nothing is flagged)."""
    frame = at.dataframe[0].value
    return frame if "Problème" in frame.columns else None


def test_only_a_signed_in_manager_or_operator_reaches_it(app):
    assert nav_error(app(), "runs.py")
    respondent = staff("respondent")
    assert nav_error(app(state={STAFF_KEY: respondent["id"]}), "runs.py")
    for role in ("manager", "operator"):
        at = goto(app(state={STAFF_KEY: staff(role)["id"]}), "runs.py")
        assert not at.exception and at.title[0].value == "Suivi des demandes"


def test_the_manager_sees_states_and_timelines_but_no_prefect_link(app):
    sub, task_id = authorized_request()
    attach_run(sub.request_id)
    at = open_page(app, "manager", sub.reference)
    # One heading per name: the list under the charts is not a second « Suivi des demandes »
    # (two headings of one name share one anchor id, and a browser test could not tell them apart).
    headings = [m.value.lstrip("# ").strip() for m in at.markdown if str(m.value).startswith("#")]
    assert "Toutes les demandes" in headings and at.title[0].value not in headings
    row = main_row(at, sub.reference)
    assert row["État"] == "En attente d'autorisation"  # status as stored (no flow ran)
    assert row["Exécution"] == "inconnu"  # no such run in Prefect (or Prefect not running)
    assert row["Dernière étape"] == "Autorisée (section 3 signée)"
    # The Prefect UI can cancel, delete or resume runs: a manager gets no way there.
    assert "Exécution Prefect" not in frame_with(at, "Dernière étape").columns
    assert not at.get("link_button")
    assert get_settings().prefect_ui_url not in texts(at)
    timeline = frame_with(at, "Δ")
    # The signed record: the user's and the authorizer's signatures, both intact.
    record = frame_with(at, "SHA-256")
    assert list(record["Vérification"]) == ["intacte", "intacte"]
    assert "Signatures intactes" in texts(at)
    assert [b.label for b in at.get("download_button")] == [
        "Télécharger les durées (CSV)", "Télécharger la liste affichée (CSV)",
        "Télécharger le formulaire (PDF scellé)"]
    assert list(timeline["Étape"])[:2] == ["Demande soumise", "Autorisée (section 3 signée)"]
    assert at.metric  # queue sizes
    assert "Tâches ouvertes par étape" in texts(at)
    # Read-only: the only buttons are the sidebar's sign-out.
    assert [b.key for b in at.button] == ["logout"]


def test_an_operator_also_gets_the_link_to_the_prefect_run(app):
    sub, _ = authorized_request()
    run_id = attach_run(sub.request_id)
    at = open_page(app, "operator", sub.reference)
    row = main_row(at, sub.reference)
    assert row["Exécution Prefect"] == f"{get_settings().prefect_ui_url}/runs/flow-run/{run_id}"
    assert [b.proto.url for b in at.get("link_button")] == [
        f"{get_settings().prefect_ui_url}/runs/flow-run/{run_id}"]
    assert [b.key for b in at.button] == ["logout"]


def test_a_stuck_request_is_flagged_at_the_top(app):
    sub, _ = authorized_request()
    attach_run(sub.request_id, run_stuck_at=utcnow() - timedelta(minutes=5), run_restarts=5)
    at = open_page(app, "manager")
    flagged = attention(at)
    assert flagged is not None
    row = flagged[flagged["Référence"] == sub.reference].iloc[0]
    assert row["Problème"] == STUCK
    assert row["Redémarrages"] == 5
    assert any("intervention requise" in str(e.value) for e in at.error)
    # The requests table says it too, beside the status.
    at.text_input(key="runs_ref").input(sub.reference).run()
    assert main_row(at, sub.reference)["Exécution"] == STUCK


def test_states_are_unknown_in_french_when_prefect_is_unreachable():
    from flows.prefect_states import read_run_states

    ids = [str(uuid.uuid4()), str(uuid.uuid4()), "not-a-uuid"]
    started = time.monotonic()
    states = read_run_states(ids, api_url="http://127.0.0.1:9/api")
    assert time.monotonic() - started < 10
    assert states == {i: ("UNKNOWN", "inconnu") for i in ids}
    assert read_run_states([]) == {}


@pytest.fixture
def prefect_runs(prefect_server):
    """Creates flow runs in given states on the session's real Prefect server."""
    from prefect import flow
    from prefect.client.orchestration import get_client

    @flow(name="ramq-ui-state-probe", persist_result=False)
    def probe() -> None:
        return None

    def make(state) -> str:
        with get_client(sync_client=True) as client:
            return str(client.create_flow_run(probe, state=state).id)

    return make


def test_run_states_come_from_prefect_and_bad_ones_are_flagged(app, prefect_runs):
    from prefect.states import Completed, Crashed, Paused, Running

    crashed, _ = authorized_request()
    attach_run(crashed.request_id, prefect_runs(Crashed()))
    waiting, _ = authorized_request()
    attach_run(waiting.request_id, prefect_runs(Paused(pause_key="authorizer-1")))
    running, _ = authorized_request()
    attach_run(running.request_id, prefect_runs(Running()))
    done, _ = authorized_request()  # a closed request whose run crashed is no one's problem
    attach_run(done.request_id, prefect_runs(Crashed()), status="completed", closed_at=utcnow())
    finished, _ = authorized_request()
    attach_run(finished.request_id, prefect_runs(Completed()), status="completed",
               closed_at=utcnow())

    from flows.prefect_states import read_run_states

    with session_scope() as s:
        rid = s.get(AccessRequest, running.request_id).flow_run_id
    assert read_run_states([rid])[rid][0] == "RUNNING"

    at = open_page(app, "manager")
    flagged = attention(at)
    assert flagged is not None
    refs = set(flagged["Référence"])
    assert crashed.reference in refs
    assert not refs & {waiting.reference, running.reference, done.reference, finished.reference}
    assert "Plantée" in flagged[flagged["Référence"] == crashed.reference].iloc[0]["Problème"]

    expected = [(crashed, "Plantée"), (waiting, "En pause (attend une décision)"),
                (running, "En cours"), (done, "Plantée"), (finished, "Terminée")]
    for sub, label in expected:
        at.text_input(key="runs_ref").input(sub.reference).run()
        assert not at.exception
        assert main_row(at, sub.reference)["Exécution"] == label, sub.reference
    assert "Exécution Prefect" not in frame_with(at, "Dernière étape").columns  # still a manager


def test_an_operator_signing_in_lands_on_the_tracking_page(app):
    from tests.ui.conftest import STAFF_PASSWORD

    account = staff("operator")
    at = goto(app(), "staff_login.py")
    at.text_input(key="staff_username").input(account["username"])
    at.text_input(key="staff_password").input(STAFF_PASSWORD)
    at = at.button[[b.label for b in at.button].index("Se connecter")].click().run()
    assert not at.exception
    assert at.title[0].value == "Suivi des demandes"
    assert any("exploitation" in str(c.value) for c in at.sidebar.caption)


def test_which_run_states_are_a_problem_for_an_open_request():
    from prefect.states import (
        AwaitingRetry,
        Cancelled,
        Completed,
        Crashed,
        Failed,
        Late,
        Paused,
        Pending,
        Running,
        Scheduled,
        Suspended,
    )

    from flows.prefect_states import UNKNOWN, run_problem

    def problem(state, open_task: bool) -> str | None:
        return run_problem(state.type.value, state.name, open_task=open_task)

    for state, code in ((Crashed(), "CRASHED"), (Failed(), "FAILED"), (Cancelled(), "CANCELLED"),
                        (Late(), "LATE")):
        assert problem(state, True) == problem(state, False) == code
    for state in (Suspended(), Paused()):
        assert problem(state, False) == "PAUSED_WITHOUT_TASK"  # nobody will resume it
        assert problem(state, True) is None  # waiting for a person, as it should
    for state in (Running(), Pending(), Scheduled(), AwaitingRetry(), Completed()):
        assert problem(state, False) is None
    assert run_problem(*UNKNOWN, open_task=False) is None  # Prefect unreachable: unknown, not bad


def test_the_list_flags_late_runs_and_runs_paused_with_no_open_task(app, prefect_runs):
    from prefect.states import Late, Running, Suspended

    from models.enums import TaskStatus
    from models.tables import HumanTask

    late, _ = authorized_request()
    attach_run(late.request_id, prefect_runs(Late(scheduled_time=utcnow() - timedelta(minutes=10))))
    orphan, _ = authorized_request()  # suspended, but its task was closed: nobody will resume it
    attach_run(orphan.request_id, prefect_runs(Suspended(timeout_seconds=3600)))
    with session_scope() as s:
        for task in s.exec(select(HumanTask).where(HumanTask.request_id == orphan.request_id)).all():
            task.status = TaskStatus.done.value
            s.add(task)
    waiting, _ = authorized_request()  # suspended on its open respondent task: as it should be
    attach_run(waiting.request_id, prefect_runs(Suspended(timeout_seconds=3600)))
    running, _ = authorized_request()
    attach_run(running.request_id, prefect_runs(Running()))

    at = open_page(app, "manager")
    # At the top too, whatever the filters: the late run and the orphan, not the others.
    flagged = attention(at)
    assert flagged is not None
    problems = dict(zip(flagged["Référence"], flagged["Problème"], strict=True))
    assert problems[late.reference] == "Exécution en retard de démarrage"
    assert problems[orphan.reference] == "Exécution en pause sans tâche ouverte"
    assert waiting.reference not in problems and running.reference not in problems
    expected = [(late, "En retard de démarrage", "Exécution en retard de démarrage"),
                (orphan, "En pause (attend une décision)", "Exécution en pause sans tâche ouverte"),
                (waiting, "En pause (attend une décision)", ""),
                (running, "En cours", "")]
    for sub, state, alert in expected:
        at.text_input(key="runs_ref").input(sub.reference).run()
        assert not at.exception
        row = main_row(at, sub.reference)
        assert (row["Exécution"], row["Alerte"]) == (state, alert), sub.reference
