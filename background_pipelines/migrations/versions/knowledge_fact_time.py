"""facts: event_start / event_end (the days a time phrase of the statement points at) and ended (the
statement ends the fact: a lost job, a move away, a pet that died)

Revision ID: knowledge_fact_time
Revises: triggers_ingested_at
"""
from alembic import op
import sqlalchemy as sa


revision = "knowledge_fact_time"
down_revision = "triggers_ingested_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN (no batch copy on SQLite): the full-text triggers on facts stay in place
    op.add_column("facts", sa.Column("event_start", sa.DateTime(), nullable=True))
    op.add_column("facts", sa.Column("event_end", sa.DateTime(), nullable=True))
    op.add_column("facts", sa.Column("ended", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("facts", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("ended")
        batch_op.drop_column("event_end")
        batch_op.drop_column("event_start")
