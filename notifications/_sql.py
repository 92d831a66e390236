"""A SAVEPOINT that is really nested, on SQLite too.

The pysqlite driver only opens a transaction before INSERT/UPDATE/DELETE. If a SAVEPOINT is
the first write of a unit of work, SQLite takes it as the outermost transaction and its
RELEASE *commits*: a later rollback of the caller would not undo it. So, on SQLite, open the
real transaction first (``BEGIN IMMEDIATE``: we are about to write anyway, and taking the
write lock now avoids a stale-snapshot failure under concurrency). On other databases, and
once the engine opens transactions itself, this is a plain ``session.begin_nested()``.
"""

from __future__ import annotations

from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session


def savepoint(session: Session) -> SessionTransaction:
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        dbapi_conn = conn.connection.dbapi_connection
        if dbapi_conn is not None and not dbapi_conn.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
    return session.begin_nested()
