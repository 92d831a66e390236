"""« File de travail » (respondents): staff only; filters and sorting; claim and release (the loser
of a race is told); the review shows every section and both signatures; section 4 and the
decision (approve, refuse with a reason, send back with comments)."""

from __future__ import annotations

import uuid

from sqlmodel import select

from flows import api
from models.db import session_scope
from models.enums import SignerRole
from models.signatures import latest_signature
from models.tables import Decision, HumanTask, RamqProcessing
from tests.ui.conftest import (
    authorized_request,
    errors,
    goto,
    nav_error,
    staff_account,
    texts,
)
from ui.common import STAFF_KEY


def queue(app, staff):
    return goto(app(state={STAFF_KEY: staff["id"]}), "work_queue.py")


def references(at) -> list[str]:
    if not at.dataframe:
        return []
    frame = at.dataframe[0].value
    return list(frame["Référence"])


def open_review(at, task_id):
    at.selectbox(key="q_pick").set_value(task_id)
    return at.button(key="q_open").click().run()


def prefix() -> str:
    """Four digits no stored request's establishment number starts with: the filter matches by
    prefix, and the session's database holds other tests' requests (a random prefix alone
    matched one of them now and then, and the queue showed a request the test had not made)."""
    from sqlmodel import col, select

    from models.tables import AccessRequest

    while True:
        candidate = f"{uuid.uuid4().int % 9000 + 1000:04d}"
        with session_scope() as s:
            taken = s.exec(select(AccessRequest.id).where(
                col(AccessRequest.establishment_number).startswith(candidate)).limit(1)).first()
        if taken is None:
            return candidate


def test_the_queue_is_not_reachable_without_a_respondent_login(app):
    assert nav_error(app(), "work_queue.py")
    manager = staff_account("manager")
    assert nav_error(app(state={STAFF_KEY: manager["id"]}), "work_queue.py")
    # A login that no longer exists is forgotten at the next click.
    assert nav_error(app(state={STAFF_KEY: 10**9}), "work_queue.py")


def test_a_disabled_account_loses_the_queue_at_the_next_run(app):
    staff = staff_account("respondent")
    at = queue(app, staff)
    assert at.title[0].value == "File de travail"
    with session_scope() as s:
        from models.tables import Account

        account = s.get(Account, staff["id"])
        account.disabled = True
        s.add(account)
    at.run()
    assert not at.dataframe and not [b for b in at.button if b.key.startswith("q_")]
    assert "Cette page est réservée au personnel de la RAMQ autorisé." in texts(at)
    assert STAFF_KEY not in at.session_state


def test_filters_by_establishment_organization_age_and_overdue(app):
    p = prefix()
    late, _ = authorized_request(establishment_number=p + "1", due_in_days=-2, created_days_ago=12)
    fresh, _ = authorized_request(establishment_number=p + "2")
    gmf, _ = authorized_request("gmf", establishment_number=p + "3")
    at = queue(app, staff_account("respondent"))
    at.text_input(key="q_est").input(p).run()
    assert sorted(references(at)) == sorted([late.reference, fresh.reference, gmf.reference])
    at.multiselect(key="q_org").set_value(["gmf"]).run()
    assert references(at) == [gmf.reference]
    at.multiselect(key="q_org").set_value([]).run()
    at.checkbox(key="q_overdue").check().run()
    assert references(at) == [late.reference]
    at.checkbox(key="q_overdue").uncheck().run()
    at.number_input(key="q_age").set_value(5).run()
    assert references(at) == [late.reference]
    at.number_input(key="q_age").set_value(0).run()
    at.text_input(key="q_est").input(p + "9").run()
    assert references(at) == [] and "Aucune tâche" in texts(at)


def test_sorting_by_due_date_both_ways(app):
    p = prefix()
    soon, _ = authorized_request(establishment_number=p + "1", due_in_days=1)
    later, _ = authorized_request(establishment_number=p + "2", due_in_days=5)
    at = queue(app, staff_account("respondent"))
    at.text_input(key="q_est").input(p).run()
    assert references(at) == [soon.reference, later.reference]
    at.checkbox(key="q_desc").check().run()
    assert references(at) == [later.reference, soon.reference]
    at.selectbox(key="q_sort").set_value("reference").run()
    assert references(at) == sorted([soon.reference, later.reference], reverse=True)


def test_review_shows_every_section_and_both_signatures(app):
    sub, task_id = authorized_request()
    at = open_review(queue(app, staff_account("respondent")), task_id)
    assert not at.exception
    page = texts(at)
    for heading in ("1. Description", "2. Utilisateur", "3. Autorisation", "5. Numéros"):
        assert heading in page
    assert "DIRECTEUR DES SERVICES PROFESSIONNELS" in page and "CA\\-2024\\-031" in page
    assert len(at.image) == 2  # the user's and the authorizer's signatures
    assert "Prenez la tâche en charge" in page
    assert not [b for b in at.button if b.key == "q_decide"]  # no decision before a claim


def test_claim_approve_with_an_edited_username(app):
    sub, task_id = authorized_request()
    staff = staff_account("respondent")
    at = open_review(queue(app, staff), task_id)
    at.button(key="q_claim_btn").click().run()
    assert "Vous avez pris cette tâche en charge." in texts(at)
    at.radio(key=f"s4:{task_id}:outcome").set_value("approve").run()
    username = at.text_input(key=f"s4:{task_id}:username")
    assert username.value.startswith("mtremblay")
    assert at.date_input(key=f"s4:{task_id}:valid_until").value > at.date_input(
        key=f"s4:{task_id}:valid_from").value
    chosen = f"mt{uuid.uuid4().hex[:8]}"
    username.input(chosen)
    at.checkbox(key=f"s4:{task_id}:confirm").check()
    at.button(key="q_decide").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert f"Décision enregistrée pour la demande {sub.reference}." in texts(at)
    assert sub.reference not in references(at)  # back to the queue, the task is done
    with session_scope() as s:
        assert s.exec(select(Decision).where(Decision.task_id == task_id)).one().outcome == "approve"
        section4 = s.exec(select(RamqProcessing).where(RamqProcessing.request_id == sub.request_id)).one()
        assert section4.username == chosen and section4.respondent_id == staff["username"]


def test_an_invalid_username_is_refused_with_a_message(app):
    sub, task_id = authorized_request()
    at = open_review(queue(app, staff_account("respondent")), task_id)
    at.button(key="q_claim_btn").click().run()
    at.radio(key=f"s4:{task_id}:outcome").set_value("approve").run()
    at.text_input(key=f"s4:{task_id}:username").input("X Y")
    at.checkbox(key=f"s4:{task_id}:confirm").check()
    at.button(key="q_decide").click().run()
    assert any(e.startswith("Nom d'utilisateur invalide") for e in errors(at))
    with session_scope() as s:
        assert s.get(HumanTask, task_id).status == "open"


def test_refusing_needs_a_reason_and_sending_back_needs_comments(app):
    sub, task_id = authorized_request()
    at = open_review(queue(app, staff_account("respondent")), task_id)
    at.button(key="q_claim_btn").click().run()
    at.radio(key=f"s4:{task_id}:outcome").set_value("refuse").run()
    at.button(key="q_decide").click().run()
    assert "Indiquez le motif." in errors(at)
    at.radio(key=f"s4:{task_id}:outcome").set_value("send_back").run()
    at.button(key="q_decide").click().run()
    assert "Indiquez les corrections demandées." in errors(at)
    at.text_area(key=f"s4:{task_id}:reason").input("Joignez la résolution du conseil.")
    at.button(key="q_decide").click().run()
    assert not errors(at)
    with session_scope() as s:
        decision = s.exec(select(Decision).where(Decision.task_id == task_id)).one()
        assert (decision.outcome, decision.reason) == ("send_back", "Joignez la résolution du conseil.")


def test_the_loser_of_a_claim_race_is_told(app):
    sub, task_id = authorized_request()
    at = open_review(queue(app, staff_account("respondent")), task_id)
    rival = staff_account("respondent")
    api.claim_task(task_id, staff=rival["username"])
    at.button(key="q_claim_btn").click().run()
    assert "Cette tâche vient d'être prise en charge par une autre personne." in errors(at)
    assert f"Tâche prise en charge par {rival['username']}." in texts(at)


def test_release_a_claimed_task(app):
    sub, task_id = authorized_request()
    at = open_review(queue(app, staff_account("respondent")), task_id)
    at.button(key="q_claim_btn").click().run()
    at.button(key="q_unclaim").click().run()
    with session_scope() as s:
        assert s.get(HumanTask, task_id).claimed_by is None
    assert [b for b in at.button if b.key == "q_claim_btn"]


def test_a_respondent_cannot_claim_their_own_request(app):
    sub, task_id = authorized_request(email=f"r.{uuid.uuid4().hex[:6]}@cisss.example.qc.ca")
    with session_scope() as s:
        from models.tables import AccessRequest

        email = s.get(AccessRequest, sub.request_id).user_email
    staff = staff_account("respondent", email=email)
    at = open_review(queue(app, staff), task_id)
    at.button(key="q_claim_btn").click().run()
    assert any("dont vous êtes l'utilisateur" in e for e in errors(at))
    with session_scope() as s:
        assert s.get(HumanTask, task_id).claimed_by is None


def test_no_decision_is_chosen_in_advance_and_approving_needs_the_confirmation(app):
    sub, task_id = authorized_request()
    staff = staff_account("respondent")
    at = open_review(queue(app, staff), task_id)
    at.button(key="q_claim_btn").click().run()
    assert at.radio(key=f"s4:{task_id}:outcome").value is None
    at.button(key="q_decide").click().run()
    assert "Choisissez une décision." in errors(at)
    at.radio(key=f"s4:{task_id}:outcome").set_value("approve").run()
    confirm = at.checkbox(key=f"s4:{task_id}:confirm")
    assert confirm.label.startswith("Je confirme approuver l'accès de MARIE TREMBLAY à : ")
    assert "Autorisation des demandes de paiement en ligne" in confirm.label
    at.button(key="q_decide").click().run()
    assert "Cochez la confirmation pour approuver cette demande." in errors(at)
    with session_scope() as s:
        assert s.get(HumanTask, task_id).status == "open"
    at.checkbox(key=f"s4:{task_id}:confirm").check()
    at.button(key="q_decide").click().run()
    assert not errors(at)
    with session_scope() as s:
        assert s.exec(select(Decision).where(Decision.task_id == task_id)).one().outcome == "approve"
        signature = latest_signature(s, sub.request_id, SignerRole.respondent)
        assert signature is not None and signature.signer == staff["username"] and signature.method == "typed"


def test_the_review_shows_the_signatures_verdict(app):
    sub, task_id = authorized_request()
    at = open_review(queue(app, staff_account("respondent")), task_id)
    assert any(s.value.startswith("Signatures intactes") for s in at.success)
    with session_scope() as s:
        from models.tables import AccessRequest

        req = s.get(AccessRequest, sub.request_id)
        req.user_function = "Modifiée en douce"  # behind the product's back
        s.add(req)
    at.run()
    altered = [e for e in errors(at) if e.startswith("Dossier altéré")]
    assert altered and "Utilisatrice ou utilisateur" in altered[0]


def test_the_filters_stay_through_a_review_and_a_decision(app):
    p = prefix()
    first, first_task = authorized_request(establishment_number=p + "1")
    second, _ = authorized_request(establishment_number=p + "2")
    at = queue(app, staff_account("respondent"))
    at.text_input(key="q_est").input(p).run()
    at.selectbox(key="q_sort").set_value("reference").run()
    at.checkbox(key="q_desc").check().run()
    assert references(at) == sorted([first.reference, second.reference], reverse=True)
    # A task opened and closed: the queue comes back as it was left.
    at = open_review(at, first_task)
    at.button(key="q_claim_btn").click().run()
    at.button(key="q_back").click().run()
    assert at.text_input(key="q_est").value == p and at.checkbox(key="q_desc").value
    assert at.selectbox(key="q_sort").value == "reference"
    assert references(at) == sorted([first.reference, second.reference], reverse=True)
    # A decision made: the same filters, less the task decided.
    at = open_review(at, first_task)
    at.radio(key=f"s4:{first_task}:outcome").set_value("refuse").run()
    at.text_area(key=f"s4:{first_task}:reason").input("Établissement inconnu.")
    at.button(key="q_decide").click().run()
    assert f"Décision enregistrée pour la demande {first.reference}." in texts(at)
    assert at.text_input(key="q_est").value == p and at.checkbox(key="q_desc").value
    assert references(at) == [second.reference]
