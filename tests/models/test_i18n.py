"""The catalogues (models/locales): complete in both languages, every key used, one lookup."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from prefect.client.schemas.objects import StateType

from flows.prefect_states import RUN_PROBLEMS, UNKNOWN
from models import i18n
from models.accounts import STAFF_ROLES
from models.canonical import (
    APPLICATIONS,
    ORGANIZATION_TYPES,
    REGISTER_SCOPES,
    ROLES,
    SEXES,
    SIGNATURE_METHODS,
)
from models.enums import AuditEventKind, Outcome, RequestStatus, SignatureVerdict, SignerRole, TaskKind
from models.history import AGE_BUCKETS, DURATIONS
from models.i18n import DEFAULT_LANGUAGE, DOMAINS, LANGUAGES, catalogue, family, translate
from models.queries import CLAIM_FILTERS, QUEUE_SORTS, STATUS_STEPS

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("models", "flows", "notifications", "ui")


def _sources(*packages: str, suffixes: tuple[str, ...] = (".py", ".j2")) -> str:
    return "\n".join(
        path.read_text(encoding="utf-8")
        for package in packages
        for path in sorted((ROOT / package).rglob("*"))
        if path.suffix in suffixes and "locales" not in path.parts
    )


SOURCE = _sources(*PACKAGES)
RULES_SOURCE = (ROOT / "models/rules.py").read_text(encoding="utf-8")


def _quoted(word: str, source: str = SOURCE) -> bool:
    return f'"{word}"' in source or f"'{word}'" in source


# Audit events (the history of a request): every member of the enum.
EVENT_KINDS = {e.value for e in AuditEventKind}
# The error codes of the form's rules (SPEC §4 and the input-safety codes).
RULE_CODES = {
    "required", "invalid_email", "shared_mailbox", "emails_must_differ", "invalid_postal_code",
    "invalid_phone", "invalid_establishment_number", "establishments_required",
    "establishments_not_allowed", "duplicate_establishment", "scope_mismatch", "role_not_allowed",
    "board_resolution_required", "commitments_required", "signature_required", "unknown_value",
    "confusable_email", "link_not_allowed", "invisible_character", "confusable_text", "too_long",
}

# Keys built at run time: a family (key prefix) and the values it must cover, exactly.
FAMILIES: dict[str, set[str]] = {
    "labels.status.": {s.value for s in RequestStatus},
    "labels.event.": EVENT_KINDS,
    "labels.status_step.": set(STATUS_STEPS.values()),
    "labels.status_next.": {s.value for s in RequestStatus},
    "labels.outcome.": {o.value for o in Outcome},
    "labels.signer_role.": {r.value for r in SignerRole},
    "labels.signature_verdict.": {v.value for v in SignatureVerdict},
    "labels.application.": set(APPLICATIONS),
    "labels.organization_type.": set(ORGANIZATION_TYPES),
    "labels.register_scope.": set(REGISTER_SCOPES),
    "labels.role.": set(ROLES),
    "labels.signature_method.": set(SIGNATURE_METHODS),
    "labels.sex.": set(SEXES),
    "errors.rule.": RULE_CODES,
    "email.month.": {str(n) for n in range(1, 13)},
    # The screens build these names: t(f"run_state_{state}"), t(f"role_{role}")...
    "ui.run_state_": {s.value for s in StateType} | {UNKNOWN[0], "none"},
    "ui.role_": set(STAFF_ROLES),
    "ui.task_kind_": {k.value for k in TaskKind},
    "ui.claim_": set(CLAIM_FILTERS),
    "ui.sort_": set(QUEUE_SORTS),
    "ui.scope_hint_": set(REGISTER_SCOPES),
    "ui.run_problem_": set(RUN_PROBLEMS),  # the managers' history
    "ui.step_": set(DURATIONS),
    "ui.age_": set(AGE_BUCKETS),
}
# Families whose members are checked one by one against the code that uses them (below).
CHECKED_ONE_BY_ONE = ("errors.rule_variant.", "errors.action.", "errors.account.")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


# --- the catalogues ------------------------------------------------------------------------------


def test_one_file_per_language_and_domain():
    for lang in LANGUAGES:
        assert sorted(p.stem for p in (i18n.LOCALES_DIR / lang).glob("*.toml")) == sorted(DOMAINS)
    assert {p.name for p in i18n.LOCALES_DIR.iterdir() if p.is_dir()} == set(LANGUAGES)


def test_every_key_exists_in_both_languages():
    french, english = catalogue("fr"), catalogue("en")
    assert set(french) - set(english) == set(), "missing in English"
    assert set(english) - set(french) == set(), "missing in French"
    assert list(french) == list(english), "keep the two files in the same order"
    assert all(key.split(".", 1)[0] in DOMAINS for key in french)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_empty_text(lang):
    assert [key for key, text in catalogue(lang).items() if not text.strip()] == []


def test_both_languages_use_the_same_placeholders():
    for key, french in catalogue("fr").items():
        assert _fields(french) == _fields(catalogue("en")[key]), key
        assert all(name.isidentifier() for name in _fields(french)), key  # {name}, never {0}


# --- every key is used, every key used exists ---------------------------------------------------


def _built(key: str) -> bool:
    """Whether the code builds ``key`` at run time (a member of a family's values)."""
    return key.startswith(CHECKED_ONE_BY_ONE) or any(
        key.startswith(prefix) and key.removeprefix(prefix) in values
        for prefix, values in FAMILIES.items())


def _named(key: str) -> bool:
    """Whether the code names ``key``: whole, or a screen text by its name (``t("submit")``)."""
    return _quoted(key) or (key.startswith("ui.") and _quoted(key.removeprefix("ui.")))


@pytest.mark.parametrize("prefix", sorted(FAMILIES))
def test_each_family_covers_its_values(prefix):
    members = {key.removeprefix(prefix) for key in family(prefix)}
    assert FAMILIES[prefix] - members == set(), "missing"
    # Other keys with this prefix (ui.claim_first, ui.sort_by) are texts the code names.
    assert [m for m in sorted(members - FAMILIES[prefix]) if not _named(prefix + m)] == []


@pytest.mark.parametrize("prefix", sorted(p for p in FAMILIES if p.startswith("ui.")))
def test_the_screens_build_each_ui_family(prefix):
    assert f'f"{prefix.removeprefix("ui.")}{{' in _sources("ui"), prefix


def test_the_families_of_labels_are_looked_up():
    assert 'label("status", ' in SOURCE and 'label("event", ' in SOURCE
    assert 'f"labels.{kind}.{' in SOURCE and 'f"email.month.{' in SOURCE
    assert 'f"errors.rule_variant.{' in SOURCE and 'f"errors.action.{' in SOURCE
    assert 'f"errors.account.{' in SOURCE and "_RULE + code" in SOURCE


def test_every_event_is_recorded_by_the_code():
    """Each audit event is written somewhere: named as a member, or made by the helpers that
    name a task's opening and a decision (each task kind and each outcome its steps take)."""
    assert "AuditEventKind.task_opened(" in SOURCE and "AuditEventKind.decision(" in SOURCE
    built = {AuditEventKind.task_opened(kind) for kind in TaskKind}
    for kind in TaskKind:
        for outcome in Outcome:
            try:
                built.add(AuditEventKind.decision(kind, outcome))
            except ValueError:
                pass  # a pair no step takes
    named = {e for e in AuditEventKind if f"AuditEventKind.{e.name}" in SOURCE}
    assert sorted(set(AuditEventKind) - built - named) == []


@pytest.mark.parametrize("enum, prefix", [
    (RequestStatus, "labels.status."), (AuditEventKind, "labels.event."),
    (Outcome, "labels.outcome."), (TaskKind, "ui.task_kind_"),
    (SignerRole, "labels.signer_role."), (SignatureVerdict, "labels.signature_verdict."),
])
def test_every_enum_member_has_a_french_and_an_english_label(enum, prefix):
    for member in enum:
        for lang in LANGUAGES:
            assert catalogue(lang).get(prefix + member.value), (lang, member)


def test_every_rule_code_is_raised_and_every_raised_code_has_a_message():
    variants = {key.rsplit(".", 1)[1] for key in family("errors.rule_variant.")}
    raised = {word for line in RULES_SOURCE.splitlines() if ".error(" in line
              for word in re.findall(r'(?:, |else )"(\w+)"', line)} - variants
    assert len(raised) > 15 and raised - RULE_CODES == set()
    assert [code for code in sorted(RULE_CODES) if not _quoted(code, RULES_SOURCE)] == []
    for key in family("errors.rule_variant."):
        code, variant = key.removeprefix("errors.rule_variant.").split(".")
        assert code in RULE_CODES and _quoted(variant, RULES_SOURCE), key


def test_every_action_error_has_a_message_and_every_message_is_raised():
    raised = set(re.findall(r'ActionError\("(\w+)"', _sources("flows", "ui")))
    messages = {key.removeprefix("errors.action.") for key in family("errors.action.")}
    assert raised and raised - messages == set()
    assert [code for code in sorted(messages) if not _quoted(code, _sources("flows"))] == []


def test_every_account_error_code_has_a_message():
    accounts = (ROOT / "models/accounts.py").read_text()
    messages = {key.removeprefix("errors.account.") for key in family("errors.account.")}
    assert [code for code in sorted(messages) if not _quoted(code, accounts)] == []
    refused = set(re.findall(r'AccountError\("(\w+)"', accounts)) | set(
        re.findall(r'return "(password_\w+)"', accounts))
    # A refusal without an account message is one the screens word (ui.<code>).
    assert [c for c in sorted(refused) if c not in messages and f"ui.{c}" not in catalogue("fr")] == []


def test_no_key_is_unused():
    """A key is used when the code names it: the whole key (``translate("cli.valid")``), a
    screen text by its name (``t("submit")``), or a family the code builds (FAMILIES above)."""
    assert [key for key in catalogue(DEFAULT_LANGUAGE) if not (_built(key) or _named(key))] == []


def test_every_key_the_code_names_exists():
    french = catalogue(DEFAULT_LANGUAGE)
    named = set(re.findall(r'\btranslate\(\s*"([\w.]+)"', SOURCE))
    named |= set(re.findall(r'\bt\(\s*"([\w.]+)"', _sources("notifications")))
    screens = {f"ui.{name}" for name in re.findall(r'\bt\(\s*["\'](\w+)["\']', _sources("ui"))}
    assert sorted((named | screens) - set(french)) == []
    assert len(named) > 15 and len(screens) > 200


# --- translate ------------------------------------------------------------------------------------


def test_translate_fills_placeholders():
    assert translate("cli.submitted", "fr", reference="R-1") == (
        "Demande enregistrée. Numéro de référence : R-1")
    assert translate("cli.submitted", "en", reference="R-1") == (
        "Request recorded. Reference number: R-1")
    assert translate("labels.role.dg", "en") == "Executive director"


# A stranger controls ?lang=: a path, a look-alike "еn" (Cyrillic е) or a padded code is French.
@pytest.mark.parametrize("lang", [None, "de", "", "FR", 3, "../en", "\u0435n", " en"])
def test_an_unknown_language_falls_back_to_french(lang):
    assert translate("labels.role.dg", lang) == "Directeur général ou directrice générale"
    assert translate("ui.yes", lang) == "Oui"


def test_a_language_enum_is_understood():
    from flows.cli import Lang

    assert translate("ui.yes", Lang.en) == "Yes"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_an_unknown_key_is_a_programming_error(lang):
    with pytest.raises(KeyError):
        translate("ui.no_such_text", lang)
    with pytest.raises(KeyError):
        translate("labels.role", lang)  # a table, not a text
    assert not i18n.exists("ui.no_such_text") and i18n.exists("ui.yes")


def test_one_name_per_thing():
    """The screens and the emails name an application, a page, a stuck request alike."""
    from notifications.templates import compose

    for lang in LANGUAGES:
        name = translate("labels.application.online_payment_authorization", lang)
        msg = compose("authorization_request", lang=lang, reference="R-1", authorizer_name="J G",
                      user_name="M T", applications=["online_payment_authorization"],
                      organization="X", link_url="http://x", deadline=None)
        assert name in msg.text
        assert translate("labels.event.recovery_abandoned", lang) == translate("ui.run_stuck", lang)
