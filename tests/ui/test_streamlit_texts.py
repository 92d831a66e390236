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


@pytest.mark.parametrize("language", ["fr", "en"])
def test_no_label_the_script_gives_streamlit_is_also_one_of_ours(language):
    """A label given to Streamlit's own controls (a table's toolbar, a date picker) must not be
    the label of one of our fields: on « Rechercher une demande » the results table's search
    button and the search box were both « Rechercher », so a screen reader announced two
    controls by one name, and the browser test typed into the button when the table came first."""
    from models.i18n import catalogue
    from ui.streamlit_texts import _PLAIN_KEYS

    texts = catalogue(language)  # keys with their file's name: « ui.search_box »
    streamlits = {f"ui.{key}" for key in _PLAIN_KEYS}
    theirs = {texts[key]: key for key in streamlits if key.startswith("ui.toolbar_")}
    ours = {key: text for key, text in texts.items() if key not in streamlits}
    collisions = sorted((theirs[text], key) for key, text in ours.items() if text in theirs)
    assert not collisions, collisions
