"""The form's rules (SPEC §4): each error code on valid and invalid cases."""

from __future__ import annotations

import base64
from datetime import date, timedelta

import pytest

from models.i18n import exists
from models.messages import label, labels, message
from models.rules import (
    FieldError,
    allowed_roles,
    board_resolution_required,
    is_shared_mailbox,
    normalize_email,
    normalize_phone,
    normalize_postal_code,
    normalize_request,
    upper_text,
    validate_authorization,
    validate_request,
    validity_period,
)
from tests.models.helpers import (
    errors_of,
    establishment_with_authorization,
    image_b64,
    load_sample,
    png_b64,
)

SPEC_CODES = {
    "required", "invalid_email", "shared_mailbox", "emails_must_differ", "invalid_postal_code",
    "invalid_phone", "invalid_establishment_number", "establishments_required",
    "establishments_not_allowed", "duplicate_establishment", "scope_mismatch", "role_not_allowed",
    "board_resolution_required", "commitments_required", "signature_required", "unknown_value",
    "too_long",
}


def only(data, lang="fr") -> set[tuple[str, str]]:
    result = validate_request(data, lang)
    assert result.normalized is None if result.errors else result.normalized is not None
    return errors_of(result)


# --- valid samples ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["establishment", "gmf", "optilab"])
def test_samples_are_valid(name):
    result = validate_request(load_sample(name))
    assert result.ok, result.errors
    assert result.errors == []


def test_establishment_signed_on_paper_is_valid():
    assert validate_request(establishment_with_authorization()).ok


def test_every_spec_code_has_french_and_english_messages():
    for code in SPEC_CODES:
        assert exists(f"errors.rule.{code}")
        assert message(code, "fr") != message(code, "en")
    assert message("required") == "Ce champ est obligatoire."
    assert message("required", "en") == "This field is required."
    assert message("no_such_code") == "no_such_code"


def test_labels():
    assert label("role", "dsp") == "Directeur ou directrice des services professionnels"
    assert label("role", "dg", "en") == "Executive director"
    assert list(labels("application")) == ["online_payment_authorization",
                                           "authorizer_professional_association"]
    assert set(labels("organization_type", "en")) == {"establishment", "gmf", "optilab"}
    assert set(labels("register_scope")) == {"some_installations", "all_installations",
                                             "optilab_cluster"}
    assert set(labels("signature_method")) == {"drawn", "image", "digital", "typed"}
    assert label("role", "nope") == "nope"


# --- required ----------------------------------------------------------------------------------


@pytest.mark.parametrize("blank", [None, "", "   ", "\t\n"])
@pytest.mark.parametrize("field", ["first_name", "last_name", "function", "establishment_name",
                                   "address"])
def test_required_user_texts(field, blank):
    data = load_sample()
    data["user"][field] = blank
    assert only(data) == {(f"user.{field}", "required")}


@pytest.mark.parametrize("field", ["first_name", "sex", "email", "phone", "establishment_number",
                                   "postal_code"])
def test_required_when_key_missing(field):
    data = load_sample()
    del data["user"][field]
    assert only(data) == {(f"user.{field}", "required")}


def test_required_sections_and_section1():
    data = load_sample()
    del data["user"], data["authorizer"], data["organization_type"]
    data["register_scope"] = ""
    data["applications"] = []
    assert only(data) == {("user", "required"), ("authorizer", "required"),
                          ("organization_type", "required"), ("register_scope", "required"),
                          ("applications", "required")}


def test_optional_fields_may_be_missing_blank_or_null():
    data = load_sample()
    del data["existing_username"], data["authorization"]
    data["user"]["extension"] = ""
    del data["user"]["fax"]
    result = validate_request(data)
    assert result.ok, result.errors
    assert result.normalized["existing_username"] is None
    assert result.normalized["authorization"] is None
    assert result.normalized["user"]["extension"] is None
    assert result.normalized["user"]["fax"] is None


def test_section5_may_be_missing_for_all_installations():
    data = load_sample()
    data["register_scope"] = "all_installations"
    del data["additional_establishment_numbers"]
    result = validate_request(data)
    assert result.ok
    assert result.normalized["additional_establishment_numbers"] == []


def test_existing_username():
    data = load_sample()
    data["existing_username"] = "  mtremblay7 "
    assert validate_request(data).normalized["existing_username"] == "mtremblay7"
    data["existing_username"] = "x" * 101
    assert only(data) == {("existing_username", "too_long")}
    data["existing_username"] = 42
    assert only(data) == {("existing_username", "unknown_value")}


# --- emails ------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", [
    "marie.tremblay", "marie@", "@cisss.qc.ca", "marie@@cisss.qc.ca", "marie tremblay@cisss.qc.ca",
    "marie@cisss", "marie@localhost", "Marie <marie@cisss.qc.ca>", "marie@.qc.ca", 12, True,
    ["marie@cisss.qc.ca"], "a" * 65 + "@cisss.qc.ca", "marie@" + "a" * 300 + ".ca",
])
def test_invalid_email(email):
    data = load_sample()
    data["user"]["email"] = email
    assert only(data) == {("user.email", "invalid_email")}


def test_emails_are_lowercased():
    data = load_sample()
    data["user"]["email"] = "  Marie.Tremblay+SEL@CISSS.Example.QC.CA "
    data["authorizer"]["email"] = "Jean.Gagnon@cisss.example.qc.ca"
    result = validate_request(data)
    assert result.normalized["user"]["email"] == "marie.tremblay+sel@cisss.example.qc.ca"
    assert result.normalized["authorizer"]["email"] == "jean.gagnon@cisss.example.qc.ca"


@pytest.mark.parametrize("local", [
    "info", "INFO", "Info+abc", "information", "Informations", "admin", "administration",
    "contact", "reception", "réception", "RÉCEPTION", "accueil", "secretariat", "Secrétariat",
    "renseignements", "facturation", "billing", "support", "noreply", "no-reply", "no_reply",
    "ne-pas-repondre", "ne-pas-répondre", "ne_pas_repondre", "ne.pas.repondre", "nepasrepondre",
    "office", "bureau", "direction", "rh", "hr", "comptabilite", "comptabilité", "accounting",
    "sales", "ventes", "service", "services", "webmaster", "postmaster", "courrier", "mail",
    "general", "général", "info2", "reception01", "info.rh", "info-facturation", "support+urgent",
])
def test_shared_mailbox(local):
    data = load_sample()
    data["user"]["email"] = f"{local}@cisss.example.qc.ca"
    assert only(data) == {("user.email", "shared_mailbox")}


@pytest.mark.parametrize("local", [
    "marie.tremblay", "marie.info", "jean.bureau", "mailloux", "informaticienne.roy",
    "admin.marie", "r.gagnon", "serviceroy", "contactless.jean", "info.jean",
])
def test_personal_mailbox_is_not_shared(local):
    assert not is_shared_mailbox(f"{local}@cisss.example.qc.ca")


def test_shared_mailbox_for_the_authorizer_too():
    data = load_sample()
    data["authorizer"]["email"] = "Direction+sel@cisss.example.qc.ca"
    assert only(data) == {("authorizer.email", "shared_mailbox")}


@pytest.mark.parametrize("authorizer_email", [
    "marie.tremblay@cisss.example.qc.ca", "MARIE.TREMBLAY@CISSS.EXAMPLE.QC.CA",
    "marie.tremblay+autorisation@cisss.example.qc.ca", " Marie.Tremblay+x@Cisss.Example.qc.ca ",
])
def test_emails_must_differ(authorizer_email):
    data = load_sample()
    data["authorizer"]["email"] = authorizer_email
    assert only(data) == {("authorizer.email", "emails_must_differ")}


def test_same_person_with_two_addresses_is_fine():
    data = load_sample()
    data["authorizer"] = {"first_name": "Marie", "last_name": "Tremblay",
                          "email": "marie.tremblay@videotron.example.ca"}
    assert validate_request(data).ok


# --- postal codes ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["G1S 4L8", "g1s4l8", "g1s 4l8", "  G1S   4L8 ", "G1S\t4L8"])
def test_postal_code_normalized(raw):
    data = load_sample()
    data["user"]["postal_code"] = raw
    assert validate_request(data).normalized["user"]["postal_code"] == "G1S 4L8"


@pytest.mark.parametrize("raw", [
    "D1A 1A1", "F1A 1A1", "I1A 1A1", "O1A 1A1", "Q1A 1A1", "U1A 1A1", "W1A 1A1", "Z1A 1A1",
    "G1D 4L8", "G1S 4F8", "G1S 4L8X", "G1I 4L8", "G1S 4O8", "G1S 4Q8", "G1U 4L8", "G1S 4L",
    "12345", "G1S-4L8", "GGS 4L8", "G1S 448", "Ｇ1S 4L8", 1234, "H0H-0H0",
])
def test_invalid_postal_code(raw):
    data = load_sample()
    data["user"]["postal_code"] = raw
    assert only(data) == {("user.postal_code", "invalid_postal_code")}


def test_w_and_z_are_fine_after_the_first_letter():
    assert normalize_postal_code("h2w 1z4") == "H2W 1Z4"
    assert normalize_postal_code("T2Z 3W9") == "T2Z 3W9"


# --- phones ------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    "418 555-0123", "4185550123", "(418) 555-0123", "418.555.0123", "418-555-0123",
    "1 418 555 0123", "1-418-555-0123", "+1 418 555-0123", "+1 (418) 555-0123", "+14185550123",
])
def test_phone_normalized(raw):
    assert normalize_phone(raw) == "418 555-0123"


@pytest.mark.parametrize("raw", [
    "555-0123", "118 555-0123", "018 555-0123", "418 155-0123", "418 055-0123", "41855501234",
    "418555012", "2 418 555 0123", "+33 1 23 45 67 89", "+418 555 0123", "418 555-0123 p. 12",
    "418-555-O123", "４１８５５５０１２３", 4185550123, "4185550123+",
])
def test_invalid_phone(raw):
    data = load_sample()
    data["user"]["phone"] = raw
    assert only(data) == {("user.phone", "invalid_phone")}


def test_invalid_fax_and_extension():
    data = load_sample()
    data["user"]["fax"] = "555-0199"
    data["user"]["extension"] = "12a"
    assert only(data) == {("user.fax", "invalid_phone"), ("user.extension", "invalid_phone")}
    data["user"]["fax"] = "418 555 0199"
    data["user"]["extension"] = "12345678901"
    assert only(data) == {("user.extension", "invalid_phone")}
    data["user"]["extension"] = " 1234567890 "
    normalized = validate_request(data).normalized["user"]
    assert normalized["extension"] == "1234567890"
    assert normalized["fax"] == "418 555-0199"


def test_extension_message_is_specific():
    data = load_sample()
    data["user"]["extension"] = "poste 12"
    (error,) = validate_request(data).errors
    assert "poste" in error.message.lower()


# --- establishment numbers and section 5 ------------------------------------------------------


@pytest.mark.parametrize("raw", ["1234", "123456", "12a45", "12 345", 12345, "", "٠١٢٣٤"])
def test_invalid_establishment_number(raw):
    data = load_sample()
    data["user"]["establishment_number"] = raw
    expected = "required" if raw == "" else "invalid_establishment_number"
    assert only(data) == {("user.establishment_number", expected)}


def test_leading_zeros_kept():
    data = load_sample()
    data["user"]["establishment_number"] = " 00123 "
    data["additional_establishment_numbers"] = ["00001", "09999"]
    result = validate_request(data)
    assert result.normalized["user"]["establishment_number"] == "00123"
    assert result.normalized["additional_establishment_numbers"] == ["00001", "09999"]


def test_invalid_section5_numbers():
    data = load_sample()
    data["additional_establishment_numbers"] = ["12345", "1234", None, 23456]
    assert only(data) == {
        ("additional_establishment_numbers[1]", "invalid_establishment_number"),
        ("additional_establishment_numbers[2]", "invalid_establishment_number"),
        ("additional_establishment_numbers[3]", "invalid_establishment_number"),
    }


def test_section5_must_be_a_list():
    data = load_sample()
    data["additional_establishment_numbers"] = "12345"
    assert only(data) == {("additional_establishment_numbers", "unknown_value")}


@pytest.mark.parametrize("numbers", [[], None])
def test_establishments_required(numbers):
    data = load_sample()
    data["additional_establishment_numbers"] = numbers
    assert only(data) == {("additional_establishment_numbers", "establishments_required")}


def test_establishments_required_when_key_missing():
    data = load_sample()
    del data["additional_establishment_numbers"]
    assert only(data) == {("additional_establishment_numbers", "establishments_required")}


def test_establishments_not_allowed_with_all_installations():
    data = load_sample()
    data["register_scope"] = "all_installations"
    assert only(data) == {("additional_establishment_numbers", "establishments_not_allowed")}


def test_establishments_not_allowed_with_optilab_cluster():
    data = load_sample("optilab")
    data["additional_establishment_numbers"] = ["12345"]
    assert only(data) == {("additional_establishment_numbers", "establishments_not_allowed")}


def test_duplicate_establishment():
    data = load_sample()
    data["additional_establishment_numbers"] = ["12345", "23456", " 12345", "12345"]
    assert only(data) == {("additional_establishment_numbers[2]", "duplicate_establishment"),
                          ("additional_establishment_numbers[3]", "duplicate_establishment")}


def test_section2_number_repeated_in_section5_is_not_a_duplicate():
    data = load_sample()
    data["additional_establishment_numbers"] = ["01234"]
    assert validate_request(data).ok


# --- scope ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("org, scope", [
    ("establishment", "optilab_cluster"), ("gmf", "optilab_cluster"),
    ("optilab", "all_installations"),
])
def test_scope_mismatch(org, scope):
    data = load_sample()
    data["organization_type"] = org
    data["register_scope"] = scope
    data["additional_establishment_numbers"] = []
    assert only(data) == {("register_scope", "scope_mismatch")}


def test_optilab_with_some_installations_is_a_mismatch():
    data = load_sample()
    data["organization_type"] = "optilab"
    assert only(data) == {("register_scope", "scope_mismatch")}


@pytest.mark.parametrize("org, scope", [
    ("establishment", "some_installations"), ("establishment", "all_installations"),
    ("gmf", "all_installations"), ("gmf", "some_installations"), ("optilab", "optilab_cluster"),
])
def test_scope_fits(org, scope):
    data = load_sample()
    data["organization_type"] = org
    data["register_scope"] = scope
    data["additional_establishment_numbers"] = ["12345"] if scope == "some_installations" else []
    assert validate_request(data).ok


# --- section 3: roles, board resolution, commitments, signature -------------------------------

ROLE_MATRIX = {
    "establishment": {"dsp", "dg"},
    "gmf": {"gmf_responsible_physician", "gmf_coresponsible_physician"},
    "optilab": {"optilab_representative"},
}
ALL_ROLES = ["dsp", "dg", "optilab_representative", "gmf_responsible_physician",
             "gmf_coresponsible_physician"]


def _with_role(org: str, role: str) -> dict:
    data = establishment_with_authorization()
    data["organization_type"] = org
    data["register_scope"] = {"establishment": "some_installations", "gmf": "all_installations",
                              "optilab": "optilab_cluster"}[org]
    if org != "establishment":
        data["additional_establishment_numbers"] = []
    data["authorization"]["role"] = role
    return data


@pytest.mark.parametrize("org", list(ROLE_MATRIX))
@pytest.mark.parametrize("role", ALL_ROLES)
def test_role_not_allowed(org, role):
    errors = only(_with_role(org, role))
    if role in ROLE_MATRIX[org]:
        assert errors == set()
    else:
        assert errors == {("authorization.role", "role_not_allowed")}


def test_allowed_roles():
    assert allowed_roles("establishment") == ["dsp", "dg"]
    assert allowed_roles("gmf") == ["gmf_responsible_physician", "gmf_coresponsible_physician"]
    assert allowed_roles("optilab") == ["optilab_representative"]
    assert allowed_roles("hospital") == [] == allowed_roles(None) == allowed_roles(["gmf"])


def test_board_resolution_required_function():
    assert board_resolution_required(["online_payment_authorization"], "dsp")
    assert board_resolution_required(["authorizer_professional_association",
                                      "online_payment_authorization"], "dg")
    assert not board_resolution_required(["authorizer_professional_association"], "dsp")
    for role in ["optilab_representative", "gmf_responsible_physician",
                 "gmf_coresponsible_physician"]:
        assert not board_resolution_required(["online_payment_authorization"], role)
    assert not board_resolution_required("online_payment_authorization", "dsp")
    assert not board_resolution_required(None, None)


@pytest.mark.parametrize("role", ["dsp", "dg"])
@pytest.mark.parametrize("resolution", [
    None, {}, "CA-2025-117", {"number": "CA-1"}, {"date": "2025-01-01"},
    {"number": "   ", "date": "2025-01-01"}, {"number": "CA-1", "date": "2025-02-30"},
    {"number": "CA-1", "date": "14/03/2025"}, {"number": "CA-1", "date": "20250314"},
    {"number": 117, "date": "2025-01-01"},
])
def test_board_resolution_required(role, resolution):
    data = _with_role("establishment", role)
    data["authorization"]["board_resolution"] = resolution
    assert only(data) == {("authorization.board_resolution", "board_resolution_required")}


def test_board_resolution_in_the_future_is_refused():
    data = _with_role("establishment", "dsp")
    future = (date.today() + timedelta(days=3)).isoformat()
    data["authorization"]["board_resolution"] = {"number": "CA-9", "date": future}
    assert only(data) == {("authorization.board_resolution", "board_resolution_required")}
    data["authorization"]["board_resolution"]["date"] = (date.today() - timedelta(days=2)).isoformat()
    assert validate_request(data).ok


def test_board_resolution_missing_key_is_required():
    data = _with_role("establishment", "dg")
    del data["authorization"]["board_resolution"]
    assert only(data) == {("authorization.board_resolution", "board_resolution_required")}


def test_board_resolution_not_required_without_online_payment():
    data = _with_role("establishment", "dsp")
    data["applications"] = ["authorizer_professional_association"]
    data["authorization"]["board_resolution"] = None
    assert validate_request(data).ok


@pytest.mark.parametrize("org, role", [("gmf", "gmf_responsible_physician"),
                                       ("gmf", "gmf_coresponsible_physician"),
                                       ("optilab", "optilab_representative")])
def test_board_resolution_not_required_for_gmf_and_optilab(org, role):
    data = _with_role(org, role)
    assert data["applications"][0] == "online_payment_authorization"
    data["authorization"]["board_resolution"] = None
    assert validate_request(data).ok


def test_optional_board_resolution_is_still_checked():
    data = _with_role("gmf", "gmf_responsible_physician")
    data["authorization"]["board_resolution"] = {"number": "", "date": "demain"}
    assert only(data) == {("authorization.board_resolution.number", "required"),
                          ("authorization.board_resolution.date", "unknown_value")}


def test_board_resolution_number_too_long():
    data = _with_role("establishment", "dsp")
    data["authorization"]["board_resolution"]["number"] = "9" * 51
    assert only(data) == {("authorization.board_resolution.number", "too_long")}


def test_board_resolution_normalized():
    data = _with_role("establishment", "dsp")
    data["authorization"]["board_resolution"] = {"number": "  CA-2025 / 117 ", "date": " 2025-03-14"}
    result = validate_request(data)
    assert result.normalized["authorization"]["board_resolution"] == {
        "number": "CA-2025 / 117", "date": "2025-03-14"}


@pytest.mark.parametrize("value", [False, None, "true", 1, "oui"])
def test_commitments_required(value):
    data = load_sample()
    data["user"]["commitments_accepted"] = value
    assert only(data) == {("user.commitments_accepted", "commitments_required")}


def test_commitments_required_missing_and_for_the_authorizer():
    data = establishment_with_authorization()
    del data["user"]["commitments_accepted"]
    data["authorization"]["commitments_accepted"] = False
    assert only(data) == {("user.commitments_accepted", "commitments_required"),
                          ("authorization.commitments_accepted", "commitments_required")}


def test_section3_formats_and_required():
    data = establishment_with_authorization()
    section = data["authorization"]
    section.update({"sex": "X", "function": " ", "phone": "555", "fax": "1", "extension": "x",
                    "postal_code": "D0D 0D0", "organization_name": "É" * 201, "address": None})
    assert only(data) == {
        ("authorization.sex", "unknown_value"), ("authorization.function", "required"),
        ("authorization.phone", "invalid_phone"), ("authorization.fax", "invalid_phone"),
        ("authorization.extension", "invalid_phone"),
        ("authorization.postal_code", "invalid_postal_code"),
        ("authorization.organization_name", "too_long"), ("authorization.address", "required"),
    }


def test_authorization_must_be_an_object():
    data = load_sample()
    data["authorization"] = "signed"
    assert only(data) == {("authorization", "unknown_value")}


def test_section3_is_normalized_in_capitals():
    result = validate_request(establishment_with_authorization())
    section = result.normalized["authorization"]
    assert section["function"] == "DIRECTEUR DES SERVICES PROFESSIONNELS"
    assert section["address"] == "1050, CHEMIN SAINTE-FOY, QUÉBEC (QUÉBEC)"
    assert section["organization_name"] == "CISSS DE LA CAPITALE"


# --- signatures ----------------------------------------------------------------------------------

TINY_GIF = "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


@pytest.mark.parametrize("signature", [
    None, "signed", {}, {"method": "drawn"}, {"method": None, "image_png_base64": "x"},
    {"method": "drawn", "image_png_base64": ""},
    {"method": "drawn", "image_png_base64": "not base64 !!"},
    {"method": "drawn", "image_png_base64": base64.b64encode(b"hello world").decode()},
    {"method": "image", "image_png_base64": TINY_GIF},
    {"method": "image", "image_png_base64": png_b64()[:-12]},  # truncated
    {"method": "drawn", "image_png_base64": base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 40).decode()},
    {"method": "drawn", "image_png_base64": base64.b64encode(b"\xff\xd8\xff" + b"0" * 40).decode()},
    {"method": "drawn", "image_png_base64": 12},
    {"method": "digital"}, {"method": "digital", "data_base64": ""},
    {"method": "digital", "data_base64": "@@@"},
    {"method": "digital", "image_png_base64": "AAAA"},
])
def test_signature_required(signature):
    data = load_sample()
    data["user"]["signature"] = signature
    assert only(data) == {("user.signature", "signature_required")}


def test_signature_missing_key():
    data = load_sample()
    del data["user"]["signature"]
    assert only(data) == {("user.signature", "signature_required")}


def test_signature_too_big():
    big = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024)).decode()
    data = load_sample()
    data["user"]["signature"] = {"method": "image", "image_png_base64": big}
    assert only(data) == {("user.signature", "signature_required")}


def test_signature_image_too_many_pixels():
    data = load_sample()
    data["user"]["signature"] = {"method": "image",
                                 "image_png_base64": image_b64("PNG", (10_001, 2))}
    assert only(data) == {("user.signature", "signature_required")}


@pytest.mark.parametrize("signature", [
    {"method": "image", "image_png_base64": image_b64("JPEG")},
    {"method": "drawn", "image_png_base64": image_b64("PNG", (300, 100))},
    {"method": "digital", "data_base64": base64.b64encode(b"PKCS7 bytes").decode()},
    {"method": "digital", "image_png_base64": image_b64("PNG")},
    {"method": "digital", "image_png_base64": image_b64("PNG"),
     "data_base64": base64.b64encode(b"sig").decode()},
])
def test_signature_accepted(signature):
    data = load_sample()
    data["user"]["signature"] = signature
    assert validate_request(data).ok


def test_signature_data_url_and_line_breaks_are_normalized():
    data = load_sample()
    raw = png_b64()
    data["user"]["signature"]["image_png_base64"] = "data:image/png;base64," + raw[:20] + "\n" + raw[20:]
    assert validate_request(data).normalized["user"]["signature"] == {
        "method": "drawn", "image_png_base64": raw}


def test_signature_unknown_method_and_keys():
    data = load_sample()
    data["user"]["signature"] = {"method": "stamp", "image_png_base64": png_b64()}
    assert only(data) == {("user.signature.method", "unknown_value")}
    data["user"]["signature"] = {"method": "drawn", "image_png_base64": png_b64(), "date": "x"}
    assert only(data) == {("user.signature.date", "unknown_value")}
    data["user"]["signature"] = {"method": "drawn", "image_png_base64": png_b64(),
                                 "data_base64": "AAAA"}
    assert only(data) == {("user.signature.data_base64", "unknown_value")}


def test_a_typed_signature_needs_a_name_and_its_attestation():
    """The keyboard path to sign (issue 11): a typed name is a signature only when attested."""
    data = load_sample()
    data["user"]["signature"] = {"method": "typed", "typed_name": " marie  tremblay ", "attested": True}
    assert validate_request(data).normalized["user"]["signature"] == {
        "method": "typed", "typed_name": "MARIE TREMBLAY", "attested": True}
    data["user"]["signature"] = {"method": "typed", "typed_name": "Marie Tremblay", "attested": False}
    assert only(data) == {("user.signature.attested", "signature_required")}
    assert "Cochez l'attestation" in validate_request(data).errors[0].message
    data["user"]["signature"] = {"method": "typed", "typed_name": "Marie Tremblay"}
    assert only(data) == {("user.signature.attested", "signature_required")}
    data["user"]["signature"] = {"method": "typed", "typed_name": "  ", "attested": True}
    assert only(data) == {("user.signature", "signature_required")}
    data["user"]["signature"] = {"method": "typed", "typed_name": "Marie", "attested": True,
                                 "image_png_base64": png_b64()}
    assert only(data) == {("user.signature.image_png_base64", "unknown_value")}
    data["user"]["signature"] = {"method": "typed", "typed_name": "www.example.com", "attested": True}
    assert only(data) == {("user.signature.typed_name", "link_not_allowed")}
    data["user"]["signature"] = {"method": "drawn", "image_png_base64": png_b64(), "typed_name": "Marie"}
    assert only(data) == {("user.signature.typed_name", "unknown_value")}


def test_authorizer_signature_required():
    data = establishment_with_authorization()
    data["authorization"]["signature"] = {"method": "drawn", "image_png_base64": TINY_GIF}
    assert only(data) == {("authorization.signature", "signature_required")}


# --- unknown values and too long -----------------------------------------------------------------


def test_unknown_values():
    data = load_sample()
    data["applications"] = ["online_payment_authorization", "billing", 3]
    data["organization_type"] = "hospital"
    data["register_scope"] = "everything"
    data["user"]["sex"] = "X"
    data["user"]["first_name"] = 42
    data["user"]["nickname"] = "Mimi"
    data["reference"] = "SEL-2026-000001"
    data["authorizer"]["title"] = "Dr"
    assert only(data) == {
        ("applications[1]", "unknown_value"), ("applications[2]", "unknown_value"),
        ("organization_type", "unknown_value"), ("register_scope", "unknown_value"),
        ("user.sex", "unknown_value"), ("user.first_name", "unknown_value"),
        ("user.nickname", "unknown_value"), ("reference", "unknown_value"),
        ("authorizer.title", "unknown_value"),
    }


@pytest.mark.parametrize("sex", ["m", "f", "Homme", "", 1, None])
def test_sex(sex):
    data = load_sample()
    data["user"]["sex"] = sex
    expected = "required" if sex in ("", None) else "unknown_value"
    assert only(data) == {("user.sex", expected)}


def test_applications_wrong_type():
    data = load_sample()
    data["applications"] = "online_payment_authorization"
    assert only(data) == {("applications", "unknown_value")}


def test_role_unknown():
    data = establishment_with_authorization()
    data["authorization"]["role"] = "nurse"
    assert only(data) == {("authorization.role", "unknown_value")}


def test_control_characters_are_refused():
    data = load_sample()
    data["user"]["last_name"] = "Trem\x00blay"
    data["user"]["function"] = "Agente\ud800"
    assert only(data) == {("user.last_name", "unknown_value"), ("user.function", "unknown_value")}


@pytest.mark.parametrize("field, limit", [
    ("first_name", 100), ("last_name", 100), ("function", 200), ("establishment_name", 200),
    ("address", 200),
])
def test_too_long(field, limit):
    data = load_sample()
    data["user"][field] = "é" * limit
    assert validate_request(data).ok
    data["user"][field] = "é" * (limit + 1)
    assert only(data) == {(f"user.{field}", "too_long")}
    assert "{max}" not in validate_request(data).errors[0].message


def test_too_long_counts_after_collapsing_whitespace():
    data = load_sample()
    data["authorizer"]["last_name"] = "  " + "A   " * 50
    assert validate_request(data).ok
    data["authorizer"]["first_name"] = "B" * 101
    assert only(data) == {("authorizer.first_name", "too_long")}


# --- normalization -------------------------------------------------------------------------------


def test_normalization_of_a_request():
    data = load_sample()
    data["applications"] = ["authorizer_professional_association", "online_payment_authorization",
                            "authorizer_professional_association"]
    data["user"].update({"first_name": "  marie-ève  ", "last_name": "d'ARCY   côté",
                         "phone": "(418)555.0123", "postal_code": "g1s4l8",
                         "email": "Marie.Tremblay@CISSS.example.qc.ca"})
    data["authorizer"]["first_name"] = "jean\tfrançois"
    result = validate_request(data)
    user = result.normalized["user"]
    assert result.normalized["applications"] == ["online_payment_authorization",
                                                 "authorizer_professional_association"]
    assert (user["first_name"], user["last_name"]) == ("MARIE-ÈVE", "D'ARCY CÔTÉ")
    assert (user["phone"], user["postal_code"]) == ("418 555-0123", "G1S 4L8")
    assert user["email"] == "marie.tremblay@cisss.example.qc.ca"
    assert user["commitments_accepted"] is True
    assert result.normalized["authorizer"]["first_name"] == "JEAN FRANÇOIS"
    assert list(result.normalized) == ["applications", "existing_username", "organization_type",
                                       "register_scope", "additional_establishment_numbers",
                                       "user", "authorizer", "authorization"]
    assert normalize_request(data) == result.normalized
    assert normalize_request(result.normalized) == result.normalized


def test_small_normalizers():
    assert upper_text("  é  à\nç ") == "É À Ç"
    assert normalize_email(" A@B.CA ") == "a@b.ca"
    assert normalize_email("nope") is None
    assert normalize_phone(None) is None
    assert normalize_postal_code(None) is None


def test_normalize_request_keeps_bad_values():
    data = {"user": {"first_name": "marie", "phone": "555"}, "zzz": 1}
    normalized = normalize_request(data)
    assert normalized["user"]["first_name"] == "MARIE"
    assert normalized["user"]["phone"] == "555"
    assert normalized["zzz"] == 1
    assert normalize_request(normalized) == normalized
    assert normalize_request([1]) == [1]  # type: ignore[arg-type]


# --- every error at once, never an exception ------------------------------------------------------


def test_every_error_is_reported():
    data = establishment_with_authorization()
    data["user"]["email"] = "info@cisss.example.qc.ca"
    data["user"]["postal_code"] = "Z0Z 0Z0"
    data["user"]["phone"] = "123"
    data["additional_establishment_numbers"] = ["12345", "12345"]
    data["authorization"]["role"] = "gmf_responsible_physician"
    data["authorization"]["commitments_accepted"] = False
    assert only(data) == {
        ("user.email", "shared_mailbox"), ("user.postal_code", "invalid_postal_code"),
        ("user.phone", "invalid_phone"),
        ("additional_establishment_numbers[1]", "duplicate_establishment"),
        ("authorization.role", "role_not_allowed"),
        ("authorization.commitments_accepted", "commitments_required"),
    }


@pytest.mark.parametrize("data", [
    None, [], "x", 1, 1.5, True, {}, {"user": []}, {"user": {"signature": []}},
    {"applications": [[]], "organization_type": {}, "register_scope": []},
    {"additional_establishment_numbers": [{}, []]}, {1: 2}, {"user": {"email": "x" * 10**6}},
    {"authorization": {"board_resolution": []}}, {"authorization": []},
    {"user": {"signature": {"method": "drawn", "image_png_base64": "A" * 10**7}}},
    {"\ud800": 1, "a" * 500: 2},
])
def test_garbage_never_raises(data):
    result = validate_request(data)
    assert not result.ok
    assert result.normalized is None
    for error in result.errors:
        assert isinstance(error, FieldError)
        assert error.code in SPEC_CODES
        error.path.encode("utf-8")  # printable paths, even from odd keys
        assert len(error.path) < 200


def test_non_object_request():
    assert only([]) == {("$", "unknown_value")}


def test_english_messages():
    data = load_sample()
    data["user"]["first_name"] = ""
    (error,) = validate_request(data, lang="en").errors
    assert error == FieldError("user.first_name", "required", "This field is required.")
    (error,) = validate_request(data, lang="xx").errors
    assert error.message == "Ce champ est obligatoire."


# --- section 3 alone (authorizer's screen) ---------------------------------------------------------


def test_validate_authorization_alone():
    request = validate_request(load_sample()).normalized
    section3 = establishment_with_authorization()["authorization"]
    result = validate_authorization(section3, request)
    assert result.ok, result.errors
    assert result.normalized["function"] == "DIRECTEUR DES SERVICES PROFESSIONNELS"
    assert result.normalized["board_resolution"] == {"number": "CA-2025-117", "date": "2025-03-14"}

    section3["board_resolution"] = None
    section3["role"] = "optilab_representative"
    assert errors_of(validate_authorization(section3, request)) == {
        ("authorization.role", "role_not_allowed")}
    section3["role"] = "dg"
    assert errors_of(validate_authorization(section3, request, "en")) == {
        ("authorization.board_resolution", "board_resolution_required")}


@pytest.mark.parametrize("section3", [None, [], "x", {}])
def test_validate_authorization_garbage(section3):
    result = validate_authorization(section3, {"organization_type": "gmf"})
    assert not result.ok
    assert all(e.path.startswith("authorization") for e in result.errors)
    assert validate_authorization(section3, None).errors


def test_validity_period_is_the_configured_number_of_days(app_env, monkeypatch):
    from models.settings import get_settings
    from models.tables import quebec_today

    monkeypatch.setenv("RAMQ_CREDENTIAL_VALIDITY_DAYS", "30")
    get_settings.cache_clear()
    try:
        assert validity_period(date(2026, 1, 31)) == (date(2026, 1, 31), date(2026, 3, 2))
        start, end = validity_period()
        assert start in (quebec_today(), quebec_today() - timedelta(days=1))  # midnight
        assert end - start == timedelta(days=30)
    finally:
        get_settings.cache_clear()
