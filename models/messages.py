"""Every user-facing wording of the form's rules and enumerations, in French (default) and English.

One table so the CLI, the screens and the emails say the same thing. Messages are keyed by the
stable error code of SPEC §4; a few codes have a more precise variant (``code:variant``).
"""

from __future__ import annotations

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"

MESSAGES: dict[str, dict[str, str]] = {
    "required": {
        "fr": "Ce champ est obligatoire.",
        "en": "This field is required.",
    },
    "invalid_email": {
        "fr": "L'adresse électronique n'est pas valide (p. ex. prenom.nom@organisation.qc.ca).",
        "en": "The email address is not valid (e.g. firstname.lastname@organization.qc.ca).",
    },
    "shared_mailbox": {
        "fr": "Les adresses de boîte courriel partagée (p. ex. information@…) ne sont pas "
              "acceptées. Veuillez indiquer une adresse personnelle ou professionnelle.",
        "en": "Shared mailbox addresses (e.g. information@…) are not accepted. Please provide "
              "a personal or professional address.",
    },
    "emails_must_differ": {
        "fr": "L'utilisateur et la personne qui autorise la demande doivent avoir des adresses "
              "électroniques différentes, même s'il s'agit de la même personne.",
        "en": "The user and the person authorizing the request must have different email "
              "addresses, even when they are the same person.",
    },
    "invalid_postal_code": {
        "fr": "Le code postal n'est pas valide. Inscrivez un code postal canadien, p. ex. G1S 4L8.",
        "en": "The postal code is not valid. Enter a Canadian postal code, e.g. G1S 4L8.",
    },
    "invalid_phone": {
        "fr": "Le numéro n'est pas valide. Inscrivez un numéro de 10 chiffres, p. ex. 418 555-0123.",
        "en": "The number is not valid. Enter a 10-digit number, e.g. 418 555-0123.",
    },
    "invalid_phone:extension": {
        "fr": "Le poste ne doit contenir que des chiffres (10 au maximum).",
        "en": "The extension must contain digits only (10 at most).",
    },
    "invalid_establishment_number": {
        "fr": "Le numéro d'établissement doit compter exactement 5 chiffres, p. ex. 01234.",
        "en": "The establishment number must have exactly 5 digits, e.g. 01234.",
    },
    "establishments_required": {
        "fr": "Vous avez choisi « De certaines installations de l'établissement » : indiquez au "
              "moins un numéro d'établissement à la section 5.",
        "en": "You chose \"Some installations of the establishment\": please enter at least one "
              "establishment number in section 5.",
    },
    "establishments_not_allowed": {
        "fr": "Ne joignez pas de liste de numéros d'établissement (section 5) pour ce choix de "
              "registres.",
        "en": "Do not attach a list of establishment numbers (section 5) for this choice of "
              "registers.",
    },
    "duplicate_establishment": {
        "fr": "Ce numéro d'établissement figure déjà à la section 5.",
        "en": "This establishment number already appears in section 5.",
    },
    "scope_mismatch": {
        "fr": "Les registres « De la grappe de services (OPTILAB) » s'appliquent uniquement à une "
              "grappe de services (OPTILAB), et une grappe OPTILAB doit choisir ces registres.",
        "en": "The \"OPTILAB service cluster\" registers apply only to an OPTILAB service "
              "cluster, and an OPTILAB cluster must choose these registers.",
    },
    "role_not_allowed": {
        "fr": "Cette fonction ne permet pas d'autoriser la demande pour ce type d'organisation "
              "(établissement : DSP ou DG ; GMF : médecin responsable ou coresponsable ; OPTILAB : "
              "représentant autorisé).",
        "en": "This role cannot authorize the request for this type of organization "
              "(establishment: DSP or DG; GMF: responsible or co-responsible physician; OPTILAB: "
              "authorized representative).",
    },
    "board_resolution_required": {
        "fr": "Pour l'autorisation des demandes de paiement en ligne, indiquez le numéro et la date "
              "de la résolution du conseil d'administration désignant l'utilisateur comme "
              "signataire autorisé (la date ne peut pas être dans le futur).",
        "en": "For the online payment authorization, please give the number and date of the "
              "board resolution designating the user as authorized signatory (the date cannot "
              "be in the future).",
    },
    "commitments_required": {
        "fr": "Vous devez accepter les engagements pour continuer.",
        "en": "You must accept the commitments to continue.",
    },
    "signature_required": {
        "fr": "La signature est obligatoire : signez à l'écran, joignez l'image de votre signature "
              "(PNG ou JPEG, 1 Mo au maximum) ou une signature numérique.",
        "en": "A signature is required: sign on screen, attach an image of your signature (PNG "
              "or JPEG, 1 MB at most) or a digital signature.",
    },
    "unknown_value": {
        "fr": "Cette valeur n'est pas permise.",
        "en": "This value is not allowed.",
    },
    "unknown_value:key": {
        "fr": "Ce champ ne fait pas partie du formulaire.",
        "en": "This field is not part of the form.",
    },
    "unknown_value:date": {
        "fr": "La date doit être au format AAAA-MM-JJ et ne peut pas être dans le futur.",
        "en": "The date must use the YYYY-MM-DD format and cannot be in the future.",
    },
    "confusable_email": {
        "fr": "L'adresse électronique mélange des alphabets (p. ex. une lettre cyrillique parmi "
              "des lettres latines) : elle imite peut-être une autre adresse. Inscrivez l'adresse "
              "au clavier, sans la copier-coller.",
        "en": "The email address mixes alphabets (e.g. a Cyrillic letter among Latin ones): it "
              "may imitate another address. Type the address instead of pasting it.",
    },
    "link_not_allowed": {
        "fr": "Les liens, adresses Web et adresses électroniques ne sont pas permis dans ce "
              "champ (p. ex. « www. », « http:// », « exemple.com », « nom@exemple.ca »).",
        "en": "Links, web addresses and email addresses are not allowed in this field (e.g. "
              "\"www.\", \"http://\", \"example.com\", \"name@example.ca\").",
    },
    "invisible_character": {
        "fr": "Ce texte contient un caractère invisible ou de mise en forme (p. ex. espace sans "
              "chasse, marque de sens d'écriture, trait d'union conditionnel). Retapez-le au "
              "clavier, sans le copier-coller.",
        "en": "This text contains an invisible or formatting character (e.g. zero-width space, "
              "text-direction mark, soft hyphen). Type it again instead of pasting it.",
    },
    "confusable_text": {
        "fr": "Un mot de ce texte mélange des alphabets (p. ex. une lettre cyrillique parmi des "
              "lettres latines). Retapez-le au clavier, sans le copier-coller.",
        "en": "A word of this text mixes alphabets (e.g. a Cyrillic letter among Latin ones). "
              "Type it again instead of pasting it.",
    },
    "too_long": {
        "fr": "Ce texte est trop long ({max} caractères au maximum).",
        "en": "This text is too long ({max} characters at most).",
    },
}

# Labels of the enumerated values (SPEC §3), as printed on the paper form.
LABELS: dict[str, dict[str, dict[str, str]]] = {
    "application": {
        "online_payment_authorization": {
            "fr": "Autorisation des demandes de paiement en ligne",
            "en": "Online payment request authorization",
        },
        "authorizer_professional_association": {
            "fr": "Association entre le responsable de l'autorisation et le professionnel",
            "en": "Association between the authorization officer and the professional",
        },
    },
    "organization_type": {
        "establishment": {
            "fr": "Établissement, installation ou point de service",
            "en": "Establishment, installation or service point",
        },
        "gmf": {
            "fr": "Groupe de médecine de famille (GMF)",
            "en": "Family medicine group (GMF)",
        },
        "optilab": {
            "fr": "Grappe de services (OPTILAB)",
            "en": "Service cluster (OPTILAB)",
        },
    },
    "register_scope": {
        "some_installations": {
            "fr": "De certaines installations de l'établissement",
            "en": "Some installations of the establishment",
        },
        "all_installations": {
            "fr": "De toutes les installations de l'établissement",
            "en": "All installations of the establishment",
        },
        "optilab_cluster": {
            "fr": "De la grappe de services (OPTILAB)",
            "en": "The service cluster (OPTILAB)",
        },
    },
    "role": {
        "dsp": {
            "fr": "Directeur des services professionnels",
            "en": "Director of professional services",
        },
        "dg": {"fr": "Directeur général", "en": "Executive director"},
        "optilab_representative": {
            "fr": "Représentant autorisé d'une grappe de services (OPTILAB)",
            "en": "Authorized representative of a service cluster (OPTILAB)",
        },
        "gmf_responsible_physician": {
            "fr": "Médecin responsable du GMF",
            "en": "GMF responsible physician",
        },
        "gmf_coresponsible_physician": {
            "fr": "Médecin coresponsable du GMF",
            "en": "GMF co-responsible physician",
        },
    },
    "signature_method": {
        "drawn": {
            "fr": "Signature manuscrite à l'écran (stylet, écran tactile ou souris)",
            "en": "Handwritten signature on screen (stylus, touch screen or mouse)",
        },
        "image": {
            "fr": "Signature manuscrite numérisée (image)",
            "en": "Scanned handwritten signature (image)",
        },
        "digital": {
            "fr": "Signature numérique (certificat)",
            "en": "Digital signature (certificate)",
        },
    },
    "sex": {
        "M": {"fr": "M", "en": "M"},
        "F": {"fr": "F", "en": "F"},
    },
}


def _lang(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def message(code: str, lang: str = DEFAULT_LANGUAGE, variant: str | None = None, **params) -> str:
    """The wording of an error code (or its variant), never failing on an unknown code."""
    lang = _lang(lang)
    entry = (variant and MESSAGES.get(f"{code}:{variant}")) or MESSAGES.get(code)
    if entry is None:
        return code
    text = entry[lang]
    try:
        return text.format(**params) if params else text
    except (KeyError, IndexError, ValueError):
        return text


def label(kind: str, value: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The label of an enumerated value, e.g. ``label("role", "dsp")``; the value if unknown."""
    try:
        return LABELS[kind][value][_lang(lang)]
    except (KeyError, TypeError):
        return str(value)


def labels(kind: str, lang: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """All labels of one enumeration in canonical order (for select boxes)."""
    return {value: texts[_lang(lang)] for value, texts in LABELS.get(kind, {}).items()}
