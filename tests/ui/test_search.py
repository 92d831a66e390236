"""« Rechercher une demande » (issue 10, item 1): every staff role finds any request by its
reference, a name, an email or the establishment number, and opens it read-only."""

from __future__ import annotations

import uuid

import pytest

from models.db import session_scope
from models.tables import AccessRequest
from tests.ui.conftest import approved_request, authorized_request, goto, nav_error, staff_account, texts
from ui.common import STAFF_KEY


def search(app, role: str, query: str):
    at = goto(app(state={STAFF_KEY: staff_account(role)["id"]}), "search.py")
    assert not at.exception
    at.text_input(key="search_q").input(query).run()
    assert not at.exception
    return at


def found(at) -> list[str]:
    return list(at.dataframe[0].value["Référence"]) if at.dataframe else []


def test_only_staff_reach_it(app):
    assert nav_error(app(), "search.py")


@pytest.mark.parametrize("role", ["respondent", "soes", "manager", "operator"])
def test_each_staff_role_finds_a_request_in_every_way(app, role):
    sub, _ = authorized_request(first_name="Éloïse", last_name="Côté-Nguyen")
    with session_scope() as s:
        req = s.get(AccessRequest, sub.request_id)
        email, number = req.user_email, req.establishment_number
    for query in (sub.reference.lower(), "côté-nguyen éloïse", email.upper(), number,
                  f"  {number}   côté  "):
        assert sub.reference in found(search(app, role, query)), query


def test_a_request_opens_read_only_with_its_record(app):
    sub, _ = authorized_request()
    at = search(app, "manager", sub.reference)
    assert found(at) == [sub.reference]
    page = texts(at)
    assert f"Demande {sub.reference}" in page
    assert "Signatures intactes" in page  # the signed record
    assert "Demande soumise" in " ".join(str(v) for d in at.dataframe for v in d.value.to_numpy().ravel())
    # Nothing to act with, but cancelling the request (not approved yet; a reason and a confirmation).
    assert [b.key for b in at.button] == [f"cancel_go:{sub.request_id}", "logout"]


def test_nothing_found_says_so_and_wildcards_are_literal(app):
    tag = uuid.uuid4().hex[:6].upper()
    sub, _ = authorized_request(last_name=f"QUIDAM-{tag}")
    assert "Aucune demande ne correspond." in texts(search(app, "respondent", "zzz-personne-qui-n-existe-pas"))
    assert found(search(app, "respondent", f"quidam-{tag}")) == [sub.reference]
    # As SQL wildcards, « % » and « _ » would match this name; they are taken literally.
    assert found(search(app, "respondent", f"quidam%{tag}")) == []
    assert found(search(app, "respondent", f"quidam_{tag}")) == []


def test_a_purged_request_opens_without_personal_data_nor_pdf(app):
    """The retention purge (models/retention.py): the request still opens, says it was purged,
    offers no PDF and shows none of the names it had."""
    from datetime import timedelta

    from models.retention import purge
    from models.tables import utcnow

    tag = uuid.uuid4().hex[:6].upper()
    sub, _, _ = approved_request(last_name=f"EFFACE-{tag}")
    with session_scope() as s:
        req = s.get(AccessRequest, sub.request_id)
        req.status, req.closed_at = "refused_by_ramq", utcnow() - timedelta(days=4000)
        s.add(req)
    assert sub.reference in purge(older_than_days=3000).references
    at = search(app, "manager", sub.reference)
    page = texts(at)
    assert "Données personnelles purgées le" in page and "Signatures intactes" not in page
    shown = page + " ".join(str(v) for d in at.dataframe for v in d.value.to_numpy().ravel())
    assert tag not in shown.upper()
    assert not [e for e in at.get("download_button")]
