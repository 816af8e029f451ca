"""Alembic environment: runs on the connection `engine.system_schema` hands over."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table="anju_alembic_version")
with context.begin_transaction():
    context.run_migrations()
