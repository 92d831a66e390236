"""Bad files given to the command line (already refused): ``ramq-access validate`` and
``submit`` with a missing file, a directory, bytes that are not UTF-8, text that is not JSON,
NaN, a document nested deeper than the parser goes, a 5,000-digit integer. Exit 2 for what cannot
be read, 1 for a readable document that is not a valid request; never a traceback; nothing
stored. (The CLI is a trusted entry: its refusals are messages, not security events.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from models.tables import AccessRequest, RateEvent, SecurityEvent
from tests.security.attack_helpers import count_rows

COMMAND = str(Path(sys.executable).parent / "ramq-access")
runner = CliRunner()

UNREADABLE = {
    "missing": None,
    "directory": "DIR",
    "not_utf8": b"{\"user\": \"caf\xe9\"}",
    "utf16": "{}".encode("utf-16"),
    "not_json": b"<xml>demande</xml>",
    "truncated": b"{\"user\": {",
    "nan": b"{\"applications\": NaN}",
    "deeply_nested": b"[" * 200_000 + b"]" * 200_000,
    "deeply_nested_objects": b"{\"a\":" * 100_000 + b"1" + b"}" * 100_000,
}


def _file(tmp_path: Path, name: str, content) -> str:
    if content is None:
        return str(tmp_path / "absent.json")
    if content == "DIR":
        return str(tmp_path)
    path = tmp_path / f"{name}.json"
    path.write_bytes(content)
    return str(path)


def _stored() -> tuple[int, int, int]:
    return count_rows(AccessRequest), count_rows(RateEvent), count_rows(SecurityEvent)


def _no_traceback(result) -> None:
    output = (result.stdout or "") + (result.stderr or "")
    assert "Traceback" not in output and "Error:" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("command", ["validate", "submit"])
@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_an_unreadable_file_exits_2_and_stores_nothing(app_env, tmp_path, command, name):
    before = _stored()
    args = [command, _file(tmp_path, name, UNREADABLE[name])]
    result = runner.invoke(app, args + (["--no-start"] if command == "submit" else []))
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Impossible de lire le fichier" in result.stderr and result.stdout == ""
    _no_traceback(result)
    assert _stored() == before


@pytest.mark.parametrize("command", ["validate", "submit"])
@pytest.mark.parametrize("document", [
    "{\"applications\": " + "9" * 5000 + "}",  # more digits than Python converts
    "{\"user\": {\"phone\": -" + "1" * 4400 + "}}",
    "{\"applications\": 1e999999}",
    "[" * 500 + "]" * 500,  # nested, but within what the parser takes
])
def test_a_readable_document_that_is_no_request_exits_1_and_stores_nothing(app_env, tmp_path,
                                                                          command, document):
    before = _stored()
    path = tmp_path / "demande.json"
    path.write_text(document, encoding="utf-8")
    result = runner.invoke(app, [command, str(path)] + (["--no-start"] if command == "submit" else []))
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = result.stdout.splitlines()
    assert lines and all(": " in line for line in lines)
    assert all(len(line) < 500 for line in lines)  # the 5,000 digits are not echoed back
    _no_traceback(result)
    assert _stored() == before


def test_the_installed_command_never_prints_a_traceback(app_env, tmp_path):
    before = _stored()
    for name in ("deeply_nested", "not_utf8"):
        result = subprocess.run([COMMAND, "submit", "--no-start", _file(tmp_path, name, UNREADABLE[name])],
                                capture_output=True, text=True, encoding="utf-8", env=dict(os.environ),
                                timeout=120)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stdout + result.stderr
    assert _stored() == before


def test_a_huge_file_is_refused_without_a_traceback(app_env, tmp_path):
    path = tmp_path / "enorme.json"
    path.write_text(json.dumps({"user": {"first_name": "A" * 5_000_000}}), encoding="utf-8")
    before = _stored()
    result = runner.invoke(app, ["submit", "--no-start", str(path)])
    assert result.exit_code in (1, 2), result.output
    _no_traceback(result)
    assert _stored() == before
