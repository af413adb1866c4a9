"""memlat: PostgreSQL keeps each message's tsvector in a stored generated column (`tsv`, GIN-indexed),
replacing the expression index of 0002_recall. Ranking a match with ts_rank_cd needs the document's
tsvector: from the expression index it was recomputed with to_tsvector for every matching row of the
conversation (~2,400 rows, ~50 ms of server CPU for a common word in a 10,000-message history); stored, it
is read. It also lets the planner take the conversation's rows by channel and test `tsv @@ q` on them,
at a cost that follows the user's history instead of how often the word occurs in the whole table.
SQLite is unchanged (FTS5). Adding a stored column rewrites the table once (about a minute per million
messages on a small host).

Revision ID: memlat_messages_tsv
Revises: lore_hubs
"""

from alembic import op

revision = "memlat_messages_tsv"
down_revision = "lore_hubs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE messages ADD COLUMN IF NOT EXISTS tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED")
    op.execute("CREATE INDEX IF NOT EXISTS ix_messages_tsv_stored ON messages USING GIN (tsv)")
    op.execute("DROP INDEX IF EXISTS ix_messages_tsv")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX IF NOT EXISTS ix_messages_tsv ON messages USING GIN ((to_tsvector('english', text)))")
    op.execute("DROP INDEX IF EXISTS ix_messages_tsv_stored")
    op.execute("ALTER TABLE messages DROP COLUMN IF EXISTS tsv")
