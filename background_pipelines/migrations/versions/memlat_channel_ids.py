"""memlat: a PostgreSQL index on messages (channel, id). recall's vector cache checks each conversation
with `count(*), max(id) ... WHERE channel = ANY(...)` on every question and reads new turns with
`channel = ? AND id > ?`: PostgreSQL indexes do not carry the primary key as SQLite's do, so over
ix_messages_channel_author both visited every row of the conversation in the heap (25 ms for a
10,000-message user at 1M messages); this index answers them from the index alone. SQLite unchanged.

Revision ID: memlat_channel_ids
Revises: actions_prompts
"""

from alembic import op

revision = "memlat_channel_ids"
down_revision = "actions_prompts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX IF NOT EXISTS ix_messages_channel_id ON messages (channel, id)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_messages_channel_id")
