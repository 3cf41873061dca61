"""Alembic environment: the URL comes from the caller (assay.db.migrate), never from a file."""

from alembic import context

from assay.db import models  # noqa: F401  (registers every table)
from assay.db.base import Base
from assay.db.engine import make_engine
from assay.db.search import include_object

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""
assert url, "assay.db.migrate sets sqlalchemy.url"


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        # Closing the last connection is what moves SQLite's WAL into the main file:
        # a database copied after `upgrade()` returns must hold the schema.
        engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,  # the search index is not a model (0005)
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
