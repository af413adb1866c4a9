"""graph upkeep and backups: entity_merges (merge audit with before-images), backups (catalogue)

Revision ID: 0004_graph_upkeep
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0004_graph_upkeep"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entity_merges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("survivor_id", sa.Integer(), nullable=False),
        sa.Column("merged_id", sa.Integer(), nullable=False),
        sa.Column("merged_name", sa.String(length=255), nullable=False),
        sa.Column("survivor_name", sa.String(length=255), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("entity_merges", schema=None) as batch_op:
        batch_op.create_index("ix_entity_merges_survivor", ["survivor_id"], unique=False)
        batch_op.create_index("ix_entity_merges_merged", ["merged_id"], unique=False)
    op.create_table(
        "backups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("path"),
    )
    with op.batch_alter_table("backups", schema=None) as batch_op:
        batch_op.create_index("ix_backups_kind_created", ["kind", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("backups", schema=None) as batch_op:
        batch_op.drop_index("ix_backups_kind_created")
    op.drop_table("backups")
    with op.batch_alter_table("entity_merges", schema=None) as batch_op:
        batch_op.drop_index("ix_entity_merges_merged")
        batch_op.drop_index("ix_entity_merges_survivor")
    op.drop_table("entity_merges")
