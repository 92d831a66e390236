"""The canonical request (SPEC §3) as pydantic models: the allowed values and the JSON Schema.

The validation itself lives in ``models.rules`` (it needs stable error codes and must report every
error); these models are the single place where the allowed values are spelled, and they
generate the schema printed by ``ramq-access schema``. They describe the *normalized* form, the
one ``ramq-access export`` writes; input may be looser (lowercase postal code, any phone
punctuation...), see ``models.rules``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

Application = Literal["online_payment_authorization", "authorizer_professional_association"]
OrganizationType = Literal["establishment", "gmf", "optilab"]
RegisterScope = Literal["some_installations", "all_installations", "optilab_cluster"]
Sex = Literal["M", "F"]
SignatureMethod = Literal["drawn", "image", "digital", "typed"]
Role = Literal[
    "dsp", "dg", "optilab_representative", "gmf_responsible_physician",
    "gmf_coresponsible_physician",
]

# Canonical order of each enumeration (applications are stored in this order).
APPLICATIONS: tuple[str, ...] = get_args(Application)
ORGANIZATION_TYPES: tuple[str, ...] = get_args(OrganizationType)
REGISTER_SCOPES: tuple[str, ...] = get_args(RegisterScope)
SEXES: tuple[str, ...] = get_args(Sex)
SIGNATURE_METHODS: tuple[str, ...] = get_args(SignatureMethod)
ROLES: tuple[str, ...] = get_args(Role)

NAME_MAX = 100
TEXT_MAX = 200  # addresses, function, establishment / organization names
USERNAME_MAX = 100
BOARD_RESOLUTION_NUMBER_MAX = 50
EXTENSION_MAX = 10

PHONE_PATTERN = r"^[2-9][0-9]{2} [2-9][0-9]{2}-[0-9]{4}$"
POSTAL_CODE_PATTERN = r"^[ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z] [0-9][ABCEGHJ-NPRSTV-Z][0-9]$"
ESTABLISHMENT_NUMBER_PATTERN = r"^[0-9]{5}$"
EXTENSION_PATTERN = r"^[0-9]{1,10}$"

Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
Text = Annotated[str, Field(min_length=1, max_length=TEXT_MAX)]
Phone = Annotated[str, Field(pattern=PHONE_PATTERN, examples=["418 555-0123"])]
Extension = Annotated[str, Field(pattern=EXTENSION_PATTERN)]
PostalCode = Annotated[str, Field(pattern=POSTAL_CODE_PATTERN, examples=["G1S 4L8"])]
EstablishmentNumber = Annotated[str, Field(pattern=ESTABLISHMENT_NUMBER_PATTERN, examples=["01234"])]
Email = Annotated[str, Field(max_length=254, json_schema_extra={"format": "email"})]
Base64 = Annotated[str, Field(min_length=4, json_schema_extra={"contentEncoding": "base64"})]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Signature(_Strict):
    """A drawn or scanned signature is a PNG/JPEG image; a digital one may carry its data; a typed
    one is the signer's name typed with their attestation (the keyboard path to sign)."""

    method: SignatureMethod
    image_png_base64: Base64 | None = Field(
        default=None, description="PNG or JPEG image, base64 (≤ 1 MiB decoded)")
    data_base64: Base64 | None = Field(
        default=None, description="Digital signature data, base64 (≤ 1 MiB decoded); digital only")
    typed_name: Annotated[str, Field(min_length=1, max_length=2 * NAME_MAX + 1)] | None = Field(
        default=None, description="The signer's name typed on the keyboard; typed only")
    attested: Literal[True] | None = Field(
        default=None, description="The signer attests that the typed name is their signature; typed only")


class BoardResolution(_Strict):
    """Resolution of the board designating the user as authorized signatory."""

    number: Annotated[str, Field(min_length=1, max_length=BOARD_RESOLUTION_NUMBER_MAX)]
    date: date


class User(_Strict):
    """Section 2 (utilisateur). Texts are in capitals."""

    first_name: Name
    last_name: Name
    sex: Sex
    function: Text
    email: Email
    phone: Phone
    extension: Extension | None = None
    fax: Phone | None = None
    establishment_name: Text
    establishment_number: EstablishmentNumber
    address: Text
    postal_code: PostalCode
    commitments_accepted: Literal[True]
    signature: Signature


class Authorizer(_Strict):
    """The person who authorizes: named by the user, reached by email."""

    first_name: Name
    last_name: Name
    email: Email


class Authorization(_Strict):
    """Section 3, completed by the authorizer through the signed link (null on a submission)."""

    role: Role
    sex: Sex
    function: Text
    phone: Phone
    extension: Extension | None = None
    fax: Phone | None = None
    organization_name: Text
    address: Text
    postal_code: PostalCode
    commitments_accepted: Literal[True]
    signature: Signature
    board_resolution: BoardResolution | None = None


class CanonicalRequest(_Strict):
    """Sections 1, 2, 3 and 5 of the RAMQ online-services access request."""

    model_config = ConfigDict(
        extra="forbid",
        title="Demande d'accès aux services en ligne de la RAMQ",
    )

    applications: Annotated[list[Application], Field(min_length=1)]
    existing_username: Annotated[str, Field(min_length=1, max_length=USERNAME_MAX)] | None = None
    organization_type: OrganizationType
    register_scope: RegisterScope
    additional_establishment_numbers: list[EstablishmentNumber] = Field(default_factory=list)
    user: User
    authorizer: Authorizer
    authorization: Authorization | None = None


def json_schema() -> dict:
    """The JSON Schema of the canonical request, generated from the models above."""
    schema = CanonicalRequest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
