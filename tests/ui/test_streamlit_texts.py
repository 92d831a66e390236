"""The script that puts Streamlit's own texts in the page's language (ui/streamlit_texts.py):
what the browser test cannot see break quietly."""

from __future__ import annotations

import re

import pytest

import ui.i18n
from ui.streamlit_texts import _SCRIPT, script, script_texts


def test_the_script_holds_no_angle_bracket():
    """``st.html`` sanitizes its content: a ``<`` inside the script (even in a comment) makes it
    drop the whole script, and every page silently stays in Streamlit's English."""
    body = _SCRIPT[_SCRIPT.index("<script>") + len("<script>"):_SCRIPT.index("</script>")]
    assert "<" not in body


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_text_the_script_reads_is_given(language, monkeypatch):
    """A name the script reads (``T.name``, ``T[...]`` of its tables) that is missing would put
    « undefined » on the screen."""
    monkeypatch.setattr(ui.i18n, "lang", lambda: language)
    texts = script_texts()
    read = set(re.findall(r"\bT\.(\w+)", _SCRIPT))
    read |= set(re.findall(r"'(toolbar_\w+|date_\w+)'", _SCRIPT))
    assert read, "the script reads no text"
    missing = sorted(name for name in read if name not in texts)
    assert not missing
    assert all(isinstance(value, (str, dict)) and value for value in texts.values())
    assert "%(texts)s" not in script()


def test_french_and_english_differ_where_a_person_reads(monkeypatch):
    monkeypatch.setattr(ui.i18n, "lang", lambda: "fr")
    french = script_texts()
    monkeypatch.setattr(ui.i18n, "lang", lambda: "en")
    english = script_texts()
    assert french["date_previous_month"] == "Mois précédent"
    assert english["date_previous_month"] == "Previous month"
    assert french["date_locale"] == "fr-CA"
