"""The signature's own controls (issue 11): a typed name with its attestation (the keyboard path
to sign), refused without the box ticked; « Effacer la signature », always visible under the pad;
an uploaded image over our 1 Mo limit refused in French; the uploader's limit set to ours."""

from __future__ import annotations

from sqlmodel import select

from models.db import session_scope
from models.rules import MAX_SIGNATURE_BYTES
from models.signatures import signatures_of, verify_request
from models.tables import AccessRequest
from tests.ui.conftest import PNG, count_requests, errors, texts, unique_number
from tests.ui.test_submission import fill_valid, k


def typed(at, name: str, *, attest: bool):
    at.radio(key=k("user.signature.choice")).set_value("typed").run()
    at.text_input(key=k("user.signature.typed_name")).input(name)
    if attest:
        at.checkbox(key=k("user.signature.attested")).check()
    return at.run()


def test_the_typed_signature_is_offered_beside_the_pad_and_the_image(app):
    at = app()
    assert at.radio(key=k("user.signature.choice")).options == [
        "Signer à l'écran (stylet, écran tactile ou souris)",
        "Joindre l'image de ma signature manuscrite (PNG ou JPEG)",
        "Taper mon nom (signature au clavier)"]
    at = typed(at, "Marie Tremblay", attest=False)
    assert at.text_input(key=k("user.signature.typed_name")).label == "Votre nom complet, comme signature"
    assert at.checkbox(key=k("user.signature.attested")).label == "J'atteste que ce nom tapé vaut signature"


def test_a_typed_name_without_the_attestation_is_refused(app):
    before = count_requests()
    at = typed(fill_valid(app()), "Marie Tremblay", attest=False)
    at.button(key="sub_submit").click().run()
    assert not at.exception
    assert any("Cochez l'attestation" in e for e in errors(at)), errors(at)
    assert count_requests() == before


def test_a_typed_signature_is_stored_hashed_and_verified_like_the_others(app):
    number = unique_number()
    at = typed(fill_valid(app(), number=number), "Marie Tremblay", attest=True)
    assert "Signé électroniquement : Marie Tremblay" in texts(at)
    at.button(key="sub_submit").click().run()
    assert not at.exception and not errors(at), errors(at)
    assert "Demande reçue" in texts(at)
    with session_scope() as s:
        req = s.exec(select(AccessRequest).where(AccessRequest.establishment_number == number)).one()
        assert req.user_signature == {"method": "typed", "typed_name": "MARIE TREMBLAY", "attested": True}
        (sig,) = signatures_of(s, req.id)
        assert sig.method == "typed" and sig.image == req.user_signature and len(sig.sha256) == 64
        assert verify_request(s, req).intact


def test_the_clear_button_gives_a_new_empty_pad(app):
    at = app()
    assert at.radio(key=k("user.signature.choice")).value == "drawn"
    clear = at.button(key=k("user.signature.clear"))
    assert clear.label == "Effacer la signature"
    at.session_state[k("user.signature.value")] = {"method": "drawn", "image_png_base64": "x"}
    clear.click().run()
    assert not at.exception
    assert at.session_state[k("user.signature.pad_round")] == 1
    at.button(key=k("user.signature.clear")).click().run()
    assert at.session_state[k("user.signature.pad_round")] == 2
    at.button(key="sub_submit").click().run()
    assert any("signature est obligatoire" in e for e in errors(at))


def test_an_image_over_the_limit_is_refused_in_french(app):
    at = fill_valid(app())
    big = PNG + b"\0" * MAX_SIGNATURE_BYTES  # a real PNG, padded past 1 Mo
    at.file_uploader(key=k("user.signature.upload")).set_value(("grosse.png", big, "image/png")).run()
    assert not at.exception
    assert any("Ce fichier dépasse 1 Mo" in e for e in errors(at)), errors(at)
    assert not at.image, "nothing over the limit is previewed"
    before = count_requests()
    at.button(key="sub_submit").click().run()
    assert any("signature est obligatoire" in e for e in errors(at))
    assert count_requests() == before


def test_the_uploader_states_our_limit_not_streamlits(app):
    at = app()
    at.radio(key=k("user.signature.choice")).set_value("image").run()
    uploader = at.file_uploader(key=k("user.signature.upload"))
    assert uploader.proto.max_upload_size_mb == MAX_SIGNATURE_BYTES // (1024 * 1024) == 1
    assert "1 Mo au maximum" in " ".join(c.value for c in at.caption)
