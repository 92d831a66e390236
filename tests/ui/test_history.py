"""« Suivi des demandes » on a few hundred requests seeded with known times (their own reference
tag and a far-future period, so the rest of the suite's data stays out): the filters, the figures,
the step medians shown against values computed here, the charts in French, paging through
every request, and the CSV of what is shown."""

from __future__ import annotations

import io
import json
import random
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from benchmarks.history import retire, seed
from tests.models.test_history import _expected_durations, far_future
from tests.ui.conftest import goto, texts
from tests.ui.test_runs import staff
from ui.common import STAFF_KEY

N = 450
STEP_LABELS = {"authorized": "Autorisation (soumise → autorisée)",
               "reviewed": "Analyse RAMQ (autorisée → décision)",
               "countersigned": "Contre-signature (décision → contre-signée)",
               "credentials_sent": "Envoi des accès (contre-signée → mot de passe envoyé)",
               "total": "Total (soumise → mot de passe envoyé)"}


@pytest.fixture
def seeded(app_env):
    seeded = seed(N, start=far_future(), days=120, seed_value=random.randint(0, 10**6))
    yield seeded
    retire(seeded)


def _open(app, seeded):
    at = goto(app(state={STAFF_KEY: staff("manager")["id"]}), "runs.py")
    assert not at.exception
    at.date_input(key="runs_period").set_value(
        ((seeded.start - timedelta(days=1)).date(), (seeded.end + timedelta(days=1)).date()))
    at.text_input(key="runs_ref").input(seeded.tag)
    at = at.run()
    assert not at.exception
    return at


def _metric(at, label: str) -> int:
    return int(next(m.value for m in at.metric if m.label == label))


def _frame(at, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _csv_id(data: bytes, filename: str) -> str:
    """The name Streamlit gives the file a download button serves (a hash of its bytes)."""
    from streamlit.runtime.memory_media_file_storage import _calculate_file_id

    return _calculate_file_id(data, "text/csv", filename)


def test_the_figures_of_a_seeded_period_match_values_computed_independently(app, seeded):
    at = _open(app, seeded)
    assert _metric(at, "Demandes retenues") == N
    tasks = [f["task"] for f in seeded.requests.values() if f["task"]]
    assert _metric(at, "Tâches ouvertes") == len(tasks)
    # Today is long before the period: nothing is due yet (the counts against a given "now"
    # are checked in tests/models/test_history.py).
    assert _metric(at, "Tâches en retard") == 0
    assert _metric(at, "Prises en charge inactives") == 0

    durations = _frame(at, "Médiane (heures)")
    expected = _expected_durations(seeded)
    for step, values in expected.items():
        row = durations[durations["Étape"] == STEP_LABELS[step]].iloc[0]
        assert row["Demandes"] == len(values)
        assert row["Médiane (heures)"] == pytest.approx(np.percentile(values, 50) / 3600, abs=0.006)
        assert row["90e centile (heures)"] == pytest.approx(np.percentile(values, 90) / 3600, abs=0.006)

    # Three charts, titled in French; outcomes and steps by their French labels.
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert len(specs) == 3
    titles = {enc.get("title") for spec in specs for enc in spec["encoding"].values() if isinstance(enc, dict)}
    assert {"Durée (heures)", "Semaine (lundi)", "Demandes", "Issue", "Ancienneté", "Tâches ouvertes"} <= titles
    assert "Demandes par semaine de soumission et par issue" in texts(at)

    # Filters narrow the figures: the GMF requests completed.
    at.multiselect(key="runs_org").set_value(["gmf"])
    at.multiselect(key="runs_status").set_value(["completed"])
    at = at.run()
    assert not at.exception
    assert _metric(at, "Demandes retenues") == sum(
        1 for f in seeded.requests.values() if f["org"] == "gmf" and f["status"] == "completed")
    shown = _frame(at, "Identifiant d'exécution")
    assert set(shown["Type d'organisation"]) == {"Groupe de médecine de famille (GMF)"}
    assert set(shown["État"]) == {"Terminée — accès délivré"}

    # Step and overdue: the requests waiting on the SOES; none of them is overdue yet.
    at.multiselect(key="runs_org").set_value([])
    at.multiselect(key="runs_status").set_value([])
    at.multiselect(key="runs_step").set_value(["countersign"])
    at = at.run()
    waiting = [r for r, f in seeded.requests.items() if f["task"] and f["task"]["kind"] == "countersign"]
    assert _metric(at, "Demandes retenues") == len(waiting) > 0
    shown = _frame(at, "Identifiant d'exécution")
    assert set(shown["Étape en cours"]) == {"Contre-signature SOES (section 4)"}
    assert set(shown["En retard"]) == {"Non"}
    at.checkbox(key="runs_overdue").check()
    at = at.run()
    assert _metric(at, "Demandes retenues") == 0
    assert "Aucune demande." in texts(at)


def test_paging_reaches_every_request_and_the_csv_holds_what_is_shown(app, seeded):
    at = _open(app, seeded)
    at.selectbox(key="runs_page_size").set_value(200)
    at = at.run()
    seen: list[str] = []
    for number in (1, 2, 3):
        at.number_input(key="runs_page").set_value(number)
        at = at.run()
        assert not at.exception
        assert f"Page {number} sur 3 — {N} demande(s) retenue(s)" in texts(at)
        shown = _frame(at, "Identifiant d'exécution")
        seen += list(shown["Référence"])
        button = next(b for b in at.get("download_button") if b.label == "Télécharger la liste affichée (CSV)")
        csv = shown.to_csv(index=False).encode("utf-8-sig")
        assert _csv_id(csv, f"demandes-page-{number}.csv") in button.proto.url
        assert list(pd.read_csv(io.BytesIO(csv), dtype=str, keep_default_na=False)
                    ["Référence"]) == list(shown["Référence"])
    assert sorted(seen) == sorted(seeded.requests) and len(seen) == N
    assert {"Référence", "État", "Exécution", "Alerte", "Type d'organisation", "Créée", "Fermée",
            "Étape en cours", "En retard", "Identifiant d'exécution"} <= set(shown.columns)

    durations = _frame(at, "Médiane (heures)")
    button = next(b for b in at.get("download_button") if b.label == "Télécharger les durées (CSV)")
    assert _csv_id(durations.to_csv(index=False).encode("utf-8-sig"), "durees-etapes.csv") in button.proto.url

    # Narrowing the filters brings a page past the end back to the last one.
    at.multiselect(key="runs_org").set_value(["optilab"])
    at = at.run()
    assert not at.exception
    assert at.number_input(key="runs_page").value == 1


def test_the_page_in_english(app, seeded):
    # The filters are set before the page runs: AppTest formats a select box's value outside
    # the session (so in French) when it runs the page again.
    period = ((seeded.start - timedelta(days=1)).date(), (seeded.end + timedelta(days=1)).date())
    at = app(state={STAFF_KEY: staff("manager")["id"], "lang": "en", "runs_ref": seeded.tag,
                    "runs_period": period})
    at = goto(at, "runs.py")
    assert not at.exception
    assert _metric(at, "Requests selected") == N
    assert "Time each step takes" in texts(at)
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    titles = {enc.get("title") for spec in specs for enc in spec["encoding"].values() if isinstance(enc, dict)}
    assert {"Duration (hours)", "Week (Monday)", "Outcome", "Age"} <= titles
    shown = _frame(at, "Run id")
    assert {"Reference", "Organization type", "Current step", "Overdue"} <= set(shown.columns)
