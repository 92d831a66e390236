"""The printed record (models/record_pdf.py) and its seal (models/seal.py), with the real
libraries: every value of the form is printed, with its label, the signature images are in the
file, the hashes are on the pages, and the PAdES seal says when one byte changed."""

from __future__ import annotations

import copy
import json
import stat
from datetime import datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from pypdf import PdfReader

from models.i18n import translate
from models.messages import label
from models.pdf_layout import CHECKED, FONTS_DIR
from models.record_pdf import render_record_pdf
from models.rules import normalize_request
from models.seal import DEV_COMMON_NAME, SealError, ensure_dev_certificate, seal_certificate, seal_pdf, verify_seal
from models.settings import Settings, get_settings

DATA = Path(__file__).resolve().parents[1] / "data"
QUEBEC = ZoneInfo("America/Montreal")
SECTION3 = {  # section 3 for the requests that do not carry one yet, by organization type
    "establishment": {"role": "dsp", "board_resolution": {"number": "CA-2025-117", "date": "2025-06-12"}},
    "optilab": {"role": "optilab_representative", "board_resolution": None},
}
PNG = ("iVBORw0KGgoAAAANSUhEUgAAABgAAAAICAAAAADGymC/AAAAOklEQVR42m2NQRIAIAgCwf//mQ4o1RQXd8UZKfxTHsyCV0GNh8qG9k1"
       "lg72JLuj/YkgEagxQ6Dh6swDothUQfbWk5gAAAABJRU5ErkJggg==")


@pytest.fixture(scope="module", autouse=True)
def seal_certificate_file(tmp_path_factory):
    """The seal's certificate in a temporary folder (made on first use, as in development)."""
    path = tmp_path_factory.mktemp("seal") / "seal.p12"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RAMQ_SEAL_PKCS12_PATH", str(path))
        get_settings.cache_clear()
        yield path
    get_settings.cache_clear()


def hexhash(n: int) -> str:
    return f"{n:x}".rjust(2, "0") * 32


def build_record(name: str, **user: str) -> dict:
    """A record as the integrator builds it: the request file normalized, section 3 signed,
    section 4 approved and countersigned, two revisions."""
    data = json.loads((DATA / name).read_text(encoding="utf-8"))
    data["user"].update(user)
    if data["authorization"] is None:
        data["authorization"] = {
            "sex": "F", "function": "Directrice des services professionnels", "phone": "418 555-0190",
            "extension": "200", "fax": "418 555-0191", "organization_name": data["user"]["establishment_name"],
            "address": "2705, boulevard Laurier, Québec (Québec)", "postal_code": "G1V 4G2",
            "commitments_accepted": True, "signature": {"method": "image", "image_png_base64": PNG},
            **SECTION3[data["organization_type"]]}
    request = normalize_request(data)
    authorization = request.pop("authorization")
    user_name = f"{request['user']['first_name']} {request['user']['last_name']}"
    user_method = request["user"]["signature"]["method"]
    authorizer = request["authorizer"]
    return {
        "reference": "SEL-2026-000123", "status": "completed", "language": "fr",
        "created_at": "2026-11-26T14:00:00+00:00", "closed_at": "2026-11-28T20:30:00+00:00", "revision": 2,
        "request": request, "authorization": authorization,
        "section4": {"registration_date": "2026-11-27", "reference_number": "SEL-2026-000123",
                     "username": "tremblm1", "valid_from": "2026-11-27", "valid_until": "2027-11-27",
                     "respondent_id": "clerk1", "respondent_signed_at": "2026-11-27T15:05:00+00:00",
                     "soes_signed_by": "soes1", "soes_signed_at": "2026-11-28T13:45:00+00:00"},
        "revisions": [{"revision": 1, "created_at": "2026-11-26T14:00:00+00:00", "sha256": hexhash(1)},
                      {"revision": 2, "created_at": "2026-11-26T18:10:00+00:00", "sha256": hexhash(2)}],
        "signatures": [
            {"section": "2", "role": "user", "signer": user_name, "method": user_method,
             "signed_at": "2026-11-26T14:00:00+00:00", "revision": 1, "sha256": hexhash(3)},
            {"section": "2", "role": "user", "signer": user_name, "method": user_method,
             "signed_at": "2026-11-26T18:10:00+00:00", "revision": 2, "sha256": hexhash(4)},
            {"section": "3", "role": "authorizer", "signer": f"{authorizer['first_name']} {authorizer['last_name']}",
             "method": authorization["signature"]["method"], "signed_at": "2026-11-26T19:00:00+00:00",
             "revision": 2, "sha256": hexhash(5)},
            {"section": "4", "role": "respondent", "signer": "clerk1", "method": "typed",
             "signed_at": "2026-11-27T15:05:00+00:00", "revision": 2, "sha256": hexhash(6)},
            {"section": "4", "role": "soes", "signer": "soes1", "method": "typed",
             "signed_at": "2026-11-28T13:45:00+00:00", "revision": 2, "sha256": hexhash(7)},
        ],
    }


def pages_text(pdf: bytes) -> list[str]:
    """Each page's text, whitespace folded (a value wrapped over two lines reads as one)."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(BytesIO(pdf)).pages]


def local(iso: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return datetime.fromisoformat(iso).astimezone(QUEBEC).strftime(fmt)


def expected(record: dict, lang: str = "fr") -> list[str]:
    """Every value of sections 1 to 5 as it must print: typed values as stored, coded values
    as their labels with a ticked box, times in Québec."""
    q, s3, s4 = record["request"], record["authorization"], record["section4"]
    ticked = [f"{CHECKED} {label('application', a, lang)}" for a in q["applications"]]
    ticked += [f"{CHECKED} {label('organization_type', q['organization_type'], lang)}",
               f"{CHECKED} {label('register_scope', q['register_scope'], lang)}",
               f"{CHECKED} {label('role', s3['role'], lang)}",
               f"{CHECKED} {translate('ui.accept_commitments', lang).rstrip(' *')}",
               f"{CHECKED} {translate('ui.yes' if q['existing_username'] else 'ui.no', lang)}"]
    typed = [q["existing_username"], *q["additional_establishment_numbers"], *q["authorizer"].values()]
    for person in (q["user"], s3):
        ticked.append(f"{CHECKED} {person['sex']}")
        ticked.append(label("signature_method", person["signature"]["method"], lang))
        typed += [v for k, v in person.items() if k not in ("sex", "signature", "commitments_accepted",
                                                               "role", "board_resolution")]
    typed += list((s3["board_resolution"] or {}).values())
    typed += [s4[k] for k in ("registration_date", "reference_number", "username", "valid_from", "valid_until",
                              "respondent_id", "soes_signed_by")]
    typed += [local(s4[k]) for k in ("respondent_signed_at", "soes_signed_at") if s4[k]]
    return ticked + [str(v) for v in typed if v not in (None, "")]


@pytest.fixture(scope="module")
def sealed() -> dict[str, tuple[dict, bytes]]:
    """Each request file as a sealed record (rendered and sealed once for the module)."""
    out = {}
    for name in ("request-establishment.json", "request-gmf.json", "request-optilab.json"):
        record = build_record(name)
        out[name] = (record, seal_pdf(render_record_pdf(record)))
    return out


NAMES = ("request-establishment.json", "request-gmf.json", "request-optilab.json")


@pytest.mark.parametrize("name", NAMES)
def test_every_value_of_the_form_is_printed_with_french_labels(sealed, name):
    record, pdf = sealed[name]
    text = " ".join(pages_text(pdf))
    assert [value for value in expected(record) if value not in text] == []
    for key in ("ui.section1", "ui.section2", "ui.section3", "ui.section4", "ui.section5",
                "ui.form_title", "pdf.respondent_signature", "pdf.soes_signature"):
        assert " ".join(translate(key, "fr").split()) in text, key
    order = [text.index(" ".join(translate(f"ui.section{n}", "fr").split())) for n in range(1, 6)]
    assert order == sorted(order), "sections 1 to 5 in the paper form's order"
    # The commitments people signed, word for word as the screens show them.
    for key in ("ui.user_commitments", "ui.authorizer_commitments", "ui.commitments_note"):
        assert " ".join(translate(key, "fr").split()) in text, key


@pytest.mark.parametrize("name", NAMES)
def test_the_signature_images_are_embedded(sealed, name):
    _, pdf = sealed[name]
    assert sum(len(page.images) for page in PdfReader(BytesIO(pdf)).pages) >= 2


def test_images_passed_with_the_signatures_are_preferred():
    record = build_record("request-gmf.json")
    record["request"]["user"]["signature"].pop("image_png_base64")
    record["authorization"]["signature"].pop("image_png_base64")
    images = sum(len(p.images) for p in PdfReader(BytesIO(render_record_pdf(record))).pages)
    assert images == 0
    for signature in record["signatures"][:3]:
        signature["image_png_base64"] = PNG
    assert sum(len(p.images) for p in PdfReader(BytesIO(render_record_pdf(record))).pages) == 2


@pytest.mark.parametrize("name", NAMES)
def test_each_page_has_the_footer_and_the_last_page_every_hash(sealed, name):
    record, pdf = sealed[name]
    pages = pages_text(pdf)
    current = record["revisions"][1]["sha256"]
    for number, text in enumerate(pages, start=1):
        assert f"SEL-2026-000123 · Révision 2 · SHA-256 {current} · Page {number}/{len(pages)}" in text
    last = pages[-1].replace(f"SHA-256 {current} · Page", "")  # not the footer's copy
    for item in record["signatures"] + record["revisions"]:
        assert item["sha256"] in last
    for signature in record["signatures"]:
        assert signature["signer"] in last and local(signature["signed_at"]) in last
    assert translate("pdf.method_typed", "fr") in last and translate("pdf.role_soes", "fr") in last


@pytest.mark.parametrize("name", NAMES)
def test_the_seal_is_a_pades_signature_that_verifies(sealed, name):
    _, pdf = sealed[name]
    assert b"/ETSI.CAdES.detached" in pdf
    result = verify_seal(pdf)
    assert result["intact"] and result["trusted"] and result["problem"] is None
    assert DEV_COMMON_NAME in result["signer"]
    assert datetime.fromisoformat(result["signed_at"]).tzinfo is not None


@pytest.mark.parametrize("name", NAMES)
def test_one_flipped_byte_in_the_signed_content_breaks_the_seal(sealed, name):
    _, pdf = sealed[name]
    at = pdf.index(b"stream", pdf.index(b"/Contents")) + 40  # inside the first page's drawing
    altered = bytearray(pdf)
    altered[at] ^= 0x01
    result = verify_seal(bytes(altered))
    assert not result["intact"] and not result["trusted"] and result["problem"] == "content_changed"


def test_an_unsealed_or_unreadable_file_is_not_intact():
    record = build_record("request-gmf.json")
    assert verify_seal(render_record_pdf(record))["problem"] == "no_signature"
    assert not verify_seal(b"%PDF-1.7 nothing")["intact"]


def test_names_in_any_latin_script_print():
    record = build_record("request-establishment.json", first_name="Łukasz", last_name="Sœur-Noël")
    record["signatures"][1]["signer"] = "Łukasz Sœur-Noël"
    text = " ".join(pages_text(seal_pdf(render_record_pdf(record))))
    assert "ŁUKASZ" in text and "SŒUR-NOËL" in text and "Łukasz Sœur-Noël" in text
    assert "CHEMIN SAINTE-FOY, QUÉBEC (QUÉBEC)" in text and "d'accès" in text


def test_english_when_asked():
    record = build_record("request-optilab.json")
    text = " ".join(pages_text(render_record_pdf(record, "en")))
    assert " ".join(translate("ui.section4", "en").split()) in text
    assert f"{CHECKED} {label('application', 'online_payment_authorization', 'en')}" in text
    assert f"{CHECKED} {label('role', 'optilab_representative', 'en')}" in text
    assert "Revision 2" in text and "Page 1/" in text
    assert translate("ui.section4", "fr") not in text


def test_a_request_just_submitted_prints_too():
    """No section 3, no section 4, no revisions list, no signature entries: the form says what is
    not filled yet instead of failing."""
    record = build_record("request-optilab.json")
    record.update(status="awaiting_authorizer", authorization=None, section4=None, revisions=[], signatures=[],
                  closed_at=None, revision=None)
    text = " ".join(pages_text(render_record_pdf(record)))
    for key in ("ui.not_yet_authorized", "pdf.section4_empty", "pdf.no_signatures",
                "labels.status.awaiting_authorizer"):
        assert translate(key, "fr") in text, key
    assert record["request"]["authorizer"]["email"] in text
    damaged = copy.deepcopy(record)
    damaged["request"]["user"]["signature"]["image_png_base64"] = "bm90IGFuIGltYWdl"  # "not an image"
    assert translate("ui.no_signature_image", "fr") in " ".join(pages_text(render_record_pdf(damaged)))


def test_the_font_ships_with_its_licence():
    assert {p.name for p in FONTS_DIR.iterdir()} >= {"DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "LICENSE"}
    assert "Bitstream" in (FONTS_DIR / "LICENSE").read_text(encoding="utf-8")


def test_the_development_certificate_is_made_once_and_private(tmp_path):
    path = ensure_dev_certificate(tmp_path / "dev" / "seal.p12")
    first = path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_dev_certificate(path).read_bytes() == first
    cert = pkcs12.load_key_and_certificates(first, None)[1]
    assert cert is not None and DEV_COMMON_NAME in cert.subject.rfc4514_string()
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment


def test_production_never_falls_back_to_a_development_certificate(tmp_path, monkeypatch):
    monkeypatch.delenv("RAMQ_SEAL_PKCS12_PATH")
    base = {"env": "prod", "secret_key": "k" * 40, "smtp_host": "smtp.relais.example.qc.ca", "smtp_port": 587,
            "prefect_auth_string": "admin:x", "var_dir": tmp_path}
    with pytest.raises(SealError, match="RAMQ_SEAL_PKCS12_PATH"):
        seal_certificate(Settings(**base))
    with pytest.raises(SealError, match="RAMQ_SEAL_PKCS12_PATH"):
        seal_certificate(Settings(**base, seal_pkcs12_path=tmp_path / "missing.p12"))
    assert list(tmp_path.iterdir()) == []
    real = ensure_dev_certificate(tmp_path / "ramq.p12")  # stands for the RAMQ's own file
    assert seal_certificate(Settings(**base, seal_pkcs12_path=real)) == real


def test_sealing_and_checking_work_inside_a_running_event_loop():
    """pyHanko's synchronous calls start their own asyncio loop: from async code (or a Playwright
    script) they used to fail with RuntimeError, and the seal read as « not intact »."""
    import asyncio

    async def inside() -> dict:
        return verify_seal(seal_pdf(render_record_pdf(build_record("request-gmf.json"))))

    assert asyncio.run(inside())["intact"] is True
