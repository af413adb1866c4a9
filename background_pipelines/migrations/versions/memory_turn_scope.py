"""memory: recall searches the whole conversation (both speakers' turns), so the SQLite message index
carries the channel as a `conv` token next to the author's `owner` token, and (channel, author) is
indexed on both back ends to find a user's conversations and check who spoke in them.

Revision ID: memory_turn_scope
Revises: 0005_merge_heads
"""

from alembic import op

revision = "memory_turn_scope"
down_revision = "0005_merge_heads"
branch_labels = None
depends_on = None

_FTS = "messages_fts"
# (view columns, trigger values for a NEW/OLD row): the porter stemmer as in 0002_recall
_NEW = ("SELECT id, text, 'u' || hex(author) AS owner, 'c' || hex(channel) AS conv FROM messages",
        ("{r}.text", "'u' || hex({r}.author)", "'c' || hex({r}.channel)"))
_OLD = ("SELECT id, text, 'u' || hex(author) AS owner FROM messages", ("{r}.text", "'u' || hex({r}.author)"))


def _drop() -> None:
    for suffix in ("ai", "ad", "au"):
        op.execute(f"DROP TRIGGER IF EXISTS {_FTS}_{suffix}")
    op.execute(f"DROP TABLE IF EXISTS {_FTS}")
    op.execute(f"DROP VIEW IF EXISTS {_FTS}_src")


def _create(view: str, values: tuple[str, ...]) -> None:
    cols = ["text", "owner", "conv"][: len(values)]
    op.execute(f"CREATE VIEW {_FTS}_src AS {view}")
    op.execute(
        f"CREATE VIRTUAL TABLE {_FTS} USING fts5({', '.join(cols)}, content='{_FTS}_src', content_rowid='id', "
        "tokenize='porter unicode61 remove_diacritics 2')"
    )
    new = ", ".join(v.format(r="new") for v in values)
    old = ", ".join(v.format(r="old") for v in values)
    names = ", ".join(cols)
    ins = f"INSERT INTO {_FTS}(rowid, {names}) VALUES (new.id, {new});"
    dele = f"INSERT INTO {_FTS}({_FTS}, rowid, {names}) VALUES ('delete', old.id, {old});"
    op.execute(f"CREATE TRIGGER {_FTS}_ai AFTER INSERT ON messages BEGIN {ins} END")
    op.execute(f"CREATE TRIGGER {_FTS}_ad AFTER DELETE ON messages BEGIN {dele} END")
    op.execute(f"CREATE TRIGGER {_FTS}_au AFTER UPDATE ON messages BEGIN {dele} {ins} END")
    op.execute(f"INSERT INTO {_FTS}(rowid, {names}) SELECT id, {names} FROM {_FTS}_src")  # backfill


def upgrade() -> None:
    op.create_index("ix_messages_channel_author", "messages", ["channel", "author"])
    if op.get_bind().dialect.name == "sqlite":
        _drop()
        _create(*_NEW)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _drop()
        _create(*_OLD)
    op.drop_index("ix_messages_channel_author", table_name="messages")
