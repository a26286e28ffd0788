"""Alembic environment: the engine comes from intake.db (config.attributes['engine'])."""

from alembic import context
from sqlmodel import SQLModel

import intake.models  # noqa: F401  (registers the tables)
from intake.web.tables import outside_models

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite",
                          include_name=lambda name, type_, parents: not outside_models(type_, name))
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
