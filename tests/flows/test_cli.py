"""The ``ramq-access`` command line: exit codes 0/1/2, output format, no traceback ever.

A few tests run the installed command in a real subprocess; the others use Typer's runner.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from models.rules import normalize_request
from tests.models.helpers import DATA_DIR, load_sample

COMMAND = str(Path(sys.executable).parent / "ramq-access")
ERROR_LINE = re.compile(r"^[^\s:][^:]*: [a-z_]+: \S.*$")
REFERENCE_LINE = re.compile(r"SEL-\d{4}-\d{6,}")

runner = CliRunner()


def run(*args: str) -> subprocess.CompletedProcess:
    """The real installed command, with the test database of ``app_env``."""
    return subprocess.run([COMMAND, *args], capture_output=True, text=True, encoding="utf-8",
                          env=dict(os.environ), timeout=120)


def write(tmp_path: Path, content: object, name: str = "demande.json") -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return str(path)


def assert_no_traceback(result) -> None:
    output = (result.stdout or "") + (result.stderr or "")
    assert "Traceback" not in output
    if not isinstance(result, subprocess.CompletedProcess):
        assert result.exception is None or isinstance(result.exception, SystemExit)


# --- real subprocess -----------------------------------------------------------------------------


def test_validate_valid_file_subprocess(app_env):
    result = run("validate", str(DATA_DIR / "request-establishment.json"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Demande valide."
    assert_no_traceback(result)


def test_validate_invalid_file_subprocess(app_env, tmp_path):
    data = load_sample()
    data["user"]["email"] = "Info+x@cisss.example.qc.ca"
    data["user"]["postal_code"] = "D1A 1A1"
    data["authorizer"]["first_name"] = ""
    result = run("validate", write(tmp_path, data))
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert lines == [
        "user.email: shared_mailbox: Les adresses de boîte courriel partagée (p. ex. "
        "information@…) ne sont pas acceptées. Veuillez indiquer une adresse personnelle ou "
        "professionnelle.",
        "user.postal_code: invalid_postal_code: Le code postal n'est pas valide. Inscrivez un "
        "code postal canadien, p. ex. G1S 4L8.",
        "authorizer.first_name: required: Ce champ est obligatoire.",
    ]
    assert_no_traceback(result)


def test_validate_unreadable_file_subprocess(app_env, tmp_path):
    result = run("validate", str(tmp_path / "absent.json"))
    assert result.returncode == 2
    assert "Impossible de lire le fichier" in result.stderr
    assert "introuvable" in result.stderr
    assert_no_traceback(result)


def test_submit_then_export_subprocess(app_env):
    sample = DATA_DIR / "request-gmf.json"
    submitted = run("submit", str(sample))
    assert submitted.returncode == 0, submitted.stderr
    reference = REFERENCE_LINE.search(submitted.stdout).group(0)
    assert "Numéro de référence" in submitted.stdout
    exported = run("export", reference, "--with-images")
    assert exported.returncode == 0, exported.stderr
    record = json.loads(exported.stdout)
    expected = normalize_request(load_sample("gmf"))
    assert dict(record["request"], authorization=record["authorization"]) == expected
    assert "GMF DES RIVIÈRES" in exported.stdout  # ensure_ascii=False
    assert_no_traceback(exported)


# --- validate ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["establishment", "gmf", "optilab"])
def test_validate_samples(name):
    result = runner.invoke(app, ["validate", str(DATA_DIR / f"request-{name}.json")])
    assert result.exit_code == 0, result.output
    assert result.stdout == "Demande valide.\n"


def test_readme_example_is_valid():
    example = Path(__file__).resolve().parents[2] / "examples" / "demande-valide.json"
    assert runner.invoke(app, ["validate", str(example)]).exit_code == 0


def test_validate_prints_every_error_one_per_line(tmp_path):
    data = load_sample()
    data["organization_type"] = "hopital"
    data["user"]["phone"] = "555"
    data["user"]["extension"] = "x12"
    data["additional_establishment_numbers"] = ["12345", "12345", "1"]
    data["extra"] = True
    result = runner.invoke(app, ["validate", write(tmp_path, data)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert all(ERROR_LINE.match(line) for line in lines), lines
    assert {tuple(line.split(": ")[:2]) for line in lines} == {
        ("extra", "unknown_value"), ("organization_type", "unknown_value"),
        ("additional_establishment_numbers[1]", "duplicate_establishment"),
        ("additional_establishment_numbers[2]", "invalid_establishment_number"),
        ("user.phone", "invalid_phone"), ("user.extension", "invalid_phone"),
    }


def test_validate_in_english(tmp_path):
    data = load_sample()
    data["user"]["sex"] = "X"
    result = runner.invoke(app, ["validate", "--lang", "en", write(tmp_path, data)])
    assert result.exit_code == 1
    assert result.stdout == "user.sex: unknown_value: This value is not allowed.\n"
    ok = runner.invoke(app, ["validate", "--lang", "en", str(DATA_DIR / "request-gmf.json")])
    assert ok.exit_code == 0 and ok.stdout == "The request is valid.\n"


@pytest.mark.parametrize("content, reason", [
    (b"", "JSON"),
    (b"{\"a\": ", "JSON"),
    (b"not json", "JSON"),
    (b"\xff\xfe{\x00}\x00", "UTF-8"),
    (b"{\"user\": \"caf\xe9\"}", "UTF-8"),
    (b"[NaN]", "JSON"),
    (b"{\"a\": Infinity}", "JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "JSON"),
])
def test_validate_unreadable_content_exits_2(tmp_path, content, reason):
    result = runner.invoke(app, ["validate", write(tmp_path, content)])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Impossible de lire le fichier" in result.stderr and reason in result.stderr
    assert_no_traceback(result)


def test_validate_directory_exits_2(tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 2
    assert "répertoire" in result.stderr


@pytest.mark.parametrize("document", [
    "null", "[]", "42", "\"texte\"", "{}", "{\"user\": []}", "[" * 500 + "]" * 500,
    "{\"applications\": " + "9" * 5000 + "}", "{\"\\ud800\": 1}", "\ufeff{}",
])
def test_validate_any_json_exits_1(tmp_path, document):
    result = runner.invoke(app, ["validate", write(tmp_path, document)])
    assert result.exit_code == 1, result.output
    assert result.stdout and all(ERROR_LINE.match(line) for line in result.stdout.splitlines())
    assert_no_traceback(result)


# --- submit and export ----------------------------------------------------------------------------


def test_submit_invalid_stores_nothing(app_env, tmp_path):
    from sqlmodel import select

    from models.db import session_scope
    from models.tables import AccessRequest

    data = load_sample()
    data["authorizer"]["email"] = data["user"]["email"].upper()
    with session_scope() as session:
        before = len(session.exec(select(AccessRequest.id)).all())
    result = runner.invoke(app, ["submit", write(tmp_path, data)])
    assert result.exit_code == 1
    assert result.stdout.startswith("authorizer.email: emails_must_differ: ")
    with session_scope() as session:
        assert len(session.exec(select(AccessRequest.id)).all()) == before


def test_submit_unreadable_exits_2(app_env, tmp_path):
    result = runner.invoke(app, ["submit", str(tmp_path / "absent.json")])
    assert result.exit_code == 2
    assert "introuvable" in result.stderr


def test_submit_and_export(app_env):
    result = runner.invoke(app, ["submit", "--lang", "en", str(DATA_DIR / "request-optilab.json")])
    assert result.exit_code == 0, result.output
    reference = REFERENCE_LINE.search(result.stdout).group(0)
    exported = runner.invoke(app, ["export", reference.lower(), "--with-images"])
    assert exported.exit_code == 0
    record = json.loads(exported.stdout)
    assert dict(record["request"], authorization=record["authorization"]) == normalize_request(load_sample("optilab"))
    assert record["reference"] == reference and record["intact"] is True


def test_export_unknown_reference(app_env):
    result = runner.invoke(app, ["export", "SEL-1999-000000"])
    assert result.exit_code == 1
    assert "Aucune demande" in result.stderr
    assert result.stdout == ""


def test_submit_reports_a_database_failure_without_traceback(monkeypatch, tmp_path):
    from models.settings import get_settings

    monkeypatch.setenv("RAMQ_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["submit", str(DATA_DIR / "request-establishment.json")])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 3
    assert "Erreur inattendue" in result.stderr
    assert "MARIE" not in result.output and "marie" not in result.output
    assert_no_traceback(result)


# --- schema and db --------------------------------------------------------------------------------


def test_schema_is_generated_json_schema():
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) >= {"applications", "organization_type", "register_scope",
                                       "user", "authorizer"}
    assert set(schema["$defs"]) >= {"User", "Authorizer", "Authorization", "Signature",
                                    "BoardResolution"}
    assert schema["$defs"]["Authorization"]["properties"]["role"]["enum"] == [
        "dsp", "dg", "optilab_representative", "gmf_responsible_physician",
        "gmf_coresponsible_physician"]


def test_schema_accepts_an_exported_request():
    from models.canonical import CanonicalRequest

    CanonicalRequest.model_validate(normalize_request(load_sample("gmf")))


def test_db_upgrade(app_env):
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0
    assert result.stdout == "Base de données à jour.\n"
