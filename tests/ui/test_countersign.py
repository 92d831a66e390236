"""« Contre-signature (SOES) »: SOES only; the queue of approved requests; claim and release; the
review shows section 4 as the respondent signed it and the signatures' verdict; countersigning
needs a confirmation naming the person and the applications; returning needs a reason, which the
respondent then reads; the respondent who approved cannot countersign."""

from __future__ import annotations

from sqlmodel import select

from flows import api
from models.db import session_scope
from models.enums import SignerRole, TaskKind
from models.signatures import latest_signature
from models.tables import Account, Decision, HumanTask, RamqProcessing
from tests.ui.conftest import approved_request, errors, goto, nav_error, staff_account, texts
from ui.common import STAFF_KEY


def page(app, staff):
    return goto(app(state={STAFF_KEY: staff["id"]}), "countersign.py")


def references(at) -> list[str]:
    return list(at.dataframe[0].value["Référence"]) if at.dataframe else []


def open_review(at, task_id):
    at.selectbox(key="cs_pick").set_value(task_id)
    return at.button(key="cs_open").click().run()


def test_only_a_soes_reaches_the_page(app):
    assert nav_error(app(), "countersign.py")
    for role in ("respondent", "manager"):
        assert nav_error(app(state={STAFF_KEY: staff_account(role)["id"]}), "countersign.py")
    at = page(app, staff_account("soes"))
    assert at.title[0].value == "Contre-signature (SOES)" and not at.exception
    # And a SOES does not get the respondents' queue.
    assert nav_error(app(state={STAFF_KEY: staff_account("soes")["id"]}), "work_queue.py")


def test_review_then_countersign_with_the_confirmation(app):
    sub, task_id, respondent = approved_request()
    soes = staff_account("soes")
    at = page(app, soes)
    assert sub.reference in references(at)
    row = at.dataframe[0].value
    mine = row[row["Référence"] == sub.reference]
    assert list(mine["Répondant"]) == [respondent["username"]]
    assert "Autorisation des demandes de paiement en ligne" in list(mine["Applications"])[0]
    at = open_review(at, task_id)
    page_text = texts(at)
    assert "4. Section 4 telle que signée par le répondant" in page_text
    assert respondent["username"] in page_text
    assert any(s.value.startswith("Signatures intactes") for s in at.success)
    assert not [b for b in at.button if b.key == "cs_decide"]  # claim first
    at.button(key="cs_claim_btn").click().run()
    assert at.radio(key=f"cs:{task_id}:outcome").value is None
    at.button(key="cs_decide").click().run()
    assert "Choisissez une décision." in errors(at)
    at.radio(key=f"cs:{task_id}:outcome").set_value("countersign").run()
    confirm = at.checkbox(key=f"cs:{task_id}:confirm")
    assert confirm.label.startswith("Je confirme contre-signer l'accès de MARIE TREMBLAY à : ")
    at.button(key="cs_decide").click().run()
    assert "Cochez la confirmation pour contre-signer cette demande." in errors(at)
    at.checkbox(key=f"cs:{task_id}:confirm").check()
    at.button(key="cs_decide").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert f"Décision enregistrée pour la demande {sub.reference}." in texts(at)
    assert sub.reference not in references(at)
    with session_scope() as s:
        assert s.exec(select(Decision).where(Decision.task_id == task_id)).one().outcome == "countersign"
        section4 = s.exec(select(RamqProcessing).where(RamqProcessing.request_id == sub.request_id)).one()
        assert section4.soes_signed_by == soes["username"] and section4.soes_signed_at is not None
        assert latest_signature(s, sub.request_id, SignerRole.soes).signer == soes["username"]


def test_returning_needs_a_reason_that_the_respondent_reads(app):
    sub, task_id, respondent = approved_request()
    at = open_review(page(app, staff_account("soes")), task_id)
    at.button(key="cs_claim_btn").click().run()
    at.radio(key=f"cs:{task_id}:outcome").set_value("refuse").run()
    at.button(key="cs_decide").click().run()
    assert "Indiquez le motif." in errors(at)
    at.text_area(key=f"cs:{task_id}:reason").input("Validité trop longue pour ce poste.")
    at.button(key="cs_decide").click().run()
    assert not errors(at)
    with session_scope() as s:
        decision = s.exec(select(Decision).where(Decision.task_id == task_id)).one()
        assert (decision.outcome, decision.reason) == ("refuse", "Validité trop longue pour ce poste.")
    # The flow opens attempt 2 of the respondent's task; the queue shows the SOES's reason.
    with session_scope() as s:
        s.add(HumanTask(request_id=sub.request_id, kind=TaskKind.respondent.value, round=1, attempt=2))
    with session_scope() as s:
        again = s.exec(select(HumanTask.id).where(HumanTask.request_id == sub.request_id,
                                                  HumanTask.kind == "respondent", HumanTask.attempt == 2)).one()
    at = goto(app(state={STAFF_KEY: respondent["id"]}), "work_queue.py")
    at.selectbox(key="q_pick").set_value(again)
    at = at.button(key="q_open").click().run()
    assert "La SOES a renvoyé votre approbation : Validité trop longue pour ce poste\\." in texts(at)


def test_the_respondent_who_approved_cannot_countersign(app):
    sub, task_id, respondent = approved_request()
    with session_scope() as s:
        account = s.get(Account, respondent["id"])
        account.role = "soes"
        s.add(account)
    at = open_review(page(app, respondent), task_id)
    at.button(key="cs_claim_btn").click().run()
    assert any("la contre-signature de la section 4 doit être faite par une autre personne" in e
               for e in errors(at))
    with session_scope() as s:
        assert s.get(HumanTask, task_id).claimed_by is None


def test_the_loser_of_a_claim_race_is_told(app):
    sub, task_id, _ = approved_request()
    at = open_review(page(app, staff_account("soes")), task_id)
    rival = staff_account("soes")
    api.claim_task(task_id, staff=rival["username"])
    at.button(key="cs_claim_btn").click().run()
    assert "Cette tâche vient d'être prise en charge par une autre personne." in errors(at)
    assert f"Tâche prise en charge par {rival['username']}." in texts(at)
    at.button(key="cs_back").click().run()
    assert sub.reference in references(at)


def test_a_soes_signing_in_lands_on_the_countersign_page(app):
    """Caught in the browser journey: the sign-in page knew no home for the new role."""
    from tests.ui.conftest import STAFF_PASSWORD

    account = staff_account("soes")
    at = goto(app(), "staff_login.py")
    at.text_input(key="staff_username").input(account["username"])
    at.text_input(key="staff_password").input(STAFF_PASSWORD)
    at = at.button[[b.label for b in at.button].index("Se connecter")].click().run()
    assert not at.exception
    assert at.title[0].value == "Contre-signature (SOES)"


def test_the_filter_stays_through_a_review(app):
    sub, task_id, _ = approved_request()
    at = page(app, staff_account("soes"))
    at.radio(key="cs_claim").set_value("unclaimed").run()
    assert sub.reference in references(at)
    at = open_review(at, task_id)
    at.button(key="cs_back").click().run()
    assert at.radio(key="cs_claim").value == "unclaimed"
    assert sub.reference in references(at)
