"""recall: full-text indexes (SQLite FTS5 kept in sync by triggers; PostgreSQL expression GIN
indexes over tsvector) on messages, summaries and facts, and the forget_log.

Revision ID: 0002_recall
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = "0002_recall"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite: each FTS5 table is external-content over a view, so the index stores only tokens (the text
# stays in the base table) and `rebuild` works. `owner` holds one token per user the row belongs to
# ('u' || hex(name)): a user filter inside MATCH, so bm25 ranks only that user's rows.
_SQLITE_VIEWS = {
    "messages": "SELECT id, text, 'u' || hex(author) AS owner FROM messages",
    "summaries": (
        "SELECT id, text, (SELECT group_concat('u' || hex(value), ' ') FROM json_each(summaries.participants)) "
        "AS owner FROM summaries"
    ),
    "facts": (
        "SELECT id, subject || ' ' || replace(predicate, '_', ' ') || ' ' || object AS text, "
        "'u' || hex(user_name) AS owner FROM facts"
    ),
}
_SQLITE_VALUES = {  # the view's columns computed from a trigger's NEW/OLD row
    "messages": ("{r}.text", "'u' || hex({r}.author)"),
    "summaries": ("{r}.text", "(SELECT group_concat('u' || hex(value), ' ') FROM json_each({r}.participants))"),
    "facts": (
        "{r}.subject || ' ' || replace({r}.predicate, '_', ' ') || ' ' || {r}.object",
        "'u' || hex({r}.user_name)",
    ),
}

# PostgreSQL: expression indexes, so the tables keep the exact shape of schema.py.
PG_TSV = {
    "messages": "to_tsvector('english', text)",
    "summaries": "to_tsvector('english', text)",
    "facts": "to_tsvector('english', subject || ' ' || replace(predicate, '_', ' ') || ' ' || object)",
}


def _sqlite_upgrade() -> None:
    for table, view in _SQLITE_VIEWS.items():
        fts = f"{table}_fts"
        op.execute(f"CREATE VIEW {fts}_src AS {view}")
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5(text, owner, content='{fts}_src', content_rowid='id', "
            "tokenize='porter unicode61 remove_diacritics 2')"
        )
        text_new, owner_new = (v.format(r="new") for v in _SQLITE_VALUES[table])
        text_old, owner_old = (v.format(r="old") for v in _SQLITE_VALUES[table])
        ins = f"INSERT INTO {fts}(rowid, text, owner) VALUES (new.id, {text_new}, {owner_new});"
        dele = f"INSERT INTO {fts}({fts}, rowid, text, owner) VALUES ('delete', old.id, {text_old}, {owner_old});"
        op.execute(f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN {ins} END")
        op.execute(f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN {dele} END")
        op.execute(f"CREATE TRIGGER {fts}_au AFTER UPDATE ON {table} BEGIN {dele} {ins} END")
        op.execute(f"INSERT INTO {fts}(rowid, text, owner) SELECT id, text, owner FROM {fts}_src")  # backfill


def _sqlite_downgrade() -> None:
    for table in _SQLITE_VIEWS:
        fts = f"{table}_fts"
        for suffix in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        op.execute(f"DROP TABLE IF EXISTS {fts}")
        op.execute(f"DROP VIEW IF EXISTS {fts}_src")


def upgrade() -> None:
    op.create_table(
        "forget_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "key_hash", name="uq_forget_log_key"),
    )
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
        return
    for table, expr in PG_TSV.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_{table}_tsv ON {table} USING GIN (({expr}))")
    # who took part in a summary: answers "this user's summaries" without scanning the table
    op.execute("CREATE INDEX IF NOT EXISTS ix_summaries_participants ON summaries USING GIN ((participants::jsonb))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_downgrade()
    else:
        for table in PG_TSV:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_tsv")
        op.execute("DROP INDEX IF EXISTS ix_summaries_participants")
    op.drop_table("forget_log")
