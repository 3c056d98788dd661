"""Alembic environment for the broker ledger.

broker runs migrations itself (:func:`broker.ledger.db.upgrade`), passing an open
connection in ``config.attributes["connection"]``. Run by hand, the database URL
comes from ``sqlalchemy.url`` or, if unset, from ``BROKER_DB`` / ``./broker.db``.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from broker.ledger.models import Base


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from broker.ledger.db import make_engine, resolve_url

    engine = make_engine(resolve_url(context.config.get_main_option("sqlalchemy.url") or None))
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


_main()
