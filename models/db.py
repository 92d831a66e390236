"""Engine and sessions for the application database (SQLite by default, any SQLAlchemy URL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from models.settings import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _normalize_url(url: str) -> str:
    # psycopg 3 is the driver we ship; accept the plain postgresql:// spelling.
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://"):]
    return url


_Row = TypeVar("_Row")

_engines: dict[str, Engine] = {}
# Execution option of read_scope(): on SQLite its transaction starts with a plain (deferred)
# BEGIN instead of BEGIN IMMEDIATE.
READ_ONLY_OPTION = "ramq_read_only"


def get_engine(url: str | None = None) -> Engine:
    """One engine per database URL for the whole process."""
    url = _normalize_url(url or get_settings().effective_database_url)
    if url not in _engines:
        _engines[url] = _make_engine(url)
    return _engines[url]


def _make_engine(url: str) -> Engine:
    # hide_parameters: a database error never prints the values (they hold personal data).
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, hide_parameters=True,
                               connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):  # pragma: no cover - trivial
            # SQLAlchemy's documented pysqlite recipe: let SQLAlchemy own BEGIN, so that
            # SAVEPOINTs nest inside the real transaction instead of committing on release.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # pragma: no cover - trivial
            # Writers take the write lock up front; a read_scope() reads a snapshot (WAL) and
            # never takes it, so it never makes a writer wait.
            deferred = conn.get_execution_options().get(READ_ONLY_OPTION)
            conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def dispose_engines() -> None:
    """Closes every pooled connection and forgets the engines (tests switch databases)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A read-only unit of work: never takes SQLite's write lock (plain ``BEGIN``), so a slow
    caller (a password hash) cannot make writers wait. Nothing is written: a pending change is
    an error. Loaded objects stay readable after the block (detached, not expired)."""
    engine = (engine or get_engine()).execution_options(**{READ_ONLY_OPTION: True})
    with Session(engine, expire_on_commit=False, autoflush=False) as session:
        yield session
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("read_scope is read-only: use session_scope to write")
    # Closing ends the transaction (rolled back: it wrote nothing) and detaches the objects.


def get_row(session: Session, model: type[_Row], key: Any, *, populate_existing: bool = False) -> _Row:
    """``session.get`` for a row that must exist (a foreign key or an id this code just read):
    a missing one is a bug, reported as such rather than as an attribute of None."""
    row = session.get(model, key, populate_existing=populate_existing)
    if row is None:
        raise LookupError(f"{model.__name__} {key} not found")
    return row


def alembic_config(url: str | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    url = _normalize_url(url or get_settings().effective_database_url)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None) -> None:
    """Bring the schema to the newest migration (the app calls this on start)."""
    from alembic import command

    cfg = alembic_config(url)
    with get_engine(url).begin() as connection:  # get_engine makes var/ for SQLite
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
