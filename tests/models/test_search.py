"""The staff search (models.queries.search_requests) on both databases, and on SQLite its
trigram full-text index (migration 0014): the same answers as the scan it replaces, kept up to
date by the table's triggers, used by the plan, and never left holding a purged name."""

from __future__ import annotations

import unicodedata
import uuid

import pytest
from sqlalchemy import text
from sqlmodel import Session

from models import queries
from models.queries import SEARCH_TABLE, has_search_table, search_requests
from models.tables import AccessRequest
from tests.models.helpers import bare_request


def _request(engine, tag: str | None = None, **fields) -> tuple[int, str]:
    tag = tag or uuid.uuid4().hex[:8].upper()
    with Session(engine) as s:
        req = bare_request()
        req.reference = f"R-{tag}"
        for name, value in fields.items():
            setattr(req, name, value.replace("{tag}", tag) if isinstance(value, str) else value)
        s.add(req)
        s.commit()
        return req.id, tag


def _found(query: str) -> list[int]:
    return [r["request_id"] for r in search_requests(query)]


def test_every_way_of_writing_a_word_finds_the_request(engine):
    tag = uuid.uuid4().hex[:8].upper()
    number = f"9{tag[:4]}"  # the column holds five characters
    rid, tag = _request(engine, tag, user_first_name="ÉLOÏSE", user_last_name="CÔTÉ-NGUYEN{tag}",
                        user_email=f"eloise.{tag.lower()}@cisss.example.qc.ca", establishment_number=number,
                        authorizer_last_name="O'BRIEN-{tag}")
    for query in (f"r-{tag.lower()}", f"côté-nguyen{tag.lower()}", "éloïse", f"ELOISE.{tag}@CISSS",
                  number, f"o'brien-{tag.lower()}", f"  éloïse   nguyen{tag}  ", f"{tag[:2]} {tag}", f"{tag}"):
        assert rid in _found(query), query
    # A word under three characters (the tag's first two) is compared by the scan, beside the index's words;
    # alone it would match too many requests for this one to be in the first page.
    # A decomposed « é » (e and a combining accent, as some keyboards type it) is the same letter.
    assert rid in _found(unicodedata.normalize("NFD", f"côté-nguyen{tag}")), "NFD"
    # Every word must match somewhere; a word in no column finds nothing.
    assert _found(f"éloïse zz{tag}zz") == []


def test_search_syntax_and_wildcards_are_taken_literally(engine):
    rid, tag = _request(engine, user_last_name="AB%CD_{tag}")
    assert _found(f"ab%cd_{tag}") == [rid]
    assert _found(f"abxcdy{tag}") == []  # « % » and « _ » are no wildcards
    # FTS5's own syntax (quotes, stars, operators, columns) in a word is text, never an error.
    for query in ('"', 'a"b', f'{tag}"', "*", f"{tag}*", "NEAR(a b)", "OR", "AND NOT", "user_email:x",
                  "-", "^ab", "(", "'); DROP TABLE access_request; --"):
        assert isinstance(_found(query), list), query
    assert _found(f'"{tag}') == []  # a quote is part of the word: « "R-… » is in no column


def test_a_changed_name_is_found_by_its_new_spelling_only(engine):
    rid, tag = _request(engine, user_last_name="ANCIEN{tag}")
    assert _found(f"ancien{tag}") == [rid]
    with Session(engine) as s:
        req = s.get(AccessRequest, rid)
        req.user_last_name = f"NOUVEAU{tag}"
        s.add(req)
        s.commit()
    assert _found(f"ancien{tag}") == []
    assert _found(f"nouveau{tag}") == [rid]


def test_sqlite_reads_the_trigram_index_not_the_table(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL has its trigram index since migration 0011")
    assert has_search_table(engine)
    with engine.connect() as conn:
        compiled = _compiled(engine, "tremblay")
        plan = " | ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    assert "VIRTUAL TABLE INDEX" in plan and SEARCH_TABLE in plan, plan
    assert "SCAN access_request " not in plan + " ", plan


def _compiled(engine, word: str) -> str:
    """The search's statement for ``word`` as SQLite runs it (parameters inlined)."""
    captured: list[str] = []

    from sqlalchemy import event

    def grab(conn, cursor, statement, parameters, context, executemany):
        if "FROM access_request" in statement and "LIMIT" in statement:
            for value in parameters:
                statement = statement.replace("?", repr(value) if isinstance(value, str) else str(value), 1)
            captured.append(statement)

    event.listen(engine, "before_cursor_execute", grab)
    try:
        search_requests(word)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    assert captured
    return captured[-1]


def _trigrams_left(engine, word: str) -> list[str]:
    """The trigrams of ``word`` (lower case, as the index folds them) found in the raw pages of
    the index: what an attacker with the database file could read back."""
    with engine.connect() as conn:
        pages = [bytes(row[0]) for row in conn.execute(text(f"SELECT block FROM {SEARCH_TABLE}_data"))
                 if row[0] is not None]
    grams = {word.lower()[i:i + 3].encode() for i in range(len(word) - 2)}
    return sorted(g.decode() for g in grams if any(g in page for page in pages))


def test_a_purged_name_leaves_no_trigram_in_the_index(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's index only")
    name = "QJXVWZKQ"  # letters that no other test's name holds in this order
    rid, _ = _request(engine, user_last_name=name)
    assert _trigrams_left(engine, name)  # the index holds it: the check below can fail
    with Session(engine) as s:  # what the retention purge does to the row
        req = s.get(AccessRequest, rid)
        req.user_last_name = ""
        s.add(req)
        s.commit()
    assert _found(name) == []
    queries.compact_search_index()
    assert _trigrams_left(engine, name) == []


def test_a_purge_killed_before_compacting_is_compacted_by_the_next_one(engine):
    """The purge blanks each request in its own transaction and compacts the index at the end: a
    process killed in between leaves the blanked names' trigrams in the pages. The next purge
    compacts even when it finds nothing more to purge (the next day's, typically)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's index only")
    from models import retention

    name = "QJXVWZKP"
    rid, _ = _request(engine, user_last_name=name)
    with Session(engine) as s:  # blanked as purge_request does, then the process died
        req = s.get(AccessRequest, rid)
        req.user_last_name = ""
        s.add(req)
        s.commit()
    assert _trigrams_left(engine, name)
    result = retention.purge(older_than_days=100_000)  # nothing is that old
    assert result.references == []
    assert _trigrams_left(engine, name) == []
