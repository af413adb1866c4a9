"""Alembic environment: runs migrations on the connection handed over by store.engine."""

from alembic import context

from background_pipelines.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` CLI use: build an engine from the configured URL
    from sqlalchemy import create_engine

    connection = create_engine(context.config.get_main_option("sqlalchemy.url")).connect()

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs batch mode for ALTER
)
with context.begin_transaction():
    context.run_migrations()
