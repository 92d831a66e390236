"""« Suivi des demandes » (managers, read-only): requests with state, last step and the link to
the Prefect run; queue sizes; a request's timeline. Nothing on it changes anything."""

from __future__ import annotations

import uuid

from models.db import session_scope
from models.settings import get_settings
from models.tables import AccessRequest
from tests.ui.conftest import authorized_request, goto, nav_error, staff_account, texts
from ui.common import STAFF_KEY


def test_only_a_signed_in_manager_reaches_it(app):
    assert nav_error(app(), "runs.py")
    respondent = staff_account("respondent")
    assert nav_error(app(state={STAFF_KEY: respondent["id"]}), "runs.py")


def test_the_manager_sees_requests_runs_and_timelines_read_only(app):
    sub, task_id = authorized_request()
    run_id = str(uuid.uuid4())
    with session_scope() as s:
        req = s.get(AccessRequest, sub.request_id)
        req.flow_run_id = run_id
        s.add(req)
    manager = staff_account("manager")
    at = goto(app(state={STAFF_KEY: manager["id"]}), "runs.py")
    assert not at.exception
    at.text_input(key="runs_ref").input(sub.reference).run()
    frame = at.dataframe[-2].value
    row = frame[frame["Référence"] == sub.reference].iloc[0]
    assert row["Exécution Prefect"] == f"{get_settings().prefect_ui_url}/runs/flow-run/{run_id}"
    assert row["État"] == "En attente d'autorisation"  # status as stored (no flow ran)
    assert row["Dernière étape"] == "Autorisée (section 3 signée)"
    timeline = at.dataframe[-1].value
    assert list(timeline["Étape"])[:2] == ["Demande soumise", "Autorisée (section 3 signée)"]
    assert at.metric  # queue sizes
    assert "Tâches ouvertes par étape" in texts(at)
    # Read-only: the only buttons are the sidebar's sign-out.
    assert [b.key for b in at.button] == ["logout"]
