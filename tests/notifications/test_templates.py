from datetime import UTC, date, datetime

import jinja2
import pytest

from notifications.templates import KINDS, LANGS, Message, compose, format_when, full_name

REF = "RAMQ-2026-000123"
PASSWORD = "Xq7-vT2p!mR9zLk4"
USERNAME = "mtrem0042"
LINK = "http://localhost:8501/autoriser?t=aaa.bbb.ccc"
STATUS_LINK = "http://localhost:8501/statut?t=sss.ttt.uuu"
CANCEL_LINK = "http://localhost:8501/annuler?t=ccc.ddd.eee"
DEADLINE = datetime(2026, 12, 9, 22, 0, tzinfo=UTC)  # 17 h in Québec (EST)

CONTEXT = {
    "submission_confirmation": dict(user_name="Marie Tremblay", authorizer_name="Jean Gagnon",
                                    status_url=STATUS_LINK, cancel_url=CANCEL_LINK),
    "authorization_request": dict(
        authorizer_name="Jean Gagnon", user_name="Marie Tremblay",
        applications=["online_payment_authorization", "authorizer_professional_association"],
        organization="CISSS de la Capitale", link_url=LINK, deadline=DEADLINE),
    "authorization_reminder": dict(
        authorizer_name="Jean Gagnon", user_name="Marie Tremblay",
        organization="CISSS de la Capitale", link_url=LINK, deadline=DEADLINE),
    "refused_by_authorizer": dict(user_name="Marie Tremblay", reason="Pas dans mon service."),
    "correction_requested": dict(
        user_name="Marie Tremblay", comments="Le code postal est erroné.",
        link_url=LINK.replace("autoriser", "corriger"), deadline=DEADLINE),
    "refused_by_ramq": dict(recipient_role="user", recipient_name="Marie Tremblay",
                            user_name="Marie Tremblay", reason="Résolution manquante."),
    "temporary_password": dict(user_name="Marie Tremblay", authorizer_name="Jean Gagnon",
                               temporary_password=PASSWORD),
    "username": dict(authorizer_name="Jean Gagnon", user_name="Marie Tremblay", username=USERNAME),
    "password_reset": dict(user_name="Marie Tremblay", temporary_password=PASSWORD),
    "request_expired": dict(recipient_role="authorizer", recipient_name="Jean Gagnon",
                            user_name="Marie Tremblay"),
    "request_cancelled": dict(recipient_role="user", recipient_name="Marie Tremblay",
                              user_name="Marie Tremblay"),
    "authorizer_replaced": dict(recipient_name="Jean Gagnon", user_name="Marie Tremblay"),
    "access_revoked": dict(recipient_role="user", recipient_name="Marie Tremblay", user_name="Marie Tremblay",
                           reason="Engagement non respecté."),
    "access_restored": dict(recipient_role="authorizer", recipient_name="Jean Gagnon", user_name="Marie Tremblay",
                            reason="Vérification faite.", valid_until=date(2027, 12, 1)),
    "access_expiring": dict(recipient_role="user", recipient_name="Marie Tremblay", user_name="Marie Tremblay",
                            valid_until=date(2027, 12, 1), link_url="http://localhost:8501/?renouveler=aaa.bbb.ccc"),
    "request_stuck": dict(recipient_name="Louise Gestion", restarts=5, state="CRASHED", manager_url="http://localhost:8501/suivi"),
    "authorizer_late": dict(user_name="Marie Tremblay", authorizer_name="Jean Gagnon", deadline=DEADLINE),
    "correction_reminder": dict(user_name="Marie Tremblay", comments="Le code postal est erroné.",
                                link_url=LINK.replace("autoriser", "corriger"), deadline=DEADLINE),
    "staff_digest": dict(recipient_name="Louise Gestion", new_tasks=["RAMQ-2026-000124 — En analyse à la RAMQ"],
                         overdue=[], stale=[], stale_hours=48, queue_url="http://localhost:8501/file-de-travail",
                         queue_label="File de travail"),
}
GREETING = {"fr": "Bonjour", "en": "Hello"}
SIGNATURE = {"fr": "Régie de l'assurance maladie du Québec — Services en ligne",
             "en": "Régie de l'assurance maladie du Québec — Online services"}


def test_every_kind_has_a_context():
    assert set(CONTEXT) == set(KINDS)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders(kind, lang):
    msg = compose(kind, lang=lang, reference=REF, **CONTEXT[kind])
    assert REF in msg.subject and REF in msg.text and REF in msg.html
    assert "\n" not in msg.subject and len(msg.subject) < 120
    recipient = CONTEXT[kind].get("recipient_name") or CONTEXT[kind].get(
        "authorizer_name" if kind.startswith("authorization") or kind == "username" else "user_name")
    assert msg.text.startswith(f"{GREETING[lang]} {recipient},")
    assert SIGNATURE[lang] in msg.text
    assert msg.html.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in msg.html
    assert f"{GREETING[lang]} {recipient}," in msg.html
    for part in (msg.subject, msg.text, msg.html):
        assert "{{" not in part and "{%" not in part and "None" not in part
    if "link_url" in CONTEXT[kind]:
        assert CONTEXT[kind]["link_url"] in msg.text
        assert f'href="{CONTEXT[kind]["link_url"]}"' in msg.html


@pytest.mark.parametrize("lang", LANGS)
def test_french_and_english_differ(lang):
    other = "en" if lang == "fr" else "fr"
    a = compose("submission_confirmation", lang=lang, reference=REF, **CONTEXT["submission_confirmation"])
    b = compose("submission_confirmation", lang=other, reference=REF, **CONTEXT["submission_confirmation"])
    assert a.subject != b.subject and a.text != b.text


@pytest.mark.parametrize("lang", LANGS)
def test_password_email_has_no_username(lang):
    msg = compose("temporary_password", lang=lang, reference=REF, **CONTEXT["temporary_password"])
    assert PASSWORD in msg.text and PASSWORD in msg.html
    assert USERNAME not in msg.text + msg.html
    assert "http://localhost:8501/mon-acces" in msg.text
    assert "Jean Gagnon" in msg.text  # the username comes from the authorizer
    with pytest.raises(ValueError):
        compose("temporary_password", lang=lang, reference=REF, username=USERNAME,
                **CONTEXT["temporary_password"])


@pytest.mark.parametrize("lang", LANGS)
def test_username_email_has_no_password(lang):
    msg = compose("username", lang=lang, reference=REF, **CONTEXT["username"])
    assert USERNAME in msg.text and USERNAME in msg.html
    assert PASSWORD not in msg.text + msg.html
    commitment = {"fr": "à transmettre à cet utilisateur, en toute sécurité",
                  "en": "to pass on securely to this user"}[lang]
    assert commitment in msg.text
    for key in ("temporary_password", "password"):
        with pytest.raises(ValueError):
            compose("username", lang=lang, reference=REF, **CONTEXT["username"], **{key: PASSWORD})


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in ("temporary_password", "password_reset")])
def test_no_other_kind_accepts_a_password(kind):
    with pytest.raises(ValueError):
        compose(kind, reference=REF, temporary_password=PASSWORD, **CONTEXT[kind])


def test_html_is_escaped_and_text_is_not():
    reason = 'Mauvais <script>alert("x")</script> & cie\n\nDeuxième paragraphe'
    msg = compose("refused_by_authorizer", reference=REF, user_name="Marie <b>Tremblay</b>",
                  reason=reason)
    assert "<script>" not in msg.html and "&lt;script&gt;" in msg.html
    assert "Marie &lt;b&gt;Tremblay&lt;/b&gt;" in msg.html
    assert "<script>" in msg.text and "    Deuxième paragraphe" in msg.text
    assert "<blockquote" in msg.html


def test_role_variants():
    ctx = dict(CONTEXT["refused_by_ramq"], recipient_role="authorizer", recipient_name="Jean Gagnon")
    to_authorizer = compose("refused_by_ramq", reference=REF, **ctx)
    to_user = compose("refused_by_ramq", reference=REF, **CONTEXT["refused_by_ramq"])
    assert "de Marie Tremblay" in to_authorizer.text and "votre demande" in to_user.text
    with pytest.raises(ValueError):
        compose("refused_by_ramq", reference=REF, **dict(ctx, recipient_role="respondent"))


def test_optional_context():
    cancelled = compose("request_cancelled", reference=REF, reason="Demande en double.",
                        **CONTEXT["request_cancelled"])
    assert "Demande en double." in cancelled.text
    corrected = compose("authorization_request", reference=REF, corrected=True,
                        **CONTEXT["authorization_request"])
    assert "corrigée" in corrected.text
    valid = compose("username", reference=REF, valid_until=date(2027, 12, 1), **CONTEXT["username"])
    assert "1er décembre 2027" in valid.text


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_confirmation_carries_the_cancel_link_beside_the_status_link(lang):
    msg = compose("submission_confirmation", lang=lang, reference=REF, **CONTEXT["submission_confirmation"])
    assert CANCEL_LINK in msg.text and f'href="{CANCEL_LINK}"' in msg.html
    assert msg.text.index(STATUS_LINK) < msg.text.index(CANCEL_LINK)
    assert ("Annuler ma demande" if lang == "fr" else "Cancel my request") in msg.text


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_cancelled_says_who_cancelled(lang):
    """The user who cancelled reads that it was done as they asked; the authorizer, that the user
    asked for it; both read « by the RAMQ » and its reason when staff cancelled."""
    user = CONTEXT["request_cancelled"]
    authorizer = dict(user, recipient_role="authorizer", recipient_name="Jean Gagnon")
    fr = lang == "fr"

    def text(ctx, **more):
        return compose("request_cancelled", lang=lang, reference=REF, **ctx, **more).text

    assert ("Comme vous l'avez demandé" if fr else "As you asked") in text(user, cancelled_by="user")
    assert ("à la demande de l'utilisateur" if fr else "at the user's request") in text(authorizer, cancelled_by="user")
    by_ramq = "par la RAMQ" if fr else "by the RAMQ"
    for ctx in (user, authorizer):
        told = text(ctx, cancelled_by="ramq", reason="Demande en double.")
        assert by_ramq in told and "Demande en double." in told
        assert by_ramq not in text(ctx) and "Comme vous" not in text(ctx)  # who unknown: no claim


def test_missing_context_and_unknown_kind_or_language_fail_loudly():
    with pytest.raises(jinja2.UndefinedError):
        compose("authorization_request", reference=REF, user_name="Marie Tremblay")
    with pytest.raises(ValueError):
        compose("welcome", reference=REF)
    with pytest.raises(ValueError):
        compose("submission_confirmation", lang="de", reference=REF, **CONTEXT["submission_confirmation"])
    with pytest.raises(ValueError):
        compose("submission_confirmation", reference="", **CONTEXT["submission_confirmation"])


def test_message_repr_hides_the_bodies():
    msg = compose("temporary_password", reference=REF, **CONTEXT["temporary_password"])
    assert isinstance(msg, Message) and PASSWORD not in repr(msg) and PASSWORD not in str(msg)


def test_dates_are_shown_in_quebec_time():
    assert format_when(DEADLINE, "fr") == "9 décembre 2026 à 17 h"
    assert format_when(datetime(2026, 7, 1, 13, 5, tzinfo=UTC), "fr") == "1er juillet 2026 à 9 h 05"
    assert format_when(DEADLINE, "en") == "December 9, 2026 at 5:00 PM"
    with pytest.raises(ValueError):
        format_when(datetime(2026, 1, 1), "fr")


def test_full_name_softens_capitals():
    assert full_name("MARIE-ÈVE", "CÔTÉ") == "Marie-Ève Côté"
    assert full_name("JEAN", "D'AMOUR") == "Jean D'Amour"
    assert full_name("Jean", "McDonald") == "Jean McDonald"


@pytest.mark.parametrize("lang", LANGS)
def test_confirmation_carries_the_status_link(lang):
    label = {"fr": "Suivre ma demande", "en": "Follow my request"}[lang]
    msg = compose("submission_confirmation", lang=lang, reference=REF, **CONTEXT["submission_confirmation"])
    assert STATUS_LINK in msg.text and label in msg.text
    assert f'href="{STATUS_LINK}"' in msg.html and f">{label}</a>" in msg.html


@pytest.mark.parametrize("kind", ["authorization_request", "refused_by_ramq", "username", "request_expired",
                                  "request_cancelled", "authorization_reminder"])
def test_french_elides_de_and_que_before_a_vowel(kind):
    """« d'Émilie », « qu'Émilie », never « de Émilie » or « que Émilie »; « de Marie » stays."""
    context = {**CONTEXT[kind], "user_name": "Émilie Ouellet"}
    if "recipient_role" in context:  # the sentences that name the user are the authorizer's
        context.update(recipient_role="authorizer", recipient_name="Jean Gagnon")
    text = compose(kind, lang="fr", reference=REF, **context).text
    assert "Émilie Ouellet" in text
    assert "de Émilie" not in text and "que Émilie" not in text
    assert "d'Émilie" in text or "qu'Émilie" in text
    plain = compose(kind, lang="fr", reference=REF, **{**context, "user_name": "Marie Tremblay"}).text
    assert "d'Marie" not in plain and "qu'Marie" not in plain


@pytest.mark.parametrize(("name", "de", "que"), [
    ("Émilie Roy", "d'Émilie Roy", "qu'Émilie Roy"), ("Marie Roy", "de Marie Roy", "que Marie Roy"),
    ("Yves Roy", "de Yves Roy", "que Yves Roy"), ("Hélène Roy", "d'Hélène Roy", "qu'Hélène Roy"),
    ("Ursule Roy", "d'Ursule Roy", "qu'Ursule Roy"), ("", "de ", "que ")])
def test_elision_filters(name, de, que):
    from notifications.templates import elide

    assert elide("de", name) == de
    assert elide("que", name) == que


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_no_doubled_punctuation(kind, lang):
    msg = compose(kind, lang=lang, reference=REF, **CONTEXT[kind])
    for doubled in (",,", " ,", ";;", ". ."):
        assert doubled not in msg.text, (kind, doubled)
