"""index messages.ingested_at: the knowledge trigger counts unprocessed messages by when they arrived

Revision ID: triggers_ingested_at
Revises: memory_turn_scope
Create Date: 2026-12-02
"""

from alembic import op

revision = "triggers_ingested_at"
down_revision = "memory_turn_scope"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_ingested_at", "messages", ["ingested_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_ingested_at", table_name="messages")
